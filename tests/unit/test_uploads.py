"""Uploaded files: names never become paths of ours; each file is judged on its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Assistant
from assistant.uploads import MAX_FILES, add_files, safe_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/cron.d/evil.txt", "evil.txt"),
        ("..\\..\\windows\\system32\\x.docx", "x.docx"),
        (".bashrc", "document.bashrc"),
        ("..", "document"),
        ("", "document"),
        ("a b\x00c\u202e.MD", "a_b_c.md"),
        ("report.final.PDF", "report.final.pdf"),
        ("x" * 500 + ".txt", "x" * 80 + ".txt"),
    ],
)
def test_safe_name(name, expected):
    got = safe_name(name)
    assert got == expected
    assert "/" not in got and "\\" not in got and not got.startswith(".")


class _Live:
    """What add_files needs of a server: an assistant to add to."""

    def __init__(self, qa: Assistant) -> None:
        self.qa = qa

    def get(self) -> Assistant:
        return self.qa

    def add(self, paths: list[Path], replace: bool = False, progress=None):
        return self.qa.add(paths, replace=replace, progress=progress or False)


def test_each_file_is_judged_on_its_own(fake_index, encoder, tmp_path):
    live = _Live(Assistant.load(fake_index, encoder=encoder))
    result = add_files(live, [
        ("../notes.txt", b"Notes\n\nCounty towns now register migrant workers after one year of residence.\n"),
        ("/abs/fake.pdf", b"not a pdf"),
        ("empty.md", b""),
        ("notes.txt", b"a second file of the same name"),
    ])
    assert result.added == ["notes"]
    assert [name for name, _ in result.refused] == ["fake.pdf", "empty.md", "notes.txt"]
    assert all("/" not in reason for _, reason in result.refused)  # no staging path leaks
    assert result.report is not None and result.report.documents == 6
    assert not (tmp_path.parent / "notes.txt").exists()


def test_too_many_files_are_refused_whole(fake_index, encoder):
    live = _Live(Assistant.load(fake_index, encoder=encoder))
    result = add_files(live, [(f"f{i}.txt", b"T\n\nSome text about villages.\n") for i in range(MAX_FILES + 1)])
    assert result.added == [] and result.report is None and "limit" in result.refused[0][1]


def test_a_file_named_like_a_held_document_is_refused_unless_replacing(fake_index, encoder):
    qa = Assistant.load(fake_index, encoder=encoder)
    live = _Live(qa)
    first = b"Report\n\nCounty towns register migrant workers after one year.\n"
    other = b"Report\n\nA different report about rural pensions and farmland.\n"
    assert add_files(live, [("report.txt", first)]).added == ["report"]
    assert add_files(live, [("report.txt", first)]).refused == []  # the same file again: nothing to do
    clash = add_files(live, [("report.txt", other)])
    assert clash.added == [] and "already holds a different document named report" in clash.refused[0][1]
    assert "one year" in qa.reloaded().document("report").text  # nothing lost
    swapped = add_files(live, [("report.txt", other)], replace=True)
    assert swapped.added == ["report"] and swapped.replaced == ["report"]
    assert "replacing the earlier report" in swapped.lines()[0]
    assert "rural pensions" in qa.reloaded().document("report").text


def test_only_document_files_are_taken_so_a_corpus_cannot_slip_in(fake_index, encoder):
    """A .jsonl holds any number of documents under any ids: one upload added 2,000 (issue 25)."""
    import json

    live = _Live(Assistant.load(fake_index, encoder=encoder))
    records = [{"_id": i, "text": "Hukou reform notes."} for i in ["", "a/b", "../../evil"]]
    records += [{"_id": f"r{n}", "text": f"Record {n} on land leases."} for n in range(40)]
    jsonl = "\n".join(json.dumps(r) for r in records).encode()
    result = add_files(live, [("many.jsonl", jsonl), ("tool.exe", b"MZ\x90\x00"), ("corpus.JSONL", jsonl)])
    assert result.added == [] and result.report is None
    assert [name for name, _ in result.refused] == ["many.jsonl", "tool.exe", "corpus.jsonl"]
    assert "policyqa build" in result.refused[0][1]
    assert len(live.get().documents()) == 5


def test_staging_lives_in_the_server_folder_and_goes_after_use(fake_index, encoder):
    from assistant.uploads import server_temp

    live = _Live(Assistant.load(fake_index, encoder=encoder))
    result = add_files(live, [("leases.txt", b"Leases\n\nLong leases keep the option to return to the village.\n")])
    assert result.added == ["leases"]
    assert not list(server_temp().glob("upload-*"))


def test_the_folders_of_killed_servers_are_swept_and_a_live_one_is_kept(tmp_path):
    """kill -9 leaves a server's temporary folder behind; the next server deletes it, not a running one's."""
    import os
    import signal
    import subprocess
    import sys

    from assistant.uploads import TEMP_PREFIX, sweep_temp

    code = ("import sys, time; from assistant.uploads import server_temp; d = server_temp(); "
            "(d / 'raw-upload.pdf').write_bytes(b'%PDF- raw'); print(d, flush=True); time.sleep(60)")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    alive = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    killed = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    try:
        alive_dir, killed_dir = Path(alive.stdout.readline().strip()), Path(killed.stdout.readline().strip())
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
        assert (killed_dir / "raw-upload.pdf").exists()  # what a crash leaves
        assert sweep_temp(tmp_path) == [killed_dir]
        assert not killed_dir.exists() and (alive_dir / "raw-upload.pdf").exists()
        assert all(p.name.startswith(TEMP_PREFIX) for p in tmp_path.iterdir())
    finally:
        alive.kill()
        alive.wait()
    assert sweep_temp(tmp_path) == [alive_dir]  # gone once its process is


def test_an_upload_reports_each_file_checked_then_the_add(fake_index, encoder):
    events = []
    result = add_files(_Live(Assistant.load(fake_index, encoder=encoder)),
                       [("a.txt", b"Alpha\n\nAlpha counties register migrants.\n"), ("b.pdf", b"not a pdf")],
                       progress=events.append)
    assert result.added == ["a"]
    assert [(e.phase, e.done, e.total) for e in events if e.phase == "checking"] == [
        ("checking", 0, 2), ("checking", 1, 2), ("checking", 2, 2)]
    assert events[-1].phase == "writing" and events[-1].done == events[-1].total


def test_the_upload_api_streams_progress_lines_then_the_outcome(fake_index, encoder):
    import json

    from fastapi.testclient import TestClient

    from assistant.server import create_app

    files = [("files", ("broadband.txt", b"Rural broadband\n\nRural broadband reached most villages in 2023.\n")),
             ("files", ("scan.pdf", b"%PDF-1.4 broken"))]
    with TestClient(create_app(Assistant.load(fake_index, encoder=encoder), chat=False)) as http:
        with http.stream("POST", "/api/documents", files=files, headers={"accept": "application/x-ndjson"}) as r:
            lines = [json.loads(line) for line in r.iter_lines() if line]
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
        *steps, last = lines
        assert steps and all(set(s) == {"progress"} for s in steps)
        assert steps[-1]["progress"]["phase"] == "writing" and steps[-1]["progress"]["label"] == "Writing the index"
        assert last["status"] == 200 and last["added"] == ["broadband"] and last["documents"] == 6
        assert [f["file"] for f in last["refused"]] == ["scan.pdf"]
        plain = http.post("/api/documents", files=[files[1]])  # without the header: one JSON answer, as before
        assert plain.status_code == 422 and plain.json()["added"] == []
