"""Reading files into Documents: metadata from the head, page furniture, sections.

A document's ``text`` is the file's text with page furniture (alert notices,
"Edited by" lines, photo captions, navigation crumbs) overwritten by spaces, so
every offset in the kept text is the same as in the file itself and a reader
can check a citation against the original. The head (title, byline, date,
publication) stays in ``text`` but is not chunked; sections are the body
regions under each detected heading.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from . import formats
from .errors import CorpusError
from .progress import Progress, ProgressFn
from .types import Document

# Bump when parsing changes what a file turns into: indexes built before are then stale.
# 2: a provision or a short sentence ends the head; "Author(s): Family, Given" bylines
# 3: the citation forms of laws, bills and courts ("S.Con.Res. 33") do not end sentences
# 4: an underscore separates words for BM25 (Markdown emphasis: "_funded_")
# 5: ligatures ("ﬁ") are spelt out for matching
# 6: a numbered Markdown list item ("- 1. Honorable") is not split after its number
# 7: "Issued by:", "Date of issue:", "Effective date:" … head lines give a document's author and date;
#    "Published:" gives its date, not its source
# 8: a PDF's text layer is reflowed (reflow.py): running heads, feet and page numbers dropped,
#    wrapped lines joined; a footnote's number after a full stop ends the sentence with it; a labelled
#    head line ("Source:", "Publication Date:") outranks a guess from an earlier line; a PDF's or .docx's
#    stated date outranks the file's creation date
# 9: raised footnote numbers (a PDF's smaller type, HTML's <sup>) are written as superscript digits
#    ("2009⁴", not "20094"), matched as spaces, and end a sentence after a full stop
INGEST_VERSION = 9
TEXT_SUFFIXES = (".txt", ".md")
SUFFIXES = TEXT_SUFFIXES + formats.SUFFIXES  # every file type a folder may hold
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TEXT_CHARS = formats.MAX_TEXT_CHARS  # of one document, in every format
MAX_ID_CHARS = 200
MAX_LISTED = 20  # problems named in one error; the rest are counted


@dataclass(frozen=True)
class Section:
    """A body region ``document.text[start:end]`` under one heading ("" before any)."""

    title: str
    start: int
    end: int


@dataclass(frozen=True)
class ParsedDocument:
    document: Document
    sections: tuple[Section, ...]
    content_hash: str


@dataclass(frozen=True)
class _Line:
    start: int
    end: int  # exclusive, without the newline
    text: str  # stripped

    @property
    def words(self) -> int:
        return len(self.text.split())


# ---------------------------------------------------------------- furniture

_FURNITURE = [
    re.compile(p, re.I)
    for p in (
        r"^>\s*\S.*>",  # breadcrumb: "> topics > Sociology"
        r"e-?mail alert|subscribe to (our|the) newsletter|sign up for",
        r"^if you need the full text",
        r"^edited by\b",
        r"\bphoto(graph)?\s*:|\bphoto by\b|\bimage\s*:|\bcredit\s*:",
        r"^(copyright|©)|all rights reserved",
        r"^(share|print|email|tweet)( this( article| story)?)?$",
        r"^(click here|read more|related( articles| stories)?|advertisement)\b",
        r"\|\s*hits\s*:?\s*$",  # the byline's view counter is kept with the byline
    )
]
# Short navigation words that close many web pages ("Special Reports", "Top").
_TRAILING_NAV = re.compile(r"^[A-Z][\w'’ -]{0,30}$")


def _is_furniture(line: _Line) -> bool:
    return any(p.search(line.text) for p in _FURNITURE[:-1])


# ---------------------------------------------------------------- metadata

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"), ("dec", "december"),
        ]
    )
    for m in names
}
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec)[a-z]*\.?"
_DATE_PATTERNS = [
    (re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b"), "ymd"),
    (re.compile(r"\b(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})\b"), "mdy"),
    (re.compile(rf"\b{_MONTH}\s*(\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s*(\d{{4}})\b", re.I), "Mdy"),
    (re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH}\s*,?\s*(\d{{4}})\b", re.I), "dMy"),
]


def parse_date(text: str) -> str:
    """The first date in ``text`` as ISO ``YYYY-MM-DD``, or ""."""
    for pattern, order in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            g = m.groups()
            if order == "ymd":
                y, mo, d = int(g[0]), int(g[1]), int(g[2])
            elif order == "mdy":
                a, b, y = int(g[0]), int(g[1]), int(g[2])
                mo, d = (a, b) if a <= 12 else (b, a)
            elif order == "Mdy":
                mo, d, y = _MONTHS[g[0].lower()[:3]], int(g[1]), int(g[2])
            else:
                d, mo, y = int(g[0]), _MONTHS[g[1].lower()[:3]], int(g[2])
            if 1 <= mo <= 12 and 1 <= d <= 31 and 1800 <= y <= 2200:
                return f"{y:04d}-{mo:02d}-{d:02d}"
    return ""


_NAME_WORD = re.compile(r"^[A-Z][A-Za-z'’-]*\.?$|^[A-Z]+$")
_SUPERSCRIPT = re.compile(r"\^\{[^}]*\}|\^\S+|\*")
_NOT_NAMES = frozenset(
    "the of and in on for to a an is are by with from at as china chinese university school"
    " institute college department management today daily news report research vol no".split()
)


def _name_case(name: str) -> str:
    return " ".join(w.capitalize() if w.isupper() and len(w) > 1 else w for w in name.split())


# "Family, Given M." entries separated by semicolons (a library catalogue's form of a byline)
_INVERTED = re.compile(r"[A-Z][\w'’-]+, [A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*)?(?:; [A-Z][\w'’-]+, [A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*)?)*")


def _parse_names(text: str) -> tuple[str, ...]:
    """Author names from a byline fragment, or () when it does not look like names."""
    text = _SUPERSCRIPT.sub("", text)
    text = re.sub(r"^\s*by\s+", "", text, flags=re.I).strip(" ,;")
    text = re.sub(r"\([^)]*\)", "", text)  # "(professor)"
    if _INVERTED.fullmatch(text):
        # "Dalaker, Joseph", "Cho, Clare Y.; Lee, Ann": each entry is one name, family name first
        parts = [" ".join(reversed([x.strip() for x in entry.split(",")])) for entry in text.split(";")]
        return tuple(_name_case(n) for n in parts)
    parts = [p.strip() for p in re.split(r",|;|&|\band\b", text) if p.strip()]
    if len(parts) == 1:
        words = parts[0].split()
        if len(words) == 1:
            return ()
        if 4 <= len(words) <= 8 and len(words) % 2 == 0:
            # "Li Xueqing Ma Xuefeng" lists two-word names with no separator.
            parts = [" ".join(words[i : i + 2]) for i in range(0, len(words), 2)]
    for part in parts:
        words = part.split()
        if not 1 <= len(words) <= 4 or not all(_NAME_WORD.match(w) for w in words):
            return ()
        if any(w.lower().strip(".") in _NOT_NAMES for w in words):
            return ()
    return tuple(_name_case(n) for n in parts)


_AFFILIATION = re.compile(r"\b(universit|institut|school|college|department|academy|@)", re.I)
_SOURCE_HINT = re.compile(r"\b(vol\.?|no\.|issue|journal|report|review|times|daily|today|news|press|magazine)\b", re.I)


@dataclass
class _Head:
    title: str = ""
    authors: tuple[str, ...] = ()
    date: str = ""
    source: str = ""


# A labelled head line, its group saying what the value is. Regulations and reports name who
# issued them ("Issued by: Ministry of Housing") and when ("Date of issue: …", "Effective date:
# …") as often as papers name authors.
_HEAD_LABEL = re.compile(
    r"^(?:(?P<author>authors?|author\(s\)|by|written by|(?:issued|prepared|compiled|released) by"
    r"|issuing (?:authority|body|agency|office|department|organi[sz]ation)|issuer)"
    r"|(?P<source>source|published in|publication|publisher)"
    r"|(?P<date>date|published|date of (?:issue|publication|adoption)|(?:issue|publication) date|issued(?: on)?"
    r"|effective(?: date| from)?"
    r"|adopted(?: on)?|release date|last updated|updated))\s*:\s*", re.I)


def _read_head(lines: list[_Line]) -> _Head:
    """Title, authors, date and publication from the lines before the body."""
    head = _Head()
    labelled: set[str] = set()  # what a label gave: a labelled line outranks a guess from an earlier one
    for line in lines:
        text = line.text
        if not head.title:
            head.title = text.lstrip("#").strip()
            continue
        if text.lower().startswith(("keywords", "abstract", "*corresponding")):
            continue
        date = parse_date(text)
        segments = [s.strip() for s in text.split("|") if s.strip()]
        for seg in segments:
            label = _HEAD_LABEL.match(seg)
            if label:  # "Author: Zhao Lei", "Source: …": the label says what it is
                value = seg[label.end() :].strip()
                if label["author"] and "author" not in labelled:
                    head.authors = _parse_names(value) or (value,)
                    labelled.add("author")
                    continue
                if label["source"] and "source" not in labelled:
                    head.source = value
                    labelled.add("source")
                    continue
                labelled_date = parse_date(value) if label["date"] and "date" not in labelled else ""
                if labelled_date:
                    head.date = labelled_date
                    labelled.add("date")
                    continue
                seg = value
            seg_date = parse_date(seg)
            bare = re.sub(r"\bhits\s*:?", "", seg, flags=re.I).strip()
            if seg_date and not head.date:
                head.date = seg_date
                continue
            if not bare or seg_date:
                continue
            names = _parse_names(bare) if not _AFFILIATION.search(bare) else ()
            if names and not head.authors and not _SOURCE_HINT.search(bare):
                head.authors = names
            elif (
                not head.source
                and not _AFFILIATION.search(bare)
                and not names
                and bare[-1] not in ".?!"
                and len(bare.split()) <= 10
                and (bare.startswith("(") or _SOURCE_HINT.search(bare) or head.authors)
            ):
                head.source = bare.strip("()").strip()
        if date and not head.date:
            head.date = date
    return head


def _read_front_matter(lines: list[_Line]) -> tuple[_Head, int]:
    """Markdown front matter (``---`` … ``---`` with ``key: value``) and lines it used."""
    head = _Head()
    if not lines or lines[0].text != "---":
        return head, 0
    for i, line in enumerate(lines[1:], start=1):
        if line.text == "---":
            return head, i + 1
        key, _, value = line.text.partition(":")
        key, value = key.strip().lower(), value.strip().strip("\"'")
        if key == "title":
            head.title = value
        elif key in ("author", "authors"):
            head.authors = tuple(a.strip() for a in re.split(r",|;|\band\b", value.strip("[]")) if a.strip())
        elif key == "date":
            head.date = parse_date(value) or value
        elif key in ("source", "publication", "publisher"):
            head.source = value
    return _Head(), 0


# ---------------------------------------------------------------- headings

_NUMBERED = re.compile(r"^(?P<num>(?:\d+\.)+\d*|\d+|[IVXLC]+\.)\s+(?P<title>[A-Z].{1,150})$")
_MD_HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<title>\S.*)$")
_INLINE_LABEL = re.compile(r"^(?P<title>Abstract|Summary|Introduction|Conclusions?)\s*[:.]\s+\S", re.I)
_ROMAN = re.compile(r"^[IVXLC]+\.\s")
_BACK_MATTER = re.compile(r"^(#+\s*)?(references|bibliography|works cited)\s*$", re.I)


def _heading_level(line: _Line, next_line: _Line | None) -> tuple[int, str] | None:
    """(level, title) when the line is a section heading."""
    text = line.text
    m = _MD_HEADING.match(text)
    if m:
        return len(m.group("hashes")), m.group("title").strip()
    m = _NUMBERED.match(text)
    if m and text[-1] not in ".;,:" and line.words <= 25:
        num = m.group("num").rstrip(".")
        if re.fullmatch(r"[IVXLC]+", num):
            return 1, text
        return num.count(".") + 1, text
    if (
        line.words <= 10
        and len(text) <= 80
        and text[0].isupper()
        and text[-1] not in ".!?:;,\"”’)"
        and next_line is not None
        and next_line.words >= 8
        and not next_line.text[0].islower()  # a sentence wrapped onto the next line, not a heading
    ):
        return 1, text
    return None


# ---------------------------------------------------------------- parsing


def _lines(text: str) -> list[_Line]:
    out = []
    for m in re.finditer(r"[^\n]*", text):
        if m.start() == m.end() and m.start() > 0 and text[m.start() - 1] != "\n":
            continue
        stripped = m.group().strip()
        if stripped:
            out.append(_Line(m.start(), m.end(), stripped))
    return out


def _is_prose(line: _Line) -> bool:
    return line.words >= 20 and re.search(r"[.!?]", line.text) is not None


# "Article 1 …", "Section 2.", "§ 3": a provision of a law or regulation starts the body, however short.
_PROVISION = re.compile(r"^(article|section|chapter|part|rule|clause|paragraph|§)\s*[\dIVXLC]+\b", re.I)


def _starts_body(line: _Line) -> bool:
    """A line the head never holds: a paragraph, a provision, or a sentence of eight words or more
    (not a byline, "By …", nor a labelled line, "Authors: …")."""
    end = line.text.rstrip(_CLOSERS)[-1:]
    sentence = (line.words >= 8 and end in (".", "!", "?") and not line.text.lower().startswith("by ")
                and not _HEAD_LABEL.match(line.text))
    return _is_prose(line) or sentence or _PROVISION.match(line.text) is not None


_CLOSERS = "\"'”’)]"
_INITIALISM = re.compile(r"(?:\b[A-Za-z]\.){2,}$")  # "U.S." can end a title; a full stop ends a sentence
_LONG_WORD = re.compile(r"[^\W\d_][\w'’-]{3,}")


def _title_case(text: str) -> bool:
    """Most words of four letters or more capitalized ("from", "with" may stay lower case)."""
    words = _LONG_WORD.findall(text)
    return bool(words) and sum(w[0].isupper() for w in words) >= 0.75 * len(words)


def _is_title_line(line: _Line, next_line: _Line | None, text: str) -> bool:
    """Whether a document's first line is its title, not body text that must stay searchable.

    Body text ends like a sentence, is as long as a paragraph line (20 words) without
    being in Title Case, or runs on into the very next line in lower case (a PDF line
    wrapped mid-sentence). A Markdown heading is always a title.
    """
    if _MD_HEADING.match(line.text):
        return True
    end = line.text.rstrip(_CLOSERS)
    if end[-1:] in (".", ",", ";", "。", "，", "；") and not _INITIALISM.search(end):
        return False
    if line.words >= 20 and not _title_case(line.text):
        return False
    runs_on = (
        next_line is not None
        and text.count("\n", line.end, next_line.start) == 1
        and next_line.text[0].islower()
        and not next_line.text.lower().startswith("by ")  # a byline under a title
    )
    return not runs_on


def _blank(chars: list[str], line: _Line) -> None:
    for i in range(line.start, line.end):
        if chars[i] not in "\r\n":
            chars[i] = " "


def parse_text(doc_id: str, text: str, source_name: str) -> ParsedDocument:
    """Parse the text of a ``.txt`` or ``.md`` file."""
    content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
    lines = _lines(text)
    if not lines:
        raise CorpusError(f"{source_name}: the file has no text")
    chars = list(text)

    front, used = _read_front_matter(lines)
    for line in lines[:used]:
        _blank(chars, line)
    lines = lines[used:]

    furniture = {id(line) for line in lines if _is_furniture(line)}
    # Short navigation words after the last paragraph of a page.
    for line in reversed(lines):
        if id(line) in furniture or (_TRAILING_NAV.match(line.text) and line.words <= 3):
            furniture.add(id(line))
        else:
            break
    kept = [line for line in lines if id(line) not in furniture]

    # The head runs from the title until the first paragraph, labelled section or numbered
    # heading. A first line that is body text starts the body: there is no head to read.
    body_at = len(kept)
    for i, line in enumerate(kept):
        if i == 0:
            if not _is_title_line(line, kept[1] if len(kept) > 1 else None, text):
                body_at = 0
                break
            continue
        if _starts_body(line) or _INLINE_LABEL.match(line.text) or _NUMBERED.match(line.text) or _MD_HEADING.match(line.text):
            body_at = i
            break
    if body_at == len(kept):
        body_at = 1 if len(kept) > 1 else 0
    while 0 < body_at < len(kept) - 1 and _HEAD_LABEL.match(kept[body_at].text):
        body_at += 1  # "Author: …", "Date: …" lines belong to the head however short the body
    head = _read_head([line for line in kept[:body_at] if "|" in line.text or not _is_caption(line)])
    for field_name in ("title", "authors", "date", "source"):
        if getattr(front, field_name):
            setattr(head, field_name, getattr(front, field_name))

    # A byline or title repeated inside the body is furniture too.
    head_texts = {line.text for line in kept[1:body_at]} | {head.title}
    body = []
    for line in kept[body_at:]:
        if line.text in head_texts and not _is_prose(line):
            furniture.add(id(line))
        else:
            body.append(line)
    for line in lines:
        if id(line) in furniture:
            _blank(chars, line)
    clean = "".join(chars)

    sections = _sections(body, clean)
    if not any(clean[sec.start : sec.end].strip() for sec in sections):
        raise CorpusError(f"{source_name}: no text to index beyond a title or byline")
    document = Document(
        doc_id=doc_id,
        title=head.title or doc_id,
        authors=head.authors,
        date=head.date,
        source=head.source or source_name,
        text=clean,
    )
    return ParsedDocument(document, tuple(sections), content_hash)


def _is_caption(line: _Line) -> bool:
    return bool(_FURNITURE[4].search(line.text))


def _sections(body: list[_Line], text: str) -> list[Section]:
    """Split the body lines into sections under their headings; drop back matter."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []  # (level, title) of the open headings
    title, start = "", body[0].start if body else 0
    end_of_body = body[-1].end if body else 0

    def close(at: int) -> None:
        if at > start and text[start:at].strip():
            sections.append(Section(title, start, at))

    for i, line in enumerate(body):
        if _BACK_MATTER.match(line.text):
            end_of_body = line.start
            break
        m = _INLINE_LABEL.match(line.text)
        nxt = body[i + 1] if i + 1 < len(body) else None
        heading = None if m else _heading_level(line, nxt)
        if m:
            close(line.start)
            path = [(1, m.group("title").capitalize())]
            title = path[-1][1]
            start = line.start + m.end() - 1
        elif heading:
            close(line.start)
            level, own = heading
            if path and _ROMAN.match(path[0][1]) and re.match(r"\d", own):
                level += 1  # "1." under "II." is a subsection
            path = [p for p in path if p[0] < level] + [(level, own)]
            title = _section_label(path)
            start = line.end
    close(end_of_body)
    return sections


def _section_label(path: list[tuple[int, str]]) -> str:
    """The heading path; a dotted number ("2.1.") already names its parent."""
    own = path[-1][1]
    if len(path) == 1 or re.match(r"^\d+\.\d", own):
        return own
    return " › ".join(title for _, title in path)


# ---------------------------------------------------------------- files and folders


# Notepad and Excel save "Unicode" text as UTF-16 with a byte-order mark. UTF-32's marks come
# first: the little-endian one begins with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"),
)


def _decode(path: Path, data: bytes) -> str:
    """The file's text: UTF-8 (BOM dropped), or UTF-16/32 when a BOM says so; CRLF turned into LF."""
    if not data.strip():
        raise CorpusError(f"{path}: the file is empty")
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "UTF-8")
    if encoding == "UTF-8" and b"\x00" in data[:8192]:
        raise CorpusError(f"{path}: the file looks binary, not text")
    try:
        # The UTF-16/32 codecs read the BOM for the byte order and drop it.
        text = data.decode("utf-8-sig" if encoding == "UTF-8" else encoding.lower())
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path}: the file is not valid {encoding} text (byte {exc.start})") from None
    if not text.strip():
        raise CorpusError(f"{path}: the file is empty")
    if "\x00" in text[:8192]:
        raise CorpusError(f"{path}: the file looks binary, not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _listed(items: list[str], sep: str = "; ") -> str:
    """``items`` joined, the first MAX_LISTED of them, and how many more there are."""
    shown = sep.join(items[:MAX_LISTED])
    return shown if len(items) <= MAX_LISTED else f"{shown}{sep}and {len(items) - MAX_LISTED} more"


def id_problem(doc_id: str) -> str | None:
    """Why ``doc_id`` cannot be a document id, or None.

    An id is a name in a URL path (``/api/documents/{id}``) and on the command line: it is
    not empty, not a path or ``.``/``..``, has no control characters and no spaces at its ends."""
    if not doc_id:
        return "an empty id"
    if len(doc_id) > MAX_ID_CHARS:
        return f"an id over {MAX_ID_CHARS} characters"
    if "/" in doc_id or "\\" in doc_id or doc_id in (".", ".."):
        return f"the id {doc_id[:40]!r} is a path"
    if any(c < " " or c == "\x7f" for c in doc_id) or doc_id != doc_id.strip():
        return f"the id {doc_id[:40]!r} has control characters or spaces at its ends"
    return None


def read_file(path: Path, *, cancel: threading.Event | None = None) -> list[ParsedDocument]:
    """One document file (.txt, .md, .html, .pdf, .docx), or every record of a BEIR ``corpus.jsonl``.

    HTML, PDF and .docx are read in a child process with a time limit (``formats.extract_isolated``),
    stopped early when ``cancel`` is set."""
    try:
        return _read_file(path, cancel)
    except OSError as exc:  # no permission, a file gone mid-read: the user's to fix, not a crash
        raise CorpusError(f"{path}: the file cannot be read ({exc.strerror or exc})") from None


def _read_file(path: Path, cancel: threading.Event | None = None) -> list[ParsedDocument]:
    if not path.exists():
        raise CorpusError(f"{path}: no such file or folder")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES and path.suffix != ".jsonl":
        raise CorpusError(f"{path}: the file is {size / 1e6:.0f} MB, over the {MAX_FILE_BYTES // 2**20} MB limit")
    if path.suffix == ".jsonl":
        return read_beir(path)
    if path.is_dir():
        raise CorpusError(f"{path}: is a folder; give its files, or build from the folder")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise CorpusError(f"{path}: unsupported file type {path.suffix or '(none)'}; use {', '.join(SUFFIXES)} or corpus.jsonl")
    problem = id_problem(path.stem)
    if problem:
        raise CorpusError(f"{path}: a document's id is its file's name without the extension, and this one is {problem}; rename the file")
    if suffix in formats.SUFFIXES:
        return [_read_formatted(path, cancel)]
    text = _decode(path, path.read_bytes())
    if len(text) > MAX_TEXT_CHARS:
        raise CorpusError(f"{path}: the text is over {MAX_TEXT_CHARS:,} characters; split the document and add the parts")
    return [parse_text(path.stem, text, path.name)]


def _read_formatted(path: Path, cancel: threading.Event | None = None) -> ParsedDocument:
    """HTML, PDF or .docx: the format's text through the same parser, its own metadata preferred,
    but for the date of a PDF or .docx (theirs is when the file was made; a date the text states,
    "Publication Date: …", is when the document was issued) and for a metadata author that names
    no one (a user name, "Administrator")."""
    extracted = formats.extract_isolated(path, path.read_bytes(), cancel=cancel)
    parsed = parse_text(path.stem, extracted.text, path.name)
    doc = parsed.document
    file_stamp = path.suffix.lower() in (".pdf", ".docx")
    document = replace(
        doc,
        title=extracted.title or doc.title,
        # a user name ("Administrator") is no author: the text's then
        authors=(_parse_names(extracted.authors) if extracted.authors else ()) or doc.authors,
        date=(doc.date or extracted.date) if file_stamp else (extracted.date or doc.date),
        pages=extracted.pages,
        page_labels=extracted.page_labels,
    )
    sections = _split_at(parsed.sections, extracted.pages[1:])
    return ParsedDocument(document, sections, parsed.content_hash)


def _split_at(sections: tuple[Section, ...], breaks: tuple[int, ...]) -> tuple[Section, ...]:
    """Sections cut at page starts, so that no passage spans two pages and each has one page number."""
    out = []
    for sec in sections:
        at = sec.start
        for b in breaks:
            if at < b < sec.end:
                out.append(replace(sec, start=at, end=b))
                at = b
        out.append(replace(sec, start=at, end=sec.end))
    return tuple(out)


def read_beir(path: Path) -> list[ParsedDocument]:
    """A BEIR corpus: one JSON object per line with ``_id``, ``title`` and ``text``.

    Every line is checked; malformed records and records without text are refused
    together, by line number, rather than dropped unseen.
    """
    docs = []
    malformed: list[str] = []
    textless: list[str] = []
    bad_ids: list[str] = []
    try:
        with path.open(encoding="utf-8-sig") as f:
            for n, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                try:
                    doc = _beir_record(path, raw)
                except CorpusError:
                    malformed.append(str(n))
                    continue
                if doc is None:
                    textless.append(str(n))
                elif id_problem(doc.document.doc_id) or len(doc.document.text) > MAX_TEXT_CHARS:
                    bad_ids.append(str(n))
                else:
                    docs.append(doc)
    except UnicodeDecodeError:
        raise CorpusError(f"{path}: not valid UTF-8 text (after {len(docs)} good records)") from None
    problems = []
    if malformed:
        problems.append(f"not a BEIR record (a JSON object with _id, title, text) at {_at_lines(malformed)}")
    if textless:
        problems.append(f"neither text nor title in the record at {_at_lines(textless)}")
    if bad_ids:
        problems.append(f"an _id that is empty, a path, or has control characters (or a text over "
                        f"{MAX_TEXT_CHARS:,} characters) in the record at {_at_lines(bad_ids)}")
    if problems:
        raise CorpusError(f"{path}: {'; '.join(problems)}; fix or remove those lines")
    if not docs:
        raise CorpusError(f"{path}: no documents with text")
    return docs


def _at_lines(numbers: list[str]) -> str:
    return f"line{'s' if len(numbers) > 1 else ''} {_listed(numbers, ', ')}"


def _beir_record(path: Path, raw: str) -> ParsedDocument | None:
    """One record, or None when it has neither text nor title; CorpusError when it is not a BEIR record.

    A record with a title and no text (TREC-COVID has thousands) is searched by its title: its id
    may be in the qrels, and dropping it would lose a relevant document."""
    try:
        rec = json.loads(raw)
        doc_id, text = str(rec["_id"]), str(rec.get("text") or "")
    except (json.JSONDecodeError, KeyError, TypeError):
        raise CorpusError(f"{path}: not a BEIR record") from None
    title = str(rec.get("title") or "").strip()
    if not text.strip():
        if not title:
            return None
        text = title
    meta = rec.get("metadata") if isinstance(rec.get("metadata"), dict) else {}
    authors = meta.get("authors") or ()
    document = Document(
        doc_id=doc_id,
        title=title or doc_id,
        authors=tuple(str(a) for a in authors) if isinstance(authors, list) else (),
        date=parse_date(str(meta.get("date", ""))),
        source=path.name,
        text=text,
    )
    digest = hashlib.sha256(json.dumps([title, text]).encode("utf-8")).hexdigest()
    return ParsedDocument(document, (Section("", 0, len(text)),), digest)


def is_beir(path: str | Path) -> bool:
    """Whether ``path`` is a BEIR corpus: a .jsonl file, or a folder holding corpus.jsonl."""
    path = Path(path)
    return path.suffix == ".jsonl" if path.is_file() else (path / "corpus.jsonl").is_file()


def _folder_files(path: Path) -> list[Path]:
    """The document files directly in a folder (subfolders are not read), or its corpus.jsonl."""
    beir = path / "corpus.jsonl"
    if beir.exists():
        return [beir]
    entries = sorted(path.iterdir())
    files = [p for p in entries if p.is_file() and p.suffix.lower() in SUFFIXES]
    if not files:
        # Name the subfolders: documents one level down would otherwise be missed unseen.
        subfolders = [f"{p.name}/" for p in entries if p.is_dir() and not p.name.startswith(".")]
        hint = f" (subfolders are not read: {_listed(subfolders, ', ')})" if subfolders else ""
        raise CorpusError(f"{path}: no {', '.join(SUFFIXES)} or corpus.jsonl files in this folder{hint}")
    return files


def read_corpus(path: str | Path, report: ProgressFn | None = None) -> list[ParsedDocument]:
    """Every document under ``path``: a folder of document files, one file, or a corpus.jsonl.

    Every file is read before any is refused, so one error names all the bad files of a
    folder and the user can fix them in one pass.
    """
    return read_paths([path], report)


def read_paths(paths: Sequence[str | Path], report: ProgressFn | None = None) -> list[ParsedDocument]:
    """The documents of several folders, files or corpus.jsonl files (``policyqa add a/ b.pdf``),
    with every problem of all of them in one error. Two files giving the same id is one of them:
    a/report.txt and b/report.txt must not silently become one document. ``report`` hears of
    each file read."""
    files: list[Path] = []
    problems: list[str] = []
    for path in map(Path, paths):
        if not path.exists():
            problems.append(f"{path}: no such file or folder")
            continue
        try:
            files += _folder_files(path) if path.is_dir() else [path]
        except CorpusError as exc:
            problems.append(str(exc))
    docs: list[ParsedDocument] = []
    seen: dict[str, Path] = {}
    report = report or (lambda event: None)
    report(Progress("reading", 0, len(files), "file"))
    for n, file in enumerate(files, start=1):
        try:
            parsed_docs = read_file(file)
        except CorpusError as exc:
            problems.append(str(exc))
            continue
        finally:
            report(Progress("reading", n, len(files), "file"))
        for parsed in parsed_docs:
            doc_id = parsed.document.doc_id
            if doc_id in seen:
                first = seen[doc_id]
                also = "" if first == file else f" (also from {first.name if first.parent == file.parent else first})"
                problems.append(f"{file}: document id {doc_id!r} appears twice in the corpus{also}")
                continue
            seen[doc_id] = file
            docs.append(parsed)
    if len(problems) == 1:
        raise CorpusError(problems[0])
    if problems:
        # Still one line, as every CorpusError; one folder's files are named without the folder.
        where = Path(paths[0]) if len(paths) == 1 else None
        prefix = os.path.join(str(where), "") if where is not None else ""
        items = [f"[{i}] {p.removeprefix(prefix) if prefix else p}" for i, p in enumerate(problems, start=1)]
        head = f"{where}: " if where is not None else ""
        raise CorpusError(f"{head}{len(problems)} problems; fix or remove these files and run again: {_listed(items)}")
    return docs
