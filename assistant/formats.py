"""Files of other formats into plain text and metadata: HTML, PDF and Word .docx.

Each reader returns the text a person would read (an HTML page's main text
without navigation or scripts, a PDF's text layer, a document's paragraphs),
plus the title, author and date the file's own metadata gives. Headings a
format marks as headings (HTML ``<h2>``, Word "Heading 2") become Markdown
``## `` lines, so the ingester's heading detection sees them for sure.

Every bad file raises one ``CorpusError`` line that names it and says what to
do. The parsing libraries are imported only when a file needs them: the CLI's
start-up stays fast and a corpus of .txt files does not need them at all.

A file's size does not bound the work of reading it (a 259 KB .docx can hold
600,000 paragraphs), so each reader also counts what it reads (paragraphs,
pages, a page's content, characters) and stops at a limit; and
``extract_isolated``, which ingestion uses, runs the reader in a child process
with a time and memory limit, so a parse that is slow in a way no count foresaw
is stopped and holds up nothing else.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from collections import OrderedDict
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .errors import CorpusError
from .reflow import printed_numbers, reflow
from .sentences import AS_SUPERSCRIPT
from .types import page_at  # noqa: F401  (re-exported: the page of an offset)

SUFFIXES = (".html", ".htm", ".pdf", ".docx")
INSTALL_HINT = "pip install 'policyqa[formats]'"
PAGE_BREAK = "\n\n"

# Work bounds. A document past one is refused with a line that says which.
MAX_TEXT_CHARS = 3_000_000  # about 1,000 pages of prose
MAX_PDF_PAGES = 3_000
MAX_PAGE_CONTENT = 2 * 2**20  # one PDF page's content stream, decompressed: text extraction reads it op by op
MAX_DOCX_XML = 32 * 2**20  # word/document.xml, uncompressed
MAX_DOCX_UNZIPPED = 200 * 2**20  # every part of the .docx together, uncompressed (zip bombs)
MAX_DOCX_BLOCKS = 50_000  # paragraphs and tables (a 1,000-page book has about 30,000)
MAX_HTML_TAGS = 500_000
EXTRACT_SECONDS = 60.0  # the child's time limit; POLICYQA_EXTRACT_SECONDS overrides it
CHILD_MEMORY = 3 * 2**30  # the child's address space


@dataclass(frozen=True)
class ExtractedText:
    """A file's text and what its metadata says about it (None where it says nothing)."""

    text: str
    title: str | None
    authors: str | None  # as the file gives it: "A. Writer; B. Writer"
    date: str | None  # ISO ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``
    # PDF only: pages[i] is the offset in ``text`` where page i + 1 starts, and page_labels[i] the
    # number printed on that page ("iv", "12"; "" unknown), when the PDF says or its pages show it.
    pages: tuple[int, ...] = ()
    page_labels: tuple[str, ...] = ()


def extract(path: Path, data: bytes) -> ExtractedText:
    """The text and metadata of ``data``, the bytes of the file at ``path``."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise CorpusError(f"{path}: unsupported file type {path.suffix or '(none)'}; use {', '.join(SUFFIXES)}")
    _sniff(path, data)
    if suffix == ".pdf":
        got = _pdf(path, data)
    elif suffix == ".docx":
        got = _docx(path, data)
    else:
        got = _html(path, data)
    _check_chars(path, len(got.text))
    return got


def _sniff(path: Path, data: bytes) -> None:
    """The checks that need no parser: type by content, and the bounds a zip's directory tells."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise CorpusError(f"{path}: unsupported file type {path.suffix or '(none)'}; use {', '.join(SUFFIXES)}")
    if not data.strip():
        raise CorpusError(f"{path}: the file is empty")
    if suffix == ".pdf" and b"%PDF-" not in data[:1024]:
        raise CorpusError(f"{path}: the file is not a PDF (it does not start with %PDF-)")
    if suffix == ".docx":
        _docx_sniff(path, data)
    if suffix in (".html", ".htm"):
        if b"\x00" in data[:8192] or not _MARKUP.search(data[:65536]):
            raise CorpusError(f"{path}: the file is not an HTML page (no HTML markup found)")
        if data.count(b"<") > MAX_HTML_TAGS:
            raise CorpusError(f"{path}: the page has over {MAX_HTML_TAGS:,} tags; save its text as .txt and add that")


def _check_chars(path: Path, n: int) -> None:
    if n > MAX_TEXT_CHARS:
        raise CorpusError(f"{path}: the text is over {MAX_TEXT_CHARS:,} characters; split the document and add the parts")


# ---------------------------------------------------------------- in a child process

# The child imports only this module: the package's __init__ loads the index code (numpy, FAISS).
_CHILD = (
    "import sys, types\n"
    "package = types.ModuleType('assistant'); package.__path__ = [sys.argv[1]]\n"
    "sys.modules['assistant'] = package\n"
    "from assistant.formats import _child_main\n"
    "_child_main(sys.argv[2], float(sys.argv[3]))\n"
)
_WORKERS = threading.BoundedSemaphore(max(1, (os.cpu_count() or 2) // 2))  # readers at once, server-wide
_CACHE: OrderedDict[str, ExtractedText] = OrderedDict()  # an upload is checked, then added: read once
_CACHE_SIZE = 16
_CACHE_LOCK = threading.Lock()


def extract_seconds() -> float:
    try:
        return max(0.1, float(os.environ.get("POLICYQA_EXTRACT_SECONDS", EXTRACT_SECONDS)))
    except ValueError:
        return EXTRACT_SECONDS


def extract_isolated(path: Path, data: bytes, *, cancel: threading.Event | None = None) -> ExtractedText:
    """``extract`` in a child process with a time and memory limit, stopped early if ``cancel`` is set.

    The same bytes read twice (an upload is checked, then indexed) are parsed once."""
    _sniff(path, data)  # most bad files are refused without starting a process
    key = hashlib.sha256(path.suffix.lower().encode() + b"\0" + data).hexdigest()
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    while not _WORKERS.acquire(timeout=0.2):
        if cancel is not None and cancel.is_set():
            raise CorpusError(f"{path}: not read: the upload was cancelled")
    try:
        got = _run_child(path, data, extract_seconds(), cancel)
    finally:
        _WORKERS.release()
    with _CACHE_LOCK:
        _CACHE[key] = got
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return got


def _run_child(path: Path, data: bytes, seconds: float, cancel: threading.Event | None) -> ExtractedText:
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(Path(__file__).resolve().parent), str(path), str(seconds)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + seconds
    pending: bytes | None = data
    try:
        while True:
            try:
                out, err = proc.communicate(pending, timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pending = None  # the rest of the input is still being written
                if cancel is not None and cancel.is_set():
                    raise CorpusError(f"{path}: not read: the upload was cancelled") from None
                if time.monotonic() > deadline:
                    raise CorpusError(f"{path}: reading the file took over {seconds:g} s, the limit; "
                                      "save its text as .txt and add that") from None
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.communicate()
    try:
        result = json.loads(out)
    except ValueError:
        result = None
    if not isinstance(result, dict):
        if proc.returncode in (-9, -24):  # SIGKILL, SIGXCPU: the CPU limit
            raise CorpusError(f"{path}: reading the file took over {seconds:g} s, the limit; save its text as .txt and add that")
        last = (err.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
        reason = "out of memory" if "MemoryError" in last else " ".join(last.split())[:200]
        raise CorpusError(f"{path}: the file cannot be read (the reader stopped: {reason})")
    if "error" in result:
        raise CorpusError(str(result["error"]))
    return ExtractedText(text=result["text"], title=result["title"], authors=result["authors"], date=result["date"],
                         pages=tuple(result["pages"]), page_labels=tuple(result["page_labels"]))


def _child_main(name: str, seconds: float) -> None:
    """The child: the file's bytes on stdin, ExtractedText (or {"error": line}) as JSON on stdout."""
    import resource

    cpu = int(seconds) + 5  # a backstop: the parent kills the child at its time limit
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    data = sys.stdin.buffer.read()
    try:
        result: dict[str, Any] = asdict(extract(Path(name), data))
    except CorpusError as exc:
        result = {"error": str(exc)}
    sys.stdout.write(json.dumps(result, ensure_ascii=False))


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


# A footnote's number in a page's markup: <sup>12</sup>, or <sup><a href="#n12">[12]</a></sup>.
_HTML_MARK = re.compile(r"<sup\b[^>]{0,300}>\s*(?:<a\b[^>]{0,300}>\s*)?\[?(\d{1,3})\]?\s*(?:</a>\s*)?</sup>", re.I)


def _html(path: Path, data: bytes) -> ExtractedText:
    # raised footnote numbers kept raised: the extractor would glue them to the word before ("20094")
    page = _HTML_MARK.sub(lambda m: m.group(1).translate(AS_SUPERSCRIPT), _decode_html(path, data))
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
    pypdf = _require("pypdf", "pypdf", path, "PDF")
    # pypdf logs the repairs it makes ("EOF marker not found"); without a handler of
    # the application's, Python would print them under the one line we give.
    logging.getLogger("pypdf").addHandler(_QUIET)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            _decrypt(path, reader, pypdf)
        if len(reader.pages) > MAX_PDF_PAGES:
            raise CorpusError(f"{path}: the PDF has {len(reader.pages):,} pages, over the {MAX_PDF_PAGES:,} a file may have; "
                              "split it and add the parts")
        page_texts, chars = [], 0
        for n, page in enumerate(reader.pages, start=1):
            contents = page.get_contents()
            if contents is not None and len(contents.get_data()) > MAX_PAGE_CONTENT:
                raise CorpusError(f"{path}: page {n} holds over {MAX_PAGE_CONTENT // 2**20} MB of drawing "
                                  "instructions, too many to read; save its text as .txt and add that")
            page_texts.append(_tidy(_page_text(page)))
            chars += len(page_texts[-1])
            _check_chars(path, chars)
        info = reader.metadata
        # the labels a PDF defines for its pages (pypdf makes up "1", "2", … when it defines none)
        labels = tuple(str(x) for x in reader.page_labels) if "/PageLabels" in reader.trailer["/Root"] else ()
    except CorpusError:
        raise
    except Exception as exc:  # pypdf raises many kinds on a damaged file
        raise CorpusError(f"{path}: the PDF is damaged and cannot be read ({_one_line(exc)})") from None
    if not page_texts:
        raise CorpusError(f"{path}: the PDF has no pages")
    labels = labels if len(labels) == len(page_texts) else printed_numbers(page_texts)
    page_texts, joints = reflow(page_texts)
    if not any(t.strip() for t in page_texts):  # page numbers alone are no text either
        raise CorpusError(f"{path}: the PDF has no text layer (scanned or image-only); run OCR on it first")
    starts, parts, at = [], [], 0
    for text, joint in zip(page_texts, [*joints, ""]):
        starts.append(at)
        glue = PAGE_BREAK if joint is None else joint
        parts.append(text + glue)
        at += len(text) + len(glue)
    title = _clean(info.title) if info else None
    created = _PDF_DATE.match(str(info.get("/CreationDate") or "")) if info else None
    return ExtractedText(
        text="".join(parts),
        title=None if title and _JUNK_TITLE.search(title) else title,
        authors=_clean(info.author) if info else None,
        date=_iso_parts(*created.groups()) if created else None,
        pages=tuple(starts),
        page_labels=labels,
    )


# A raised footnote number: a run of one to three digits ("12", "3,4") set smaller than the text it
# follows, straight after a lower-case letter, a digit or closing punctuation, and not followed by
# a letter or digit. After a capital it is more likely a subscript ("CO2"), at a line's start a
# footnote's own number ("12 U.S. Census Bureau, …"): both stay as they are.
_MARK = re.compile(r"\d{1,3}(?:,\d{1,3})*")
_MARKED = re.compile(r"[a-z0-9.,;:)\]\"'”’]$")
SMALLER = 0.85  # a mark's type size against the text before it


def _page_text(page: Any) -> str:
    """A PDF page's text as pypdf extracts it, its raised footnote numbers written as superscript
    digits ("2009⁴", not "20094"). Type sizes come from pypdf's text runs; when the runs do not
    add up to the page's text, the text is taken as it is."""
    runs: list[tuple[str, float]] = []

    def seen(text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
        if text:  # pypdf reports empty runs between font changes
            runs.append((text, abs(float(size) * float(tm[3]) * float(cm[3])) if size else 0.0))

    text = page.extract_text(visitor_text=seen) or ""
    if "".join(t for t, _ in runs) != text:
        return text
    out = []
    for i, (t, size) in enumerate(runs):
        mark = t.rstrip()  # a run may end its line: "34\n"
        before = runs[i - 1] if i else ("", 0.0)
        after = t[len(mark):] or (runs[i + 1][0] if i + 1 < len(runs) else "")
        raised = (_MARK.fullmatch(mark) and _MARKED.search(before[0]) and 0 < size <= SMALLER * before[1]
                  and not after[:1].isalnum())
        out.append(mark.translate(AS_SUPERSCRIPT) + t[len(mark):] if raised else t)
    return "".join(out)


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


def _docx_sniff(path: Path, data: bytes) -> None:
    if data.startswith(_OLE_MAGIC):
        # Word writes password-protected .docx files as OLE containers, like old .doc files.
        raise CorpusError(f"{path}: the file is encrypted or an old Word .doc; save it as an unencrypted .docx")
    try:
        # A zip's directory states each part's uncompressed size, and reading stops there.
        archive = zipfile.ZipFile(io.BytesIO(data))
        sizes = {info.filename: info.file_size for info in archive.infolist()}
    except (zipfile.BadZipFile, ValueError, EOFError):
        sizes = {}
    if "word/document.xml" not in sizes:
        raise CorpusError(f"{path}: the file is not a Word .docx (not a zip with word/document.xml)")
    if sizes["word/document.xml"] > MAX_DOCX_XML or sum(sizes.values()) > MAX_DOCX_UNZIPPED:
        raise CorpusError(f"{path}: the .docx unpacks to more markup than can be read (over {MAX_DOCX_XML // 2**20} MB "
                          "of text); split the document and add the parts")
    # Paragraph tags counted as the markup streams by (a tenth of a second), before any parser
    # builds them; a file that names Word's namespace otherwise is counted by the reader instead.
    count, tail = 0, b""
    try:
        with archive.open("word/document.xml") as xml:
            while chunk := xml.read(2**20):
                window = tail + chunk
                count += window.count(b"<w:p>") + window.count(b"<w:p ") + window.count(b"<w:tbl>")
                tail = window[-6:]
                count -= tail.count(b"<w:p>") + tail.count(b"<w:p ") + tail.count(b"<w:tbl>")
                if count > MAX_DOCX_BLOCKS:
                    raise CorpusError(f"{path}: the document has over {MAX_DOCX_BLOCKS:,} paragraphs and tables; "
                                      "split it and add the parts")
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, zlib.error):
        pass  # a damaged part: the reader says so


def _docx(path: Path, data: bytes) -> ExtractedText:
    docx = _require("docx", "python-docx", path, "Word .docx")
    from docx.enum.style import WD_STYLE_TYPE

    try:
        document = docx.Document(io.BytesIO(data))
        # Style names looked up once: python-docx looks a paragraph's style up anew on each
        # access, milliseconds each, which is minutes on a long document.
        names = {s.style_id: s.name for s in document.styles}
        default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
        default_name = default.name if default is not None else ""
        blocks, chars = [], 0
        for n, item in enumerate(document.iter_inner_content(), start=1):
            if n > MAX_DOCX_BLOCKS:
                raise CorpusError(f"{path}: the document has over {MAX_DOCX_BLOCKS:,} paragraphs and tables; "
                                  "split it and add the parts")
            block = _docx_block(item, names, default_name)
            if block:
                blocks.append(block)
                chars += len(block) + 2
                _check_chars(path, chars)
        props = document.core_properties
        title, author, created = props.title, props.author, props.created
    except CorpusError:
        raise
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


def _docx_block(item: Any, names: dict[str, str], default_name: str) -> str:
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
    style_id = item._p.style  # the paragraph's own style id; None: the default paragraph style
    style = names.get(style_id, default_name) if style_id else default_name
    if style == "Title":
        return "# " + " ".join(text.split())
    m = _HEADING_STYLE.match(style or "")
    if m:
        return "#" * int(m.group(1)) + " " + " ".join(text.split())
    return text
