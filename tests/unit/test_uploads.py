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

    def add(self, paths: list[Path], replace: bool = False):
        return self.qa.add(paths, replace=replace)


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
