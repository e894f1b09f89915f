"""Files of other formats into plain text and metadata: HTML, PDF and Word .docx.

Each reader returns the text a person would read (an HTML page's main text
without navigation or scripts, a PDF's text layer, a document's paragraphs),
plus the title, author and date the file's own metadata gives. Headings a
format marks as headings (HTML ``<h2>``, Word "Heading 2") become Markdown
``## `` lines, so the ingester's heading detection sees them for sure.

Every bad file raises one ``CorpusError`` line that names it and says what to
do. The parsing libraries are imported only when a file needs them: the CLI's
start-up stays fast and a corpus of .txt files does not need them at all.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .errors import CorpusError
from .types import page_at  # noqa: F401  (re-exported: the page of an offset)

SUFFIXES = (".html", ".htm", ".pdf", ".docx")
INSTALL_HINT = "pip install 'policyqa[formats]'"
PAGE_BREAK = "\n\n"


@dataclass(frozen=True)
class ExtractedText:
    """A file's text and what its metadata says about it (None where it says nothing)."""

    text: str
    title: str | None
    authors: str | None  # as the file gives it: "A. Writer; B. Writer"
    date: str | None  # ISO ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``
    # PDF only: pages[i] is the offset in ``text`` where page i + 1 starts.
    pages: tuple[int, ...] = ()


def extract(path: Path, data: bytes) -> ExtractedText:
    """The text and metadata of ``data``, the bytes of the file at ``path``."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise CorpusError(f"{path}: unsupported file type {path.suffix or '(none)'}; use {', '.join(SUFFIXES)}")
    if not data.strip():
        raise CorpusError(f"{path}: the file is empty")
    if suffix == ".pdf":
        return _pdf(path, data)
    if suffix == ".docx":
        return _docx(path, data)
    return _html(path, data)


# ---------------------------------------------------------------- helpers


def _require(module: str, package: str, path: Path, what: str) -> Any:
    """Import an optional parser, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise CorpusError(f"{path}: reading {what} files needs {package}; install it with {INSTALL_HINT}") from None


def _one_line(exc: BaseException) -> str:
    """An exception as a short single line, for the end of a CorpusError."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def _clean(value: object) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def _iso(value: object) -> str | None:
    if isinstance(value, (datetime, date)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, str):
        m = re.match(r"^\s*(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", value)
        if m:
            return _iso_parts(*m.groups())
    return None


def _iso_parts(year: str, month: str | None, day: str | None) -> str | None:
    """``YYYY[-MM[-DD]]`` from its parts, as far as they are valid."""
    if not 1000 <= int(year) <= 2999:
        return None
    if not month or not 1 <= int(month) <= 12:
        return year
    if not day or not 1 <= int(day) <= 31:
        return f"{year}-{month}"
    return f"{year}-{month}-{day}"


def _tidy(text: str) -> str:
    """Strip each line's trailing spaces and surplus blank lines around the text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


# ---------------------------------------------------------------- HTML

_MARKUP = re.compile(rb"<\s*(!doctype\s+html|html|head|body|title|meta|article|main|div|p|h[1-6]|section)\b", re.I)
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.I)
_BLOCKS = ("p", "head", "list", "table", "quote", "code")


def _decode_html(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    m = _CHARSET.search(data[:4096])
    if m:
        try:
            return data.decode(m.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    raise CorpusError(
        f"{path}: the page is not valid UTF-8 (byte {utf8_error.start}) and declares no charset that decodes it"
    )


def _html(path: Path, data: bytes) -> ExtractedText:
    if b"\x00" in data[:8192] or not _MARKUP.search(data[:65536]):
        raise CorpusError(f"{path}: the file is not an HTML page (no HTML markup found)")
    page = _decode_html(path, data)
    trafilatura = _require("trafilatura", "trafilatura", path, "HTML")
    from lxml import etree  # trafilatura's own dependency

    # XML output keeps the block structure (headings, paragraphs, lists, tables)
    # that plain-text output flattens; metadata comes with it as attributes.
    try:
        xml = trafilatura.extract(
            page,
            output_format="xml",
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            # The date from the page's markup, not the first date mentioned in its text.
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
        root = etree.fromstring(xml.encode("utf-8")) if xml else None
    except Exception as exc:  # lxml and trafilatura raise many kinds on broken markup
        raise CorpusError(f"{path}: the HTML page cannot be parsed ({_one_line(exc)})") from None
    main = root.find("main") if root is not None else None
    blocks = _xml_blocks(main) if main is not None else []
    text = "\n\n".join(blocks)
    if not text.strip():
        raise CorpusError(f"{path}: no main text found in the HTML page")
    return ExtractedText(
        text=text,
        title=_clean(root.get("title")),
        authors=_clean(root.get("author")),
        date=_iso(root.get("date") or ""),
    )


def _xml_blocks(element: Any) -> list[str]:
    """Paragraph texts of trafilatura's XML, headings as ``## `` lines."""
    out: list[str] = []
    if element.text and element.text.strip():
        out.append(" ".join(element.text.split()))
    for child in element:
        tag = child.tag
        if tag == "head":
            level = int(m.group(1)) if (m := re.fullmatch(r"h([1-6])", child.get("rend") or "")) else 2
            line = " ".join(_inline_text(child).split())
            if line:
                out.append("#" * level + " " + line)
        elif tag == "list":
            lines = []
            for item in child.findall("item"):
                first, *rest = _inline_text(item).split("\n")  # rest: its nested list or line breaks
                lines += ["- " + first] + ["  - " + line for line in rest]
            out.append("\n".join(line for line in lines if line.strip(" -")))
        elif tag == "table":
            rows = [[" ".join(_inline_text(c).split()) for c in row.iter("cell")] for row in child.iter("row")]
            out.append("\n".join(" | ".join(r) for r in rows if any(r)))
        elif tag in _BLOCKS or not any(c.tag in _BLOCKS for c in child):
            out.append(_inline_text(child))
        else:
            out.extend(_xml_blocks(child))
        if child.tail and child.tail.strip():
            out.append(" ".join(child.tail.split()))
    return [b for b in (_tidy(b) for b in out) if b.strip()]


def _inline_text(element: Any) -> str:
    """The text of one block, ``<lb/>`` as a line break, other markup dropped."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == "lb":
            parts.append("\n")
        elif child.tag in ("item", "list", "row", *_BLOCKS):  # blocks nested in a list item
            parts.append("\n" + _inline_text(child) + "\n")
        else:
            parts.append(_inline_text(child))
        parts.append(child.tail or "")
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


# ---------------------------------------------------------------- PDF

_QUIET = logging.NullHandler()
_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?")
# Titles that PDF writers fill in from the file name or the authoring tool.
_JUNK_TITLE = re.compile(r"^(untitled|microsoft (word|powerpoint) - )|\.(docx?|pdf|txt|rtf|odt|tex|indd)$", re.I)


def _pdf(path: Path, data: bytes) -> ExtractedText:
    if b"%PDF-" not in data[:1024]:
        raise CorpusError(f"{path}: the file is not a PDF (it does not start with %PDF-)")
    pypdf = _require("pypdf", "pypdf", path, "PDF")
    # pypdf logs the repairs it makes ("EOF marker not found"); without a handler of
    # the application's, Python would print them under the one line we give.
    logging.getLogger("pypdf").addHandler(_QUIET)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            _decrypt(path, reader, pypdf)
        page_texts = [_tidy(page.extract_text() or "") for page in reader.pages]
        info = reader.metadata
    except CorpusError:
        raise
    except Exception as exc:  # pypdf raises many kinds on a damaged file
        raise CorpusError(f"{path}: the PDF is damaged and cannot be read ({_one_line(exc)})") from None
    if not page_texts:
        raise CorpusError(f"{path}: the PDF has no pages")
    if not any(t.strip() for t in page_texts):
        raise CorpusError(f"{path}: the PDF has no text layer (scanned or image-only); run OCR on it first")

    starts, at = [], 0
    for text in page_texts:
        starts.append(at)
        at += len(text) + len(PAGE_BREAK)
    title = _clean(info.title) if info else None
    created = _PDF_DATE.match(str(info.get("/CreationDate") or "")) if info else None
    return ExtractedText(
        text=PAGE_BREAK.join(page_texts),
        title=None if title and _JUNK_TITLE.search(title) else title,
        authors=_clean(info.author) if info else None,
        date=_iso_parts(*created.groups()) if created else None,
        pages=tuple(starts),
    )


def _decrypt(path: Path, reader: Any, pypdf: Any) -> None:
    """Open a PDF 'encrypted' with an empty user password, as many are; refuse others."""
    try:
        opened = reader.decrypt("")
    except pypdf.errors.DependencyError:
        raise CorpusError(f"{path}: this encrypted PDF needs the cryptography package; install it with {INSTALL_HINT}") from None
    if opened == pypdf.PasswordType.NOT_DECRYPTED:
        raise CorpusError(f"{path}: the PDF is encrypted with a password; save an unencrypted copy and add that")


# ---------------------------------------------------------------- Word .docx

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADING_STYLE = re.compile(r"^heading ([1-6])$", re.I)


def _docx(path: Path, data: bytes) -> ExtractedText:
    if data.startswith(_OLE_MAGIC):
        # Word writes password-protected .docx files as OLE containers, like old .doc files.
        raise CorpusError(f"{path}: the file is encrypted or an old Word .doc; save it as an unencrypted .docx")
    try:
        is_docx = "word/document.xml" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    except zipfile.BadZipFile:
        is_docx = False
    if not is_docx:
        raise CorpusError(f"{path}: the file is not a Word .docx (not a zip with word/document.xml)")
    docx = _require("docx", "python-docx", path, "Word .docx")
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = [b for b in (_docx_block(item) for item in document.iter_inner_content()) if b]
        props = document.core_properties
        title, author, created = props.title, props.author, props.created
    except Exception as exc:  # python-docx and lxml raise many kinds on a damaged file
        raise CorpusError(f"{path}: the .docx is damaged and cannot be read ({_one_line(exc)})") from None
    if not blocks:
        raise CorpusError(f"{path}: the document has no text")
    return ExtractedText(
        text="\n\n".join(blocks),
        title=_clean(title),
        authors=_clean(author),
        date=_iso(created),
    )


def _docx_block(item: Any) -> str:
    """A paragraph (a heading as a ``## `` line) or a table (one line a row)."""
    if hasattr(item, "rows"):
        lines = []
        for row in item.rows:
            cells: list[str] = []
            for cell in row.cells:
                text = " ".join(cell.text.split())
                if text and (not cells or cells[-1] != text):  # a merged cell repeats
                    cells.append(text)
            if cells:
                lines.append(" | ".join(cells))
        return "\n".join(lines)
    text = _tidy(item.text.replace("\t", " ").replace("\v", "\n"))
    text = "\n".join(" ".join(line.split()) for line in text.split("\n") if line.strip())
    if not text:
        return ""
    style = item.style.name if item.style is not None else ""
    if style == "Title":
        return "# " + " ".join(text.split())
    m = _HEADING_STYLE.match(style or "")
    if m:
        return "#" * int(m.group(1)) + " " + " ".join(text.split())
    return text
