"""Lines that are not prose: table rows, footnotes and reference entries, bare links, captions and
metadata labels.

They stay in the text, searchable and shown in their passages, but an answer never quotes them:
a table row or a footnote read alone says little, and a reference line cites someone else's
words. Recognised by their form alone, so they work on any document:

* a table: a line opening with "|", and a block (lines between blank lines) most of whose lines do;
* a notes section: the lines under a heading "Footnotes", "Notes", "Endnotes", "References",
  "Bibliography", "Works Cited", "Sources" or "Citations", up to the next heading;
* a reference entry: a numbered or bracketed line ("12.", "[12]", "^12", a PDF's footnote "12 U.S.
  Census Bureau, …") that cites (a link, a DOI,
  "et al.", "pp.", "Vol.", a publisher's "Retrieved"), or any line that is mostly a citation list;
* a bare link: a line with fewer than four words besides its links;
* a caption or label: "Figure 2.", "Table 1:", "Source:", and metadata lines of at most twelve
  words under a publisher's label ("Report No.: …", "Version: 10", "Keywords: …"), not an author's.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence

import numpy as np

_NOTES_HEADING = re.compile(
    r"^\s*(#+\s*)?(foot ?notes|end ?notes|notes|references|bibliography|works cited|sources|citations|literature cited"
    r"|notes and references)\s*:?\s*$", re.I)
_HEADING = re.compile(r"^\s*#+\s+\S")
_NUMBERED = re.compile(r"^\s*(\[\d+\]|\^\d+|\(\d+\)|\d{1,3}[.)]\s|\d{1,3}\s+(?=[A-Z\"“])|\|\s*\d{1,3}\.?\s*\|)")
_CITES = re.compile(r"https?://|www\.|\bdoi\b|\bet al\.|\bpp?\.\s*\d|\bvol\.\s*\d|\bretrieved\b|\bibid\b|\bop\. cit\b"
                    r"|\baccessed\b|\bhereinafter\b", re.I)
_URL = re.compile(r"(https?://|www\.)\S+", re.I)
_CAPTION = re.compile(r"^\s*(figure|fig\.|table|chart|exhibit|map|box|source|sources)\s*(\d+[.:]?|[A-Z]\d*[.:]|[.:])", re.I)
_LABEL = re.compile(
    r"^\s*(product type|report (no\.?|number)|document (no\.?|number)|version|publication date|date( published)?|published"
    r"|updated|last updated|topics?|keywords?|key words|subjects?|source|doi|url|isbn|issn|issue|volume|pages|received"
    r"|accepted|revised|licen[cs]e|copyright|citation|cite as|classification|status|file|format|language)\s*:", re.I)


def _lines(text: str) -> list[tuple[int, int]]:
    out, at = [], 0
    for line in text.split("\n"):
        out.append((at, at + len(line)))
        at += len(line) + 1
    return out


def _not_prose(line: str) -> bool:
    s = line.strip()
    if not s:
        return False
    if s.startswith("|"):
        return True
    if _NUMBERED.match(s) and _CITES.search(s):
        return True
    if len(_URL.sub(" ", s).split()) < 4 and _URL.search(s):
        return True
    if _CAPTION.match(s):
        return True
    if _LABEL.match(s) and len(s.split()) <= 12:
        return True
    return False


def unquotable_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) spans of ``text``'s lines that are not prose, in order."""
    lines = _lines(text)
    flags = [_not_prose(text[a:b]) for a, b in lines]
    in_notes = False
    block: list[int] = []

    def close_block() -> None:
        # a block most of whose lines are table rows is a table, its wrapped cells too
        rows = sum(text[lines[i][0] : lines[i][1]].lstrip().startswith("|") for i in block)
        if rows and 2 * rows >= len(block):
            for i in block:
                flags[i] = True
        block.clear()

    for i, (a, b) in enumerate(lines):
        line = text[a:b]
        if _NOTES_HEADING.match(line):
            in_notes = True
            continue
        if in_notes and _HEADING.match(line):
            in_notes = False
        if in_notes and line.strip():
            flags[i] = True
        if line.strip():
            block.append(i)
        else:
            close_block()
    close_block()
    return [lines[i] for i, f in enumerate(flags) if f]


def quotable(text: str, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Per (start, end) sentence span of ``text``: True unless it lies mostly in lines that are not prose."""
    bad = unquotable_spans(text)
    starts = [a for a, _ in bad]
    out = np.ones(len(spans), dtype=bool)
    if not bad:
        return out
    for k, (s, e) in enumerate(spans):
        covered = 0
        i = max(0, bisect_right(starts, s) - 1)
        while i < len(bad) and bad[i][0] < e:
            covered += max(0, min(e, bad[i][1]) - max(s, bad[i][0]))
            i += 1
        out[k] = 2 * covered < (e - s)
    return out
