"""The answer as shown: quotes with numbered markers, citations with exact spans, references.

No text generator is involved: an answer is one to four quotes from the corpus, each followed
by its marker, so it cannot say what the corpus does not. Quotes are separated by a blank line;
a quoted list keeps one line per item. Every citation's quote is
``document.text[start:end]``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .candidates import Candidate
from .selection import MAX_QUOTES
from .sentences import LIST_ITEM
from .types import Answer, Citation, Document, Passage

NOT_COVERED = "The documents do not cover this question."
MAX_JOINED_QUOTE = 800  # characters: side-by-side sentences join into one quote up to this length

# A source's own reference numbers ("… economic support [3].", "[3, 4]", "[5-7]").
_SOURCE_REFERENCE = re.compile(r"\[(\d+(?:\s*[,–-]\s*\d+)*)\]")


def shown_quote(quote: str) -> str:
    """A quote as the answer's text shows it: its line breaks closed up except where a list item
    begins (a quoted list reads as a list), and the source's own reference numbers written
    "[ref. 3]", so that every "[n]" a reader sees is one of our markers. The citation keeps the
    exact span."""
    lines: list[str] = []
    for line in quote.splitlines():
        words = " ".join(line.split())
        if not words:
            continue
        if lines and not LIST_ITEM.match(words):
            lines[-1] += " " + words
        else:
            lines.append(words)
    return _SOURCE_REFERENCE.sub(r"[ref. \1]", "\n".join(lines))


def _next_in_paragraph(gap: str) -> bool:
    """Whether the text between two spans is only the space between sentences of one paragraph."""
    return not gap.strip() and "\n\n" not in gap


def _join(points: list[list[tuple[Candidate, int, int]]], placed: list[tuple[Candidate, int, int]],
          documents: dict[str, Document]) -> bool:
    """Join a one-document quote to an earlier one it directly precedes or follows, within a
    paragraph and up to MAX_JOINED_QUOTE characters: side by side, they read as the source reads
    and paste as one quotation. A point made in two documents keeps its own quotes."""
    if len(placed) != 1:
        return False
    c, s, e = placed[0]
    text = documents[c.doc_id].text
    for i, point in enumerate(points):
        if len(point) != 1 or point[0][0].doc_id != c.doc_id:
            continue
        first, ps, pe = point[0]
        gap = text[pe:s] if pe <= s else text[e:ps]
        if (pe <= s or e <= ps) and _next_in_paragraph(gap) and max(pe, e) - min(ps, s) <= MAX_JOINED_QUOTE:
            points[i] = [(first, min(ps, s), max(pe, e))]
            return True
    return False


def references(citations: Sequence[Citation], documents: dict[str, Document]) -> list[dict[str, Any]]:
    """Each cited document once, with the markers, sections and pages (of a PDF) that point to it."""
    out: dict[str, dict[str, Any]] = {}
    for c in citations:
        doc = documents[c.doc_id]
        ref = out.setdefault(
            c.doc_id,
            {"markers": [], "doc_id": c.doc_id, "title": doc.title, "authors": list(doc.authors),
             "date": doc.date, "sections": [], "pages": [], "source": doc.source},
        )
        ref["markers"].append(c.n)
        if c.section and c.section not in ref["sections"]:
            ref["sections"].append(c.section)
        if c.page is not None:
            ref.setdefault("_pages", {})[c.page] = c.page_label or str(c.page)
    for ref in out.values():  # in page order, each as printed on it (else as a viewer counts it)
        ref["pages"] = [label for _, label in sorted(ref.pop("_pages", {}).items())]
    return list(out.values())


def compose(
    question: str,
    points: list[list[Candidate]],
    documents: dict[str, Document],
    passages: Sequence[Passage],
    answered: bool,
    sections: Sequence[str],
) -> Answer:
    """Number the quotes, write the text with markers, list the references. ``passages`` are the
    retrieval hits shown beside the answer; ``sections`` gives each passage row's section."""
    if not answered or not points:
        return Answer(question=question, answered=False, text=NOT_COVERED, passages=tuple(passages))
    taken: list[tuple[str, int, int]] = []
    placed_points: list[list[tuple[Candidate, int, int]]] = []
    for point in points:
        placed = []
        for c in point:
            # A quote widened to the sentence before it (or to what it introduces) may now cover an
            # earlier quote, which then gives the context: quote the sentence alone (and nothing twice).
            span = next(((s, e) for s, e in ((c.quote_start, c.quote_end), (c.start, c.end))
                         if not any(d == c.doc_id and s < te and ts < e for d, ts, te in taken)), None)
            if span is None:
                continue
            s, e = span
            taken.append((c.doc_id, s, e))
            placed.append((c, s, e))
        if placed and not _join(placed_points, placed, documents):
            if len(placed_points) >= MAX_QUOTES:
                break
            placed_points.append(placed)
    citations: list[Citation] = []
    parts: list[str] = []
    for point in placed_points:
        markers = []
        for c, s, e in point:
            doc = documents[c.doc_id]
            citations.append(Citation(len(citations) + 1, doc.doc_id, doc.title, sections[c.passage_row], s, e,
                                      doc.text[s:e], page=doc.page_at(s), page_label=doc.page_label_at(s)))
            markers.append(f"[{len(citations)}]")
        parts.append(f"{shown_quote(citations[-len(point)].quote)} {''.join(markers)}")
    return Answer(
        question=question,
        answered=True,
        text="\n\n".join(parts),
        citations=tuple(citations),
        passages=tuple(passages),
        references=tuple(references(citations, documents)),
    )
