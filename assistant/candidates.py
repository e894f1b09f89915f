"""Candidates: the sentences an answer may quote, each with the features the scorer reads.

For a parsed ``Question`` and the retrieval hits, the candidates are the quotable sentences
of the best passages (an interviewer's question, a table row, a footnote or a reference line
is never one). Each gets a row of ``EVIDENCE_FEATURES``: every feature means the same on any
corpus (a cosine, a share of the question's words, a rank), so that one model fitted on
several corpora can weigh them (``scoring.py``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .lexical import LexicalIndex
from .question import Question, key_terms, ranks_first
from .retrieval import Hit
from .sentences import LIST_ITEM
from .types import Document, Passage

EVIDENCE_FEATURES = (
    "cos",  # cosine of the question's focus and the sentence
    "cos_gap",  # that cosine minus the best candidate's (0 for the best)
    "passage_score",  # its passage's fused retrieval score over the best passage's
    "passage_rank",  # 1 / (1 + its passage's rank)
    "terms",  # IDF-weighted share of the question's terms in the sentence
    "terms_context",  # … in the sentence, the one before it and its section's title
    "terms_passage",  # … in its passage
    "kind_fit",  # it holds the kind of answer asked for (a figure, a date, a name, a reason, a definition)
    "asks_kind",  # the question asks for one of those kinds
    "names",  # share of the question's names found around the sentence (1 when it names none)
    "figures",  # share of the question's figures found around it (1 when it states none)
    "years",  # share of the question's years found around it (1 when it states none)
    "length",  # log of its length
    "leans_back",  # it opens with a pronoun or connective, so its quote takes the sentence before
    "byline",  # the question asks about authors and the sentence names its document's people
    "ranks_first",  # the question asks what ranks first ("the main obstacle") and the sentence ranks something
)


@dataclass(frozen=True)
class Library:
    """The loaded index as the answer stage reads it (built once per generation by ``Assistant``)."""

    documents: dict[str, Document]
    passages: list[Passage]
    sentences: list[tuple[int, int, int]]  # (passage row, start, end) per sentence row
    sentence_ranges: np.ndarray  # (passages, 2): first sentence row, end row
    sentence_vectors: np.ndarray  # unit vectors, one row per sentence
    quotable: np.ndarray  # per sentence row: may be quoted (not a question, table row, footnote …)
    lexical: LexicalIndex  # passage BM25: the corpus's vocabulary and IDF
    people: dict[str, tuple[str, ...]]  # per document: its authors and the speakers of a transcript


@dataclass(frozen=True)
class Candidate:
    """A sentence that may be quoted; its quote is ``quote_start:quote_end``: the sentence before
    it too when it leans on it, and what it introduces when it ends in a colon."""

    row: int  # sentence row
    passage_row: int
    doc_id: str
    start: int
    end: int
    quote_start: int
    rank: int  # its passage's rank in the retrieval hits
    quote_end: int


@dataclass(frozen=True)
class Candidates:
    items: tuple[Candidate, ...]
    features: np.ndarray  # (len(items), len(EVIDENCE_FEATURES))
    vectors: np.ndarray  # the sentences' unit vectors, for telling repeated points apart
    sentences: tuple[str, ...] = ()  # each one's own text, text[start:end]: what the verifier reads

    def __len__(self) -> int:
        return len(self.items)

    def column(self, name: str) -> np.ndarray:
        return self.features[:, EVIDENCE_FEATURES.index(name)]


# ---------------------------------------------------------------- what a sentence holds

_MONTH = r"(january|february|march|april|may|june|july|august|september|october|november|december)"
_HOLDS = {
    "number": re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty"
                         r"|fifty|hundred|thousand|million|billion|trillion|dozen|half|third|quarter|percent|double|twice"
                         r"|triple)\b", re.I),
    "date": re.compile(rf"\b(1[5-9]\d\d|20\d\d)s?\b|\b{_MONTH}\b|\b(century|decade|since|ago|until)\b", re.I),
    "person": re.compile(r"(?<![.!?]\s)(?<!^)\b(?-i:[A-Z][a-z]+)\s+(?-i:[A-Z][a-z]+)\b|\b(Mr|Mrs|Ms|Dr|Prof|Professor)\b"),
    "place": re.compile(r"\b(in|from|to|at|across|near|of)\s+(the\s+)?(?-i:[A-Z][a-z]+)"),
    "reason": re.compile(r"\b(because|due to|owing to|as a result|result(s|ed)? (from|in)|lead(s|ing)? to|led to|caus(e|es|ed)"
                         r"|since|so that|in order to|therefore|thus|hence|reasons?|driven by|thanks to|stems? from)\b", re.I),
    "definition": re.compile(r"\b(is|are|was|were) (a|an|the)\b|\b(refers? to|means|is defined as|defined as|known as"
                             r"|is called|are called|consists? of)\b", re.I),
}
# A sentence whose subject is a pronoun in its first few words ("In 2016 it was …") or that
# opens with a connective needs the sentence before it to be understood.
_LEANS_BACK = re.compile(
    r"^(?:[\w’'-]+[\s,]+){0,3}?(it|this|these|that|those|they|such|he|she|its|their)\b"
    r"|^(therefore|thus|hence|however|moreover|meanwhile|then|also)\b", re.I)


def holds_kind(text: str, kind: str) -> bool:
    pattern = _HOLDS.get(kind)
    return pattern is not None and pattern.search(text) is not None


def leans_back(sentence: str) -> bool:
    return _LEANS_BACK.match(sentence) is not None


# A sentence that ends in a colon ("… define five discharge statuses:") says nothing until what it
# introduces: the next sentence, and the list items after it.
MAX_INTRODUCED = 800  # characters: the longest quote an introducing sentence grows to


def leans_forward(sentence: str) -> bool:
    return sentence.rstrip().endswith(":")


def introduced_end(text: str, sentences: Sequence[tuple[int, int, int]], quotable: np.ndarray, row: int,
                   following: Sequence[int], quote_start: int) -> int:
    """Where the quote of sentence ``row``, which ends in a colon, ends: after the next sentence and
    the list items that follow it (``following``: the sentence rows after it, in document order),
    within MAX_INTRODUCED characters, and never over a sentence that may not be quoted (a table
    row, a footnote) or over text that is no sentence (a heading)."""
    end = sentences[row][2]
    for n, nxt in enumerate(following):
        _, s, e = sentences[nxt]
        if (not quotable[nxt] or text[end:s].strip() or e - quote_start > MAX_INTRODUCED
                or (n > 0 and not LIST_ITEM.match(text[s:e]))):
            break
        end = e
    return end


def following_rows(library: "Library", passage_row: int, row: int) -> list[int]:
    """The sentence rows after ``row`` in document order: the rest of its passage, then the next
    passage's when that passage follows in the same document (a list often starts one)."""
    b = int(library.sentence_ranges[passage_row][1])
    rows = list(range(row + 1, b))
    nxt = passage_row + 1
    here = library.passages[passage_row]
    if nxt < len(library.passages):
        after = library.passages[nxt]
        if after.doc_id == here.doc_id and after.start >= here.end:
            c, d = (int(x) for x in library.sentence_ranges[nxt])
            rows += range(c, d)
    return rows


def term_share(weights: dict[str, float], text: str) -> float:
    """IDF-weighted share of the question's terms (``weights``) that ``text`` holds."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    found = key_terms(text)
    return sum(w for t, w in weights.items() if t in found) / total


def name_found(name: str, text: str) -> bool:
    """Whether ``text`` names ``name``, in any case and in a derived form ("China" in "Chinese")."""
    stem = name[: max(4, len(name) - 3)] if len(name) > 4 else name
    return re.search(rf"\b{re.escape(stem)}", text, re.I) is not None


def share_found(items: Sequence[str], text: str, find=None) -> float:
    if not items:
        return 1.0
    find = find or (lambda x, t: x in t)
    return sum(1 for x in items if find(x, text)) / len(items)


def names_a_person(sentence: str, people: Sequence[str]) -> bool:
    """The sentence names one of its document's people: a byline, a bio, an introduction."""
    return any(len(p) > 3 and p in sentence for p in people)


# ---------------------------------------------------------------- gathering


def gather(
    question: Question,
    vector: np.ndarray,
    hits: Sequence[Hit],
    library: Library,
    passages: int,
    sims: Sequence[np.ndarray] | None = None,
) -> Candidates:
    """The quotable sentences of the first ``passages`` hits, with their features.

    ``vector`` is the question's focus vector; ``sims`` the cosine of each hit's sentences with
    it when retrieval already computed them (None: computed here, as for a follow-up, whose
    retrieval vector carries the conversation).
    """
    hits = list(hits[:passages])
    if not hits:
        return Candidates((), np.zeros((0, len(EVIDENCE_FEATURES)), np.float32), np.zeros((0, len(vector)), np.float32))
    weights = library.lexical.idf(sorted(key_terms(question.focus)))
    top = max(hits[0].score, 1e-9)
    items: list[Candidate] = []
    texts: list[str] = []
    rows: list[list[float]] = []
    vecs: list[np.ndarray] = []
    for rank, hit in enumerate(hits):
        a, b = (int(x) for x in library.sentence_ranges[hit.row])
        if b <= a:
            continue
        passage = library.passages[hit.row]
        text = library.documents[passage.doc_id].text
        svecs = np.asarray(library.sentence_vectors[a:b], dtype=np.float32)
        cos = sims[rank] if sims is not None and len(sims[rank]) == b - a else svecs @ vector
        passage_terms = term_share(weights, passage.text)
        people = library.people.get(passage.doc_id, ())
        for i, srow in enumerate(range(a, b)):
            if not library.quotable[srow]:
                continue
            _, s, e = library.sentences[srow]
            sentence = text[s:e]
            back = srow > a and leans_back(sentence)
            quote_start = library.sentences[srow - 1][1] if back else s
            quote_end = (introduced_end(text, library.sentences, library.quotable, srow,
                                        following_rows(library, hit.row, srow), quote_start)
                         if leans_forward(sentence) else e)
            before = text[library.sentences[srow - 1][1] : s] if srow > a else ""
            context = f"{passage.section}\n{before}{sentence}"
            around = text[max(passage.start, s - 400) : e]  # where a figure's subject is often named
            items.append(Candidate(srow, hit.row, passage.doc_id, s, e, quote_start, rank, quote_end))
            texts.append(sentence)
            vecs.append(svecs[i])
            rows.append([
                float(cos[i]), 0.0, hit.score / top, 1.0 / (1 + rank),
                term_share(weights, sentence), term_share(weights, context), passage_terms,
                float(question.asks != "other" and holds_kind(sentence, question.asks)), float(question.asks != "other"),
                share_found(question.names, around, name_found), share_found(question.figures, around),
                share_found(question.years, around), math.log1p(len(sentence) / 100), float(back),
                float(question.about_authors and names_a_person(sentence, people)),
                float(question.ranked and ranks_first(sentence)),
            ])
    if not items:
        return Candidates((), np.zeros((0, len(EVIDENCE_FEATURES)), np.float32), np.zeros((0, len(vector)), np.float32))
    features = np.asarray(rows, dtype=np.float32)
    cos_col = EVIDENCE_FEATURES.index("cos")
    features[:, EVIDENCE_FEATURES.index("cos_gap")] = features[:, cos_col] - features[:, cos_col].max()
    return Candidates(tuple(items), features, np.asarray(vecs, dtype=np.float32), tuple(texts))
