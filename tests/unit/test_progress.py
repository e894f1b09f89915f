"""Progress of long work: the events a build and an add report, the console's bar on a terminal
(a real pseudo-terminal) and its plain lines elsewhere, and silence with --json or --quiet."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import struct
import sys
import termios
import time

import pytest
from conftest import ROOT

from assistant import Assistant, progress
from assistant.progress import ConsoleProgress, Progress

BUILD_PHASES = ["reading", "planning", "chunking", "embedding", "writing"]


def phases(events: list[Progress]) -> list[str]:
    return [p for i, p in enumerate(e.phase for e in events) if i == 0 or events[i - 1].phase != p]


def test_a_build_reports_each_phase_with_counts_that_only_grow(corpus, tmp_path, encoder):
    events: list[Progress] = []
    Assistant.build(corpus, tmp_path / "index", encoder=encoder, progress=events.append)
    assert phases(events) == BUILD_PHASES
    for phase in BUILD_PHASES:
        mine = [e for e in events if e.phase == phase]
        assert [e.done for e in mine] == sorted(e.done for e in mine)
        if phase != "planning":
            assert mine[-1].done == mine[-1].total > 0
    reading = [e for e in events if e.phase == "reading"]
    assert reading[-1].total == len(list(corpus.iterdir())) and reading[0].unit == "file"
    embedding = [e for e in events if e.phase == "embedding"]
    assert len(embedding) > 3  # batch by batch, not only at the start and the end


def test_an_add_reports_its_files_and_embedding(fake_index, encoder, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("Rural broadband\n\nRural broadband reached most villages in 2023.\n")
    events: list[Progress] = []
    Assistant.load(fake_index, encoder=encoder).add([note], progress=events.append)
    assert phases(events) == BUILD_PHASES
    assert [e.done for e in events if e.phase == "reading"] == [0, 1]


def test_progress_true_off_a_terminal_writes_plain_lines_and_false_writes_nothing(corpus, tmp_path, encoder, capsys):
    Assistant.build(corpus, tmp_path / "a", encoder=encoder, progress=False)
    assert capsys.readouterr().err == ""
    Assistant.build(corpus, tmp_path / "b", encoder=encoder, progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err and "policyqa: Reading files (5 files) …" in err
    assert "policyqa: Embedding: done," in err and "policyqa: Writing the index: done, 5 parts in" in err


def test_a_plain_line_has_count_percent_rate_and_time_left():
    out = io.StringIO()
    console = ConsoleProgress(out, terminal=False, interval=0)
    console(Progress("embedding", 0, 400, "text"))
    time.sleep(0.05)
    console(Progress("embedding", 100, 400, "text"))
    console.close()
    line = [x for x in out.getvalue().splitlines() if "100/400" in x][0]
    assert line.startswith("policyqa: Embedding: 100/400 texts (25%), ")
    assert "texts/s, about " in line and " left, " in line and line.endswith(" so far")


def test_plain_lines_keep_coming_while_one_step_takes_long(monkeypatch):
    monkeypatch.setattr(progress, "TICK_SECONDS", 0.05)
    out = io.StringIO()
    console = ConsoleProgress(out, terminal=False, interval=0.2)
    console(Progress("embedding", 16, 400, "text"))
    time.sleep(0.9)  # no event: the clock still writes
    console.close()
    assert sum("16/400" in line for line in out.getvalue().splitlines()) >= 3


def run_on_a_terminal(args: list[str], timeout: float = 60) -> tuple[str, list[float]]:
    """Run ``args`` under a pseudo-terminal (100 columns); its output, and when each piece came."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdout and stderr are the terminal
        os.chdir(ROOT)
        os.execv(args[0], args)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    start, chunks, times = time.monotonic(), [], []
    while time.monotonic() - start < timeout:
        try:
            data = os.read(fd, 65536)
        except OSError:  # the child is gone
            break
        if not data:
            break
        chunks.append(data)
        times.append(time.monotonic() - start)
    os.waitpid(pid, 0)
    os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace"), times


# The CLI, with the fake encoder in place of the model (the real model's run is in tests/e2e).
FAKE_CLI = """
import sys
sys.path.insert(0, "tests")
from fakes import HashEncoder
import assistant.core as core
core.build_encoder = lambda index: HashEncoder()
from assistant.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_cli_build_on_a_terminal_shows_bars_and_json_or_quiet_show_none(corpus, tmp_path):
    cli = [sys.executable, "-c", FAKE_CLI, "build", "--corpus", str(corpus)]
    shown, _ = run_on_a_terminal(cli + ["--index", str(tmp_path / "a")])
    bars = [b for b in shown.split("\r") if "|" in b]
    assert any(b.startswith("Embedding: 100%|") and "272/272" in b and "text/s]" in b for b in bars), shown
    assert any(b.startswith("Reading files:") for b in bars) and any(b.startswith("Splitting into passages:") for b in bars)
    assert "Built " in shown
    shown, _ = run_on_a_terminal(cli + ["--index", str(tmp_path / "b"), "--json"])
    assert "Embedding" not in shown and json.loads(shown)["documents"] == 5
    shown, _ = run_on_a_terminal(cli + ["--index", str(tmp_path / "c"), "--quiet"])
    assert "Embedding" not in shown and "\r" not in shown.replace("\r\n", "\n")


def test_cli_eval_counts_questions_on_stderr_and_json_is_silent(fake_index, encoder, monkeypatch, capsys):
    import assistant.core as core
    from assistant.cli import main

    monkeypatch.setattr(core, "default_encoder", lambda: encoder)
    monkeypatch.setattr(core, "query_encoder", lambda root: encoder)
    assert main(["eval", "--index", str(fake_index), "--split", "tune"]) == 0
    out, err = capsys.readouterr()
    assert "questions: hit@1" in out and "policyqa: Questions (" in err and "policyqa: Questions: done," in err
    assert main(["eval", "--index", str(fake_index), "--split", "tune", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "hit@1" in json.loads(out)


@pytest.mark.e2e
def test_the_real_cli_build_on_a_terminal_shows_progress_at_once_and_then_often(real_index, tmp_path):
    """Issue 24's bar, on the seeds: a bar within 5 s of starting, and no 5 s without an update."""
    shown, times = run_on_a_terminal([sys.executable, "-m", "assistant.cli", "build", "--corpus", str(ROOT / "seeds"),
                                      "--index", str(tmp_path / "index")], timeout=300)
    assert "Built " in shown and "Embedding: 100%|" in shown, shown
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert times[0] < 5 and max(gaps) < 5, (times[0], max(gaps))


def test_a_failed_build_says_no_done_for_the_step_it_stopped_in(tmp_path, encoder, capsys):
    from assistant.errors import CorpusError

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "empty.txt").write_text("")
    with pytest.raises(CorpusError):
        Assistant.build(tmp_path / "corpus", tmp_path / "index", encoder=encoder, progress=True)
    err = capsys.readouterr().err
    assert "policyqa: Reading files (1 file) …" in err and "Reading files: done" not in err
