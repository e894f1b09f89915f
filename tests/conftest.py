from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fakes import HashEncoder  # noqa: E402


@pytest.fixture
def encoder() -> HashEncoder:
    return HashEncoder()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the seed corpus that a test may change."""
    dst = tmp_path / "corpus"
    shutil.copytree(SEEDS, dst)
    return dst


@pytest.fixture
def fake_index(tmp_path: Path, corpus: Path, encoder: HashEncoder) -> Path:
    from assistant import Assistant

    index = tmp_path / "index"
    Assistant.build(corpus, index, encoder=encoder)
    return index


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds indexed with the real bundled model, once per test session."""
    from assistant import Assistant

    index = tmp_path_factory.mktemp("real") / "index"
    Assistant.build(SEEDS, index)
    return index


@pytest.fixture(scope="session")
def real_qa(real_index: Path):
    from assistant import Assistant

    return Assistant.load(real_index)
