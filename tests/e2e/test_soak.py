"""A one-minute soak (the ten-minute one is `make soak`): 16 clients, uploads, zero errors, flat memory."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def test_one_minute_soak(real_index):
    from soak import soak

    result = soak(real_index, seconds=60, clients=16, upload_every=3.0)
    print(f"\nsoak: {result['requests']} in {result['seconds']} s, p95 {result['p95_ms']} ms, RSS {result['rss_mib']}")
    assert result["errors"] == 0, result["first_errors"]
    assert result["requests"]["ask"] > 100 and result["requests"]["upload"] >= 10
    assert result["memory_flat"], result["rss_mib"]
