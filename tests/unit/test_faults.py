"""Crash safety: kill -9 at many points of build, add and remove; the index is always whole.

Each case copies a built index, runs one write in a child process that SIGKILLs itself at
its Nth file operation (tests/fault_child.py), and then checks that the index loads and
holds exactly the old documents or exactly the new ones, and that the next write works.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from assistant import Assistant, store

pytestmark = pytest.mark.faults
CHILD = Path(__file__).resolve().parents[1] / "fault_child.py"
ROOT = Path(__file__).resolve().parents[2]
OUTCOMES: Counter = Counter()


def run_child(op: str, index: Path, arg: str, kill_at: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CHILD), op, str(index), arg, str(kill_at)],
        capture_output=True, text=True, cwd=ROOT, timeout=120, env={**os.environ, "PYTHONHASHSEED": "0"},
    )


def doc_ids(index: Path, encoder) -> set[str]:
    qa = Assistant.load(index, encoder=encoder)
    for p in qa.passages:  # whole, not just loadable
        assert qa.document(p.doc_id).text[p.start : p.end] == p.text
    assert len(qa.search("migrant workers hukou", k=3)) == 3
    return {d.doc_id for d in qa.documents()}


@pytest.fixture
def setups(tmp_path, corpus, fake_index, encoder):
    """For each write: (argument, documents before, documents after)."""
    new = tmp_path / "new.md"
    new.write_text("# New policy\n\n" + "County towns now register migrant workers as residents after one year. " * 8)
    (corpus / "extra.txt").write_text("Extra\n\n" + "Rural pensions are raised each year by the provinces. " * 8)
    seeds = doc_ids(fake_index, encoder)
    return {
        "build": (str(corpus), seeds, seeds | {"extra"}),
        "add": (str(new), seeds, seeds | {"new"}),
        "remove": (sorted(seeds)[0], seeds, seeds - {sorted(seeds)[0]}),
    }


@pytest.mark.parametrize("op", ["build", "add", "remove"])
def test_kill_9_at_every_point_of_a_write(op, setups, fake_index, encoder, tmp_path):
    arg, before, after = setups[op]
    clean = tmp_path / "clean"
    shutil.copytree(fake_index, clean)
    done = run_child(op, clean, arg, 0)
    assert done.returncode == 0, done.stderr
    total = int(done.stdout.split()[-1])
    assert doc_ids(clean, encoder) == after
    assert total >= 7, "too few file operations seen to test crash points"

    # Spread over the whole write, and every one of the last steps (rename, switch, prune).
    points = sorted({round(1 + i * (total - 1) / 9) for i in range(10)} | set(range(total - 4, total + 1)))
    for kill_at in points:
        index = tmp_path / f"kill-{kill_at}"
        shutil.copytree(fake_index, index)
        crashed = run_child(op, index, arg, kill_at)
        assert crashed.returncode == -9, (kill_at, crashed.returncode, crashed.stderr[-500:])
        seen = doc_ids(index, encoder)
        assert seen in (before, after), (kill_at, seen ^ before)
        OUTCOMES[(op, "old index" if seen == before else "new index")] += 1
        # The crashed writer's lock died with it: the next write works and cleans up after it.
        if seen == before:
            redo = run_child(op, index, arg, 0)
            assert redo.returncode == 0, (kill_at, redo.stderr[-500:])
            assert doc_ids(index, encoder) == after
        assert not list(index.glob(".tmp-*")) and len(list(index.glob("gen-*"))) <= store.KEEP_GENERATIONS
        shutil.rmtree(index)
    print(f"\nkill -9 during {op}: {len(points)} points, outcomes {dict(OUTCOMES)}")
