"""The typed values that flow through the assistant.

Every span is a pair of character offsets into ``Document.text``; nothing
downstream re-reads a file or re-derives an offset, so a citation can always
be checked with ``document.text[start:end]``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


def page_at(pages: Sequence[int], offset: int) -> int | None:
    """The 1-based page holding ``text[offset]``, given each page's start offset; None without pages."""
    if not pages or offset < 0:
        return None
    return max(1, bisect_right(pages, offset))


@dataclass(frozen=True)
class Document:
    """One source document, as ingested."""

    doc_id: str
    title: str
    authors: tuple[str, ...]
    date: str  # ISO ``YYYY-MM-DD`` (or ``YYYY-MM`` / ``YYYY``); "" when the document gives none
    source: str  # publication line, or the file name when the document names none
    text: str
    pages: tuple[int, ...] = ()  # paged formats (PDF): offset in ``text`` where each page starts
    page_labels: tuple[str, ...] = ()  # the number printed on each page ("iv", "12"; "" unknown), when known

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["authors"] = list(self.authors)
        d["pages"] = list(self.pages)
        d["page_labels"] = list(self.page_labels)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Document":
        return cls(
            doc_id=str(d["doc_id"]),
            title=str(d["title"]),
            authors=tuple(d.get("authors") or ()),
            date=str(d.get("date") or ""),
            source=str(d.get("source") or ""),
            text=str(d["text"]),
            pages=tuple(int(x) for x in d.get("pages") or ()),
            page_labels=tuple(str(x) for x in d.get("page_labels") or ()),
        )

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding ``text[offset]``; None for a document without pages."""
        return page_at(self.pages, offset)

    def page_label_at(self, offset: int) -> str | None:
        """The number printed on the page holding ``text[offset]``, when known."""
        page = self.page_at(offset)
        if page is None or len(self.page_labels) != len(self.pages):
            return None
        return self.page_labels[page - 1] or None


@dataclass(frozen=True)
class Passage:
    """A retrievable span of a document: ``document.text[start:end] == text``."""

    doc_id: str
    title: str
    section: str
    text: str
    start: int
    end: int
    score: float = 0.0  # fused relevance; ranks 4-5 may hold a lower one (retrieval.py: reserved ranks)
    page: int | None = None  # the page it starts on, for paged formats (PDF)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Citation:
    """One numbered marker of an answer and the exact quote behind it."""

    n: int
    doc_id: str
    title: str
    section: str
    start: int
    end: int
    quote: str
    page: int | None = None  # the page the quote starts on, for paged formats (PDF), as a viewer counts it
    page_label: str | None = None  # the number printed on that page, when known ("iv", "12")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """An extractive answer: every claim carries a marker that points at a Citation."""

    question: str
    answered: bool
    text: str
    citations: tuple[Citation, ...] = ()
    passages: tuple[Passage, ...] = ()
    references: tuple[dict[str, Any], ...] = field(default=())
    # The index generation the answer came from: its citations index into the documents as that
    # generation holds them (GET /api/documents/{id}?generation=… returns that text).
    generation: str = ""
    # How sure the coverage model is (0-1) that the documents answer: ``min_confidence`` is set
    # against it (0.5 is where the fit put the line). None when no question was read (a filter
    # that matched no document).
    confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answered": self.answered,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "text": self.text,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "references": [dict(r) for r in self.references],
            "generation": self.generation,
        }
