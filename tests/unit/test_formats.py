"""assistant.formats: HTML, PDF and .docx into text and metadata; one clear line per bad file."""

from __future__ import annotations

import io
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from assistant.errors import CorpusError
from assistant.formats import INSTALL_HINT, ExtractedText, extract, page_at

PAGE_ONE = "Land reform changed how farmers hold their plots."
PAGE_TWO = "Most households prefer long leases to outright sale."


def make_pdf(*pages: str, title: str = "Rural Land Reform", image: bool = False) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_author("Jane Doe")
    pdf.set_creation_date(datetime(2022, 3, 4, 10, 30, tzinfo=timezone.utc))
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 10, text)
        if image:
            from PIL import Image

            pdf.image(Image.new("RGB", (40, 20), "gray"), x=20, y=20, w=80)
    return bytes(pdf.output())


def encrypt(pdf: bytes, user_password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx() -> bytes:
    import docx

    document = docx.Document()
    props = document.core_properties
    props.title, props.author, props.created = "Leases and Land", "A. Writer; B. Writer", datetime(2021, 5, 6)
    document.add_heading("Leases and Land", level=0)
    document.add_paragraph("Households weigh the value of a lease against a sale.")
    document.add_paragraph("   ")  # an empty paragraph is dropped
    document.add_heading("Findings", level=2)
    document.add_paragraph("Long leases keep the option to return.")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([("Region", "Share"), ("East", "61%")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


HTML = """<!doctype html>
<html><head>
<title>Rural Policy Review | Example Site</title>
<meta name="author" content="Jane Doe">
<meta name="date" content="2023-04-05">
<style>body { color: red } .styleMarker { }</style>
<script>var scriptMarker = "tracking";</script>
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/about">NavMarker About us</a></li></ul></nav>
<article>
<h1>Rural Policy Review</h1>
<p>Land reform in the <b>countryside</b> has changed how farmers hold and transfer their plots over the last decade.</p>
<h2>Findings</h2>
<p>The survey found that most households prefer long leases to outright sale, because leases keep the option to return.</p>
<ul><li>Leases are renewable.</li><li>Sales are final.</li></ul>
</article>
<script>alert("scriptMarker2")</script>
</body></html>"""


def error_of(path: str, data: bytes) -> str:
    with pytest.raises(CorpusError) as info:
        extract(Path(path), data)
    message = str(info.value)
    assert "\n" not in message and message.startswith(path + ":"), message
    return message


# ---------------------------------------------------------------- PDF


def test_pdf_text_pages_and_metadata():
    got = extract(Path("report.pdf"), make_pdf(PAGE_ONE, PAGE_TWO))
    assert isinstance(got, ExtractedText)
    assert got.text == PAGE_ONE + "\n\n" + PAGE_TWO
    assert got.pages == (0, len(PAGE_ONE) + 2)
    assert (got.title, got.authors, got.date) == ("Rural Land Reform", "Jane Doe", "2022-03-04")
    assert page_at(got.pages, got.text.index("farmers")) == 1
    assert page_at(got.pages, got.text.index("households")) == 2
    assert page_at(got.pages, got.pages[1]) == 2 and page_at(got.pages, got.pages[1] - 1) == 1


def test_pdf_page_labels_are_the_numbers_printed_on_its_pages():
    from pypdf import PdfReader, PdfWriter

    plain = extract(Path("r.pdf"), make_pdf(PAGE_ONE, PAGE_TWO, "Prices fell."))
    assert plain.page_labels == ()  # the PDF says nothing and its pages show no numbers
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(PAGE_ONE, PAGE_TWO, "Prices fell."))))
    writer.set_page_label(0, 0, style="/r")  # a front page numbered "i", then 1, 2
    writer.set_page_label(1, 2, style="/D", start=1)
    out = io.BytesIO()
    writer.write(out)
    got = extract(Path("r.pdf"), out.getvalue())
    assert got.page_labels == ("i", "1", "2")
    numbered = extract(Path("r.pdf"), make_pdf(f"{PAGE_ONE}\n1", f"{PAGE_TWO}\n2", "Prices fell.\n3"))
    assert numbered.page_labels == ("1", "2", "3") and "\n1" not in numbered.text  # read off the pages' feet


def test_pdf_raised_footnote_numbers_are_written_as_superscripts():
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for text, raised in [("Rural counties", False), ("12", True), (" lost people in 2020.", False), ("3", True),
                         (" The wave of 2009", False), ("4", True), (" and CO", False), ("2", True), (" levels.", False),
                         ("5", True), ("\n", False), ("Then it ended.", False)]:
        pdf.char_vpos = "SUP" if raised else "LINE"
        pdf.write(6, text)
    got = extract(Path("r.pdf"), bytes(pdf.output()))
    # a footnote's number is not read into the word or year it follows; a subscript after a capital stays
    assert got.text == "Rural counties¹² lost people in 2020.³ The wave of 2009⁴ and CO2 levels.⁵\nThen it ended."


def test_pdf_blank_page_keeps_the_page_numbers_of_later_pages():
    got = extract(Path("r.pdf"), make_pdf(PAGE_ONE, "", PAGE_TWO))
    assert len(got.pages) == 3
    assert page_at(got.pages, got.text.index("households")) == 3


def test_pdf_title_made_from_a_file_name_is_dropped():
    assert extract(Path("r.pdf"), make_pdf(PAGE_ONE, title="Microsoft Word - draft3.docx")).title is None


def test_page_at_without_pages():
    assert page_at((), 5) is None
    assert extract(Path("a.html"), HTML.encode()).pages == ()


def test_pdf_with_an_empty_user_password_is_read():
    got = extract(Path("r.pdf"), encrypt(make_pdf(PAGE_ONE), user_password=""))
    assert got.text == PAGE_ONE


def test_pdf_bad_files():
    assert "encrypted with a password" in error_of("locked.pdf", encrypt(make_pdf(PAGE_ONE), "secret"))
    assert "no text layer" in error_of("scan.pdf", make_pdf("", "", image=True))
    assert "no text layer" in error_of("numbered-scan.pdf", make_pdf("1", "2", "3", image=True))  # page numbers only
    assert "not a PDF" in error_of("junk.pdf", bytes(range(256)) * 4)
    assert "not a PDF" in error_of("notes.pdf", b"Just some text in a file named .pdf\n")
    truncated = make_pdf(PAGE_ONE)[:200]
    assert "damaged" in error_of("cut.pdf", truncated) or "no pages" in error_of("cut.pdf", truncated)


# ---------------------------------------------------------------- DOCX


def test_docx_text_headings_tables_and_metadata():
    got = extract(Path("leases.docx"), make_docx())
    assert got.text == (
        "# Leases and Land\n\n"
        "Households weigh the value of a lease against a sale.\n\n"
        "## Findings\n\n"
        "Long leases keep the option to return.\n\n"
        "Region | Share\nEast | 61%"
    )
    assert (got.title, got.authors, got.date, got.pages) == ("Leases and Land", "A. Writer; B. Writer", "2021-05-06", ())


def test_docx_bad_files():
    assert "not a Word .docx" in error_of("plain.docx", b"This is text, not a zip file.")
    assert "not a Word .docx" in error_of("junk.docx", bytes(range(256)) * 4)
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("content.xml", "<office/>")
    assert "not a Word .docx" in error_of("odt.docx", other_zip.getvalue())
    assert "encrypted or an old Word .doc" in error_of("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("word/document.xml", "<not-closed")
    assert "damaged" in error_of("broken.docx", broken.getvalue())


def test_docx_without_text():
    import docx

    out = io.BytesIO()
    docx.Document().save(out)
    assert "no text" in error_of("blank.docx", out.getvalue())


# ---------------------------------------------------------------- HTML


def test_html_main_text_only_with_metadata():
    got = extract(Path("review.html"), HTML.encode())
    for marker in ("scriptMarker", "styleMarker", "NavMarker", "color: red", "Home"):
        assert marker not in got.text
    assert got.text.startswith("# Rural Policy Review\n\nLand reform in the countryside has changed")
    assert "\n\n## Findings\n\nThe survey found that most households" in got.text
    assert got.text.endswith("- Leases are renewable.\n- Sales are final.")
    assert (got.title, got.authors, got.date) == ("Rural Policy Review", "Jane Doe", "2023-04-05")


def test_html_in_a_declared_charset():
    page = HTML.replace("<head>", '<head><meta charset="iso-8859-1">').replace("countryside", "campiña")
    got = extract(Path("page.htm"), page.encode("latin-1"))
    assert "campiña" in got.text


def test_html_footnote_numbers_stay_raised():
    page = HTML.replace("The survey found that most households",
                        'The survey<sup>12</sup> of 2009<sup class="ref"><a href="#n3">[3]</a></sup> found that most households')
    got = extract(Path("page.html"), page.encode())
    assert "The survey¹² of 2009³ found that most households" in got.text


def test_html_bad_files():
    assert "not an HTML page" in error_of("junk.html", bytes(range(256)) * 4)
    assert "not an HTML page" in error_of("notes.html", b"Plain words, no markup at all.")
    assert "not valid UTF-8" in error_of("latin.html", "<html><body><p>campiña</p></body></html>".encode("latin-1"))
    assert "no main text" in error_of("empty-body.html", b"<html><head><title>T</title></head><body></body></html>")


# ---------------------------------------------------------------- any format


@pytest.mark.parametrize("name", ["empty.pdf", "empty.docx", "empty.html"])
def test_empty_files(name):
    assert "empty" in error_of(name, b"")
    assert "empty" in error_of(name, b" \n\t\n")


def test_unknown_extension():
    assert "unsupported file type .rtf" in error_of("memo.rtf", b"{\\rtf1 hello}")
    assert "unsupported file type (none)" in error_of("README", b"text")


@pytest.mark.parametrize(
    ("module", "package", "name", "data"),
    [
        ("pypdf", "pypdf", "a.pdf", b"%PDF-1.7\n"),
        ("docx", "python-docx", "a.docx", None),
        ("trafilatura", "trafilatura", "a.html", HTML.encode()),
    ],
)
def test_missing_library_gives_the_install_hint(monkeypatch, module, package, name, data):
    data = data if data is not None else make_docx()
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    message = error_of(name, data)
    assert f"needs {package};" in message and INSTALL_HINT in message


def test_html_nested_lists_and_line_breaks_keep_their_lines():
    page = (
        b"<html><body><article><p>Households weigh the value of a lease against a sale in many regions.</p>"
        b"<ul><li>Outer one<ul><li>Inner a</li><li>Inner b</li></ul></li><li>Outer two</li></ul>"
        b"<p>Line one<br>line two</p></article></body></html>"
    )
    text = extract(Path("n.html"), page).text
    assert "- Outer one\n  - Inner a\n  - Inner b\n- Outer two" in text
    assert text.endswith("\n\nLine one\nline two")


# ---------------------------------------------------------------- work bounds (issue 25)

import functools  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from bombs import docx_bomb, pdf_bomb  # noqa: E402

from assistant.formats import extract_isolated  # noqa: E402


@functools.cache
def slow_docx() -> bytes:
    """45,000 paragraphs: under every count, about 3 s to read."""
    return docx_bomb(45_000)


def test_a_docx_bomb_is_refused_before_any_parser_builds_it():
    bomb = docx_bomb(600_000)  # ~200 KB on disk, ~47 MB of markup: the review's file took 22 minutes
    started = time.monotonic()
    assert "more markup than can be read" in error_of("bomb.docx", bomb)
    assert "paragraphs" in error_of("many.docx", docx_bomb(60_000))  # under the size bound: counted instead
    assert time.monotonic() - started < 3


def test_a_pdf_page_that_inflates_to_megabytes_is_refused_quickly():
    bomb = pdf_bomb()  # ~25 KB; its one page's content is 8 MB of text operators (36 s to extract)
    started = time.monotonic()
    assert "page 1 holds over 2 MB" in error_of("bomb.pdf", bomb)
    assert time.monotonic() - started < 3


def test_reading_in_a_child_gives_the_same_text_once_per_content(monkeypatch):
    data = make_docx()
    assert extract_isolated(Path("leases.docx"), data) == extract(Path("leases.docx"), data)
    with pytest.raises(CorpusError, match="^scan.pdf: the PDF has no text layer"):
        extract_isolated(Path("scan.pdf"), make_pdf("", image=True))  # the child's own one line
    monkeypatch.setattr("subprocess.Popen", None)  # the same bytes again: no second process
    assert extract_isolated(Path("leases.docx"), data).title == "Leases and Land"


def test_a_slow_file_is_stopped_at_the_time_limit(monkeypatch):
    monkeypatch.setenv("POLICYQA_EXTRACT_SECONDS", "0.5")
    started = time.monotonic()
    with pytest.raises(CorpusError, match=r"^slow.docx: reading the file took over 0.5 s, the limit"):
        extract_isolated(Path("slow.docx"), slow_docx())
    assert time.monotonic() - started < 2.5


def test_a_cancelled_read_stops_at_once():
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(CorpusError, match="cancelled"):
        extract_isolated(Path("slow2.docx"), slow_docx() + b"\0", cancel=cancel)  # other bytes: not cached
    assert time.monotonic() - started < 1.5
