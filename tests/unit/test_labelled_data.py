"""The labelled questions stay valid: exact evidence quotes, unique ids, paraphrased wording."""

import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"


def test_labelled_data_checks_pass():
    r = subprocess.run([sys.executable, str(DATA / "check_data.py")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK: all checks passed" in r.stdout
