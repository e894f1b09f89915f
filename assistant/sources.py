"""Which documents a question names: by their people ("What do Su, Jiao and Liu regard as …")
or by a source phrase ("the Shandong authors", "according to the returnee report").

Built once per loaded index from the documents' own metadata and text, so it knows the names
of whatever corpus is loaded and nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from .lexical import LexicalIndex, content_stems
from .question import Question, key_terms
from .types import Document

# A label that opens lines as "Label: …" without being anyone's name.
_LABELS = frozenset(
    "note notes source sources table figure fig chart author authors date title summary abstract keywords key "
    "question answer q a editor editors contact email phone address subject topic topics report product type version "
    "publication status category updated published disclaimer warning caution example examples update tip tips "
    "step steps section chapter part article item items definition definitions background result results conclusion "
    "conclusions method methods objective objectives purpose scope see also".split())
_TAG = re.compile(r"[A-Z][\w.’'-]*(?:[ \t]+[A-Z][\w.’'-]*){0,2}")
_CAPITAL_RUN = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:(?:of|and|for|the|on|in)\s+)*[A-Z][\w'’-]*)*")
_TITLES = frozenset("professor prof dr mr mrs ms sir president premier minister secretary dean director".split())


def speakers(text: str) -> list[str]:
    """The people a transcript lets speak, by the name the text gives them in full.

    A speaker is a tag that opens at least two turns, most of them not questions (that is the
    interviewer), and that is not a label ("Note:", "Source:"); "Zhang:" becomes "Zhang Yi", the
    first run of capitalized words holding the tag, without titles, when it has at most 3 words.
    """
    turns: dict[str, list[int]] = {}
    for line in text.splitlines():  # line by line: a regex over a whole corpus costs seconds at load
        tag, colon, said = line.strip().partition(": ")
        if colon and said.strip() and len(tag) <= 40 and _TAG.fullmatch(tag) and not (
                set(tag.lower().replace(".", " ").split()) & _LABELS):
            counts = turns.setdefault(tag, [0, 0])
            counts[0] += 1
            counts[1] += said.rstrip().endswith("?")
    found = []
    for tag, (n, asks) in turns.items():
        if n < 2 or 2 * asks >= n:
            continue
        name = tag
        for run in _CAPITAL_RUN.finditer(text):
            words = [w for w in run.group(0).split() if w.lower().rstrip(".") not in _TITLES]
            if tag.split()[-1] in words and len(tag.split()) < len(words) <= 3:
                name = " ".join(words)
                break
        found.append(name)
    return found


def name_parts(people: tuple[str, ...]) -> set[str]:
    """The parts of people's names a question may use alone: "Su Hongwen" -> {"Su", "Hongwen"};
    not a part that is an English stop word ("Will", "May") or a single letter."""
    parts = [p for a in people for p in re.findall(r"\b[A-Z][\w'’-]*", a) if len(p) > 1]
    return {p for p, stem in zip(parts, content_stems(parts), strict=True) if stem is not None}


@dataclass(frozen=True)
class Scope:
    """Where a question's answer may come from, as its own words say."""

    documents: np.ndarray | None  # boolean mask of document rows it names (None: any)
    doc_query: str | None  # what the document-level BM25 reads, when a source phrase fits several documents


class SourceIndex:
    def __init__(self, documents: dict[str, Document], doc_lexical: LexicalIndex) -> None:
        self.doc_ids = list(documents)
        self.people = {d.doc_id: tuple(d.authors) + tuple(speakers(d.text)) for d in documents.values()}
        self.doc_lexical = doc_lexical
        # Each part of a person's name -> the document rows it names. Not a part that the texts of
        # several documents hold: an author "Shanghai Daily" must not claim every question on Shanghai.
        parts: dict[str, set[int]] = {}
        for row, d in enumerate(documents.values()):
            for part in name_parts(self.people[d.doc_id]):
                parts.setdefault(part, set()).add(row)
        stems = {p: key_terms(p) for p in parts}
        spread = doc_lexical.frequency(sorted({t for ts in stems.values() for t in ts}))
        self.author_parts = {p: rows for p, rows in parts.items() if all(spread[t] <= 1 for t in stems[p])}
        # Words a question may use to name a document rather than its content: known, so that
        # such a question is not refused for naming something the corpus never mentions.
        self.known_names = frozenset(
            w.lower() for d in documents.values()
            for w in re.findall(r"[\w’'-]+", " ".join([d.title, *self.people[d.doc_id], d.source])))

    def resolve(self, question: Question) -> tuple[Question, Scope]:
        """The documents the question names, and its focus without the names of their people
        (names say which document, not which passage), unless it asks about those people."""
        counts: dict[int, int] = {}
        for name in question.names:
            for row in self.author_parts.get(name, ()):
                counts[row] = counts.get(row, 0) + 1
        if counts:
            most = max(counts.values())
            best = [row for row, c in counts.items() if c == most]
            if len(best) == 1:  # a tie names none: the question may compare two texts
                mask = np.zeros(len(self.doc_ids), dtype=bool)
                mask[best[0]] = True
                return self._without_people(question, self.people[self.doc_ids[best[0]]]), Scope(mask, None)
        if question.source and key_terms(question.source):
            fits = self.doc_lexical.scores(question.source, len(self.doc_ids)) > 0
            if fits.sum() == 1:
                return question, Scope(fits, None)
            if fits.any():
                return question, Scope(None, question.source)
        return question, Scope(None, None)

    def _without_people(self, question: Question, people: tuple[str, ...]) -> Question:
        """Without the run of ``people``'s names ("by Su, Jiao and Liu", "Pang Jiaping's"), whole
        even when a part is too common to name the document alone."""
        if question.about_authors:
            return question
        parts = name_parts(people)
        names = [re.escape(n) for n in question.names if n in parts]
        run = re.compile(rf"(?:\b(?:by|from)\s+)?(?:\b(?:{'|'.join(names)})\b(?:['’]s)?[\s,]*(?:and\s+)?)+")
        focus = " ".join(run.sub(" ", question.focus).split())
        return replace(question, focus=focus) if len(key_terms(focus)) >= 2 else question
