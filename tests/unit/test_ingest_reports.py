"""Reading a folder or a BEIR corpus: every problem is found and named in one error, and nothing is built."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.errors import CorpusError
from assistant.ingest import MAX_LISTED, read_corpus, read_file

GOOD = "Hukou reform\n\nThe hukou system ties public services such as schools and pensions to the place of registration.\n"


def error_of(path: Path) -> str:
    with pytest.raises(CorpusError) as info:
        read_corpus(path)
    message = str(info.value)
    assert "\n" not in message and message  # one line, as every CorpusError
    return message


def test_a_folder_names_every_bad_file_in_one_error(tmp_path):
    (tmp_path / "good.txt").write_text(GOOD)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "bin.md").write_bytes(b"\x00\x01\x02abc")
    (tmp_path / "latin.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "junk.pdf").write_bytes(b"Just some text in a file named .pdf\n")
    message = error_of(tmp_path)
    assert message.startswith(f"{tmp_path}: 4 problems")
    for name, reason in [("empty.txt", "empty"), ("bin.md", "binary"), ("latin.txt", "UTF-8"), ("junk.pdf", "not a PDF")]:
        assert f"{name}: the file" in message and reason in message
    assert "good.txt" not in message
    assert f"{tmp_path}/empty.txt" not in message  # names within the folder, not repeated full paths


def test_one_bad_file_keeps_its_own_message(tmp_path):
    (tmp_path / "good.txt").write_text(GOOD)
    (tmp_path / "empty.txt").write_bytes(b"")
    assert error_of(tmp_path) == f"{tmp_path / 'empty.txt'}: the file is empty"


def test_a_long_list_of_bad_files_is_bounded(tmp_path):
    for i in range(MAX_LISTED + 5):
        (tmp_path / f"bad{i:02d}.txt").write_bytes(b"")
    message = error_of(tmp_path)
    assert message.startswith(f"{tmp_path}: {MAX_LISTED + 5} problems")
    assert f"[{MAX_LISTED}] bad{MAX_LISTED - 1:02d}.txt" in message and f"bad{MAX_LISTED:02d}.txt" not in message
    assert message.endswith("; and 5 more")


def test_duplicate_ids_name_both_files(tmp_path):
    (tmp_path / "note.txt").write_text(GOOD)
    (tmp_path / "note.md").write_text(GOOD)
    assert "note.txt: document id 'note' appears twice in the corpus (also from note.md)" in error_of(tmp_path)


def test_a_folder_with_bad_files_builds_nothing(tmp_path, encoder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD)
    (corpus / "a.txt").write_bytes(b"")
    (corpus / "b.txt").write_bytes(b"\x00")
    index = tmp_path / "index"
    with pytest.raises(CorpusError, match="2 problems"):
        Assistant.build(corpus, index, encoder=encoder)
    assert not index.exists() or not any(index.iterdir())


def test_subfolders_are_named_when_nothing_else_is_readable(tmp_path):
    (tmp_path / "2019").mkdir()
    (tmp_path / "2020").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "sheet.xlsx").write_bytes(b"PK")
    message = error_of(tmp_path)
    assert "no .txt" in message and "subfolders are not read: 2019/, 2020/" in message
    assert ".git" not in message


def test_subfolders_are_not_read_beside_files(tmp_path):
    (tmp_path / "top.txt").write_text(GOOD)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.txt").write_text(GOOD)
    (tmp_path / "sub" / "bad.txt").write_bytes(b"")  # not read, so not refused
    assert [d.document.doc_id for d in read_corpus(tmp_path)] == ["top"]


def test_an_empty_folder_says_so_without_subfolders(tmp_path):
    message = error_of(tmp_path)
    assert "no .txt" in message and "subfolders" not in message


# ---------------------------------------------------------------- BEIR


def _beir(path: Path, records: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return path


def test_beir_records_with_neither_text_nor_title_are_refused_by_line(tmp_path):
    f = _beir(tmp_path / "corpus.jsonl", [
        {"_id": "d1", "title": "One", "text": "First abstract."},
        {"_id": "d2", "title": "", "text": ""},
        {"_id": "d3"},
        {"_id": "d4", "title": " ", "text": "   "},
        {"_id": "d5", "title": "Five", "text": "Fifth abstract."},
    ])
    assert error_of(f) == f"{f}: neither text nor title in the record at lines 2, 3, 4; fix or remove those lines"
    (tmp_path / "corpus.jsonl").write_text(json.dumps({"_id": "d1", "text": ""}) + "\n")
    assert "at line 1;" in error_of(tmp_path)  # the folder reads its corpus.jsonl


def test_a_beir_record_with_only_a_title_is_searched_by_its_title(tmp_path):
    f = _beir(tmp_path / "corpus.jsonl", [
        {"_id": "d1", "title": "One", "text": "First abstract."},
        {"_id": "d2", "title": "Coronavirus spread in nursing homes", "text": ""},
    ])
    docs = {p.document.doc_id: p.document for p in read_corpus(f)}
    assert docs["d2"].text == "Coronavirus spread in nursing homes" and docs["d1"].text == "First abstract."


def test_beir_malformed_and_textless_lines_in_one_error(tmp_path):
    f = _beir(tmp_path / "c.jsonl", [
        {"_id": "d1", "text": "Fine."}, "not json", {"title": "no id"}, {"_id": "d4", "text": None}, "[1, 2]",
    ])
    message = error_of(f)
    assert "not a BEIR record (a JSON object with _id, title, text) at lines 2, 3, 5" in message
    assert "neither text nor title in the record at line 4;" in message


def test_beir_line_numbers_are_bounded(tmp_path):
    f = _beir(tmp_path / "c.jsonl", [{"_id": "ok", "text": "Fine."}] + [{"_id": f"e{i}", "title": "", "text": ""} for i in range(30)])
    message = error_of(f)
    assert ", 21, and 10 more;" in message and ", 22" not in message


def test_beir_with_a_utf8_bom(tmp_path):
    f = tmp_path / "corpus.jsonl"
    f.write_bytes(b"\xef\xbb\xbf" + json.dumps({"_id": "d1", "text": "First abstract."}).encode() + b"\n")
    assert [d.document.doc_id for d in read_corpus(f)] == ["d1"]


# ---------------------------------------------------------------- encodings


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_unicode_text_with_a_byte_order_mark_is_read(tmp_path, encoding):
    text = "Hukou note\r\n\r\nMigrants in Shanghai — 户籍 — lack access to city schools and pensions.\r\n"
    data = text.encode(encoding)
    if encoding.endswith(("-le", "-be")):  # those codecs write no BOM: add the one an editor would
        data = "\ufeff".encode(encoding) + data
    f = tmp_path / "note.txt"
    f.write_bytes(data)
    (parsed,) = read_file(f)
    doc = parsed.document
    assert doc.title == "Hukou note"
    assert doc.text == text.replace("\r\n", "\n")  # the BOM is dropped, CRLF is LF, like UTF-8 files
    (section,) = parsed.sections
    assert doc.text[section.start : section.end] == text.splitlines()[2]


@pytest.mark.parametrize(
    "data,message",
    [(b"\xff\xfe", "empty"), (b"\xff\xfeH\x00i", "not valid UTF-16"), (b"\xff\xfe\x00\x00\x00\x00\x00\x00", "binary")],
)
def test_bad_utf16_gets_a_clear_error(tmp_path, data, message):
    f = tmp_path / "note.txt"
    f.write_bytes(data)
    with pytest.raises(CorpusError, match=message):
        read_file(f)


def test_an_unreadable_file_is_named(tmp_path, monkeypatch):
    (tmp_path / "good.txt").write_text(GOOD)
    (tmp_path / "locked.txt").write_text(GOOD)
    read_bytes = Path.read_bytes

    def refuse(self: Path) -> bytes:  # as chmod 0 would, for a user who is not root
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert error_of(tmp_path) == f"{tmp_path / 'locked.txt'}: the file cannot be read (Permission denied)"


def test_several_paths_are_read_whole_and_the_same_id_twice_is_a_problem(tmp_path):
    from assistant.ingest import read_paths

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "report.txt").write_text(GOOD)
    (b / "report.txt").write_text(GOOD.replace("schools", "clinics"))  # another text, the same name
    (b / "empty.txt").write_bytes(b"")
    with pytest.raises(CorpusError) as caught:
        read_paths([a / "report.txt", b, tmp_path / "typo.pdf"])
    message = str(caught.value)
    assert message.startswith("3 problems; fix or remove these files and run again: ")
    assert f"{b / 'report.txt'}: document id 'report' appears twice in the corpus (also from {a / 'report.txt'})" in message
    assert "empty.txt: the file is empty" in message and "typo.pdf: no such file or folder" in message
    assert [d.document.doc_id for d in read_paths([a])] == ["report"]


def test_beir_ids_that_no_route_could_reach_are_refused_by_line(tmp_path):
    """An id is a URL path segment: "", "a/b" and "../../x" would be documents nobody could fetch or delete."""
    f = _beir(tmp_path / "c.jsonl", [{"_id": "ok", "text": "Fine."}, {"_id": "", "text": "Empty id."},
                                     {"_id": "a/b", "text": "A path."}, {"_id": "../../x", "text": "Up."},
                                     {"_id": "tab\tid", "text": "Control."}, {"_id": "Mauna Loa (volcano)", "text": "Fine too."}])
    message = error_of(f)
    assert "an _id that is empty, a path, or has control characters" in message and "at lines 2, 3, 4, 5;" in message


def test_a_file_whose_name_makes_no_id_is_refused(tmp_path):
    f = tmp_path / "..txt"  # its stem is "."
    f.write_text("Some text about land leases.\n")
    assert "this one is the id '.' is a path; rename the file" in error_of(f)


def read_one(folder: Path, text: str):
    """The document one file of ``text`` turns into, and its body (its sections' text)."""
    (folder / "doc.txt").write_text(text, encoding="utf-8")
    parsed = read_corpus(folder)[0]
    return parsed.document, "".join(parsed.document.text[s.start:s.end] for s in parsed.sections)


def test_a_regulations_first_short_article_is_body_not_head(tmp_path):
    """A provision or a plain sentence ends the head, however short: Article 1 must be searchable."""
    doc, body = read_one(tmp_path, "Regulations on Residence Permits\n\n"
                         "Article 1 These Regulations are formulated to promote new urbanization.\n"
                         "Article 2 A citizen who has lived in a city for half a year may apply for a residence permit.\n")
    assert "Article 1 These Regulations" in body and doc.title == "Regulations on Residence Permits"


def test_a_catalogue_byline_names_each_author_once(tmp_path):
    (tmp_path / "r1.txt").write_text(
        "Tickets for Live Events\n\nReport No.: R48179\nAuthor(s): Cho, Clare Y.; Lee, Ann\n"
        "Publication Date: 04/22/2026\n\nSummary\n\n" + "Each year millions of Americans buy tickets for live events. " * 3,
        encoding="utf-8")
    doc = read_corpus(tmp_path)[0].document
    assert doc.authors == ("Clare Y. Cho", "Ann Lee") and doc.date == "2026-04-22"


def test_a_regulations_issuer_and_issue_date_are_its_author_and_date(tmp_path):
    """The issuer ("Issued by:") is a regulation's author, "Date of issue:" its date; neither is body text."""
    doc, body = read_one(tmp_path, "Regulation on Urban Housing Subsidies\nIssued by: Ministry of Housing\n"
                         "Date of issue: 1 March 2024\n\n"
                         "Article 1 This Regulation is formulated to improve housing conditions for low-income urban residents.\n"
                         "Article 2 The subsidy applies to households whose per capita income is below 60% of the local average.\n")
    assert doc.authors == ("Ministry of Housing",) and doc.date == "2024-03-01"
    assert "Issued by" not in body and body.lstrip().startswith("Article 1")


def test_published_is_a_date_and_publisher_the_source(tmp_path):
    doc, _ = read_one(tmp_path, "Rural Pensions in 2020\nPublished: 3 March 2020\nPublisher: State Council Press\n\n"
                      "The pension scheme covers rural residents over sixty years of age in every county.\n")
    assert doc.date == "2020-03-03" and doc.source == "State Council Press"


def test_a_labelled_source_and_date_outrank_guesses_from_earlier_head_lines(tmp_path):
    """A report number reads like a publication ("Report No.: …"), a version line may hold a
    date; the lines labelled "Source:" and "Publication Date:" say what the source and date are."""
    doc, _ = read_one(tmp_path, "Defining Persistent Poverty Counties\nReport No.: R45100\nRevised 2019-01-05\n"
                      "Publication Date: 04/22/2026\nAuthor(s): Dalaker, Joseph\n"
                      "Source: https://www.congress.gov/crs-product/R45100\n\n"
                      "Research has suggested that areas with a poverty rate of 20% or more face more acute problems.\n")
    assert doc.source == "https://www.congress.gov/crs-product/R45100"
    assert doc.date == "2026-04-22" and doc.authors == ("Joseph Dalaker",)


def test_a_pdfs_stated_date_outranks_the_files_creation_date_and_a_user_name_is_no_author(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Regulation on Urban Housing Subsidies")
    pdf.set_author("Administrator")  # the account that saved the file
    pdf.set_creation_date(__import__("datetime").datetime(2025, 9, 30))  # when the file was made
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(0, 6, "Regulation on Urban Housing Subsidies\nIssued by: Ministry of Housing\n"
                         "Date of issue: 1 March 2024\n\nArticle 1 This Regulation is formulated to improve "
                         "housing conditions for low-income urban residents.")
    pdf.output(str(tmp_path / "regulation.pdf"))
    doc = read_corpus(tmp_path)[0].document
    assert doc.date == "2024-03-01" and doc.authors == ("Ministry of Housing",)
