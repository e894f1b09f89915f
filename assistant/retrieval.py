"""Hybrid retrieval over one generation: dense, lexical and document signals, fused.

For a question, candidates are the union of FAISS's nearest passages and
BM25's best passages. Each candidate gets

* dense   = (1 - σ) · cos(question, passage) + σ · max cos(question, sentence in passage)
  (the passage vector is the length-weighted mean of its sentences' vectors,
  see indexing._passage_vectors; the best single sentence catches a
  paraphrased one-sentence answer that the mean dilutes; a sentence that asks,
  such as an interviewer's question, never counts as the best one);
* lexical = BM25 of the passage (English stems, stop words and question words removed);
* doc     = BM25 of the whole document (names and places that the passage itself omits).

Each is divided by its best value over the candidates, and
``score = (1 - λ) · dense + λ · lexical + γ · doc``. σ, λ and γ were chosen on
the "tune" questions with benchmarks/tune_retrieval.py (see BENCHMARKS.md).

Ranks 4 and 5 are reserved: they go to the passages holding the sentences
closest to the question (by cosine alone), unless those are already in the top
3; the fused order fills the rest. A one-sentence answer inside a passage about
something else can lose the fused ranking to passages that share more words
with the question, yet be the best sentence in the corpus. The top 3 never
change, so hit@1 cannot drop; on the labelled questions hit@5 rose from 0.937
to 0.962 (BENCHMARKS.md). Scores stay the fused scores, so a reserved passage
may show a lower score than one ranked below it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import vectors
from .lexical import LexicalIndex

SENTENCE_WEIGHT = 0.5  # σ
LEXICAL_WEIGHT = 0.3  # λ
DOCUMENT_WEIGHT = 0.1  # γ
# γ when the question names its source ("the Chengdu paper") and that fits several documents:
# the document-level BM25 then sees only those words (BENCHMARKS.md: 0.2-1.0 tried, 0.5 kept).
SOURCE_DOCUMENT_WEIGHT = 0.5
CANDIDATES = 100  # from each side, before fusion
FUSED_HEAD = 3  # ranks taken by the fused order before the reserved ones
SENTENCE_SLOTS = 2  # ranks after the head reserved for the best-sentence passages


@dataclass(frozen=True)
class FusionSettings:
    sentence_weight: float = SENTENCE_WEIGHT
    lexical_weight: float = LEXICAL_WEIGHT
    document_weight: float = DOCUMENT_WEIGHT
    candidates: int = CANDIDATES
    sentence_slots: int = SENTENCE_SLOTS


@dataclass(frozen=True)
class Hit:
    """A fused hit with its component scores (abstention and evidence need them)."""

    row: int
    score: float
    dense: float  # σ-mixed cosine, before normalization
    lexical: float  # raw BM25 of the passage
    best_sentence: int  # row of the passage's sentence closest to the question (-1: none)
    sentence_cos: float
    # The cosine of each of the passage's sentences, in order: the answer's evidence reuses
    # them rather than scoring the same sentences against the same vector again.
    sentence_sims: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32), compare=False)


def _segment_argmax(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Index (into ``values``) of the first maximum of each consecutive segment; lengths > 0."""
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    peaks = np.maximum.reduceat(values, starts)
    segment = np.repeat(np.arange(len(lengths)), lengths)
    at_peak = np.flatnonzero(values == peaks[segment])
    _, first = np.unique(segment[at_peak], return_index=True)
    return at_peak[first]


def _reserve_sentence_slots(order: np.ndarray, sent_cos: np.ndarray, cands: np.ndarray, slots: int) -> np.ndarray:
    """The fused order, with the ``slots`` ranks after FUSED_HEAD given to the best-sentence passages.

    Defined on the whole candidate list, so search(k=5) is always the first five of search(k=10).
    """
    if slots <= 0 or len(order) <= FUSED_HEAD:
        return order
    head = order[:FUSED_HEAD]
    # Only the best FUSED_HEAD + slots sentences can be picked: no full sort of a long list.
    need = min(len(order), FUSED_HEAD + slots)
    top = np.argpartition(-sent_cos, need - 1)[:need] if need < len(order) else np.arange(len(order))
    top = top[np.lexsort((cands[top], -sent_cos[top]))]  # best first, ties by row as in the fused order
    # A handful of indices on each side: plain comparisons (np.isin's set-up costs more here).
    held = set(head.tolist())
    picked = np.array([i for i in top.tolist() if i not in held][:slots], dtype=order.dtype)
    rest = order[FUSED_HEAD:]
    for i in picked:
        rest = rest[rest != i]
    return np.concatenate([head, picked, rest])


def _scaled(x: np.ndarray) -> np.ndarray:
    top = float(x.max()) if len(x) else 0.0
    return np.clip(x, 0, None) / top if top > 1e-9 else np.zeros_like(x)


class Retriever:
    """Searches one loaded generation; holds no per-query state, safe to share between threads."""

    def __init__(
        self,
        dense_index,
        lexical: LexicalIndex,
        doc_lexical: LexicalIndex,
        passage_doc: np.ndarray,  # document row of each passage
        sentence_vectors: np.ndarray,
        sentence_ranges: np.ndarray,  # (passages, 2): first sentence row, end row
        sentence_asks: np.ndarray | None = None,  # per sentence row: it is a question (see below)
    ) -> None:
        self.dense_index = dense_index
        self.lexical = lexical
        self.doc_lexical = doc_lexical
        self.passage_doc = passage_doc
        self.sentence_vectors = sentence_vectors
        self.sentence_ranges = sentence_ranges
        self.sentence_asks = sentence_asks
        self.n = len(passage_doc)
        self.n_docs = int(passage_doc.max()) + 1 if self.n else 0

    def search(
        self,
        query_vector: np.ndarray,
        query: str,
        k: int,
        settings: FusionSettings = FusionSettings(),
        allowed: np.ndarray | None = None,
        doc_query: str | None = None,
    ) -> list[Hit]:
        """The best ``k`` passage rows; ``allowed`` is an optional boolean mask of rows to consider.

        ``doc_query`` (default: ``query``) is the text the document-level BM25 sees: the whole
        question, when ``query`` had the words naming its source taken out.
        """
        if self.n == 0 or k <= 0:
            return []
        q = np.ascontiguousarray(query_vector, dtype=np.float32).reshape(-1)
        lexical_all = self.lexical.scores(query, self.n)
        want = max(settings.candidates, k)
        dense_want = want  # an index that filters natively (Milvus) finds the best allowed rows itself
        if allowed is not None:
            # A filter can exclude most rows: look further on the dense side.
            want = self.n if self.n <= 50_000 else min(self.n, want * 20)
            dense_want = dense_want if vectors.filters_natively(self.dense_index) else want
        _, d_rows = vectors.search(self.dense_index, q, dense_want, allowed)
        # The best `want` rows without sorting all N (at 1M passages a full sort alone is ~14 ms).
        l_rows = np.argpartition(-lexical_all, want - 1)[:want] if want < self.n else np.arange(self.n)
        l_rows = l_rows[lexical_all[l_rows] > 0]
        cands = np.union1d(d_rows, l_rows).astype(np.int64)
        if allowed is not None:
            cands = cands[allowed[cands]]
        if len(cands) == 0:
            return []

        passage_cos = vectors.reconstruct(self.dense_index, cands) @ q
        sent_cos, best_sent, sims, first_sim = self._best_sentences(cands, q)
        sent_cos = np.where(best_sent >= 0, sent_cos, passage_cos)
        dense = (1 - settings.sentence_weight) * passage_cos + settings.sentence_weight * sent_cos
        lexical = lexical_all[cands]
        doc_scores = self.doc_lexical.scores(doc_query or query, self.n_docs)[self.passage_doc[cands]]
        fused = (
            (1 - settings.lexical_weight) * _scaled(dense)
            + settings.lexical_weight * _scaled(lexical)
            + settings.document_weight * _scaled(doc_scores)
        )
        order = np.lexsort((cands, -fused))  # ties broken by row: deterministic
        order = _reserve_sentence_slots(order, sent_cos, cands, settings.sentence_slots)[:k]
        ranges = self.sentence_ranges[cands[order]]
        return [
            Hit(int(cands[i]), float(fused[i]), float(dense[i]), float(lexical[i]), int(best_sent[i]), float(sent_cos[i]),
                sims[first_sim[i] : first_sim[i] + b - a])
            for i, (a, b) in zip(order, ranges)
        ]

    def sentence_similarity(self, rows: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Cosine of each sentence row of ``rows`` with the question vector ``q``."""
        return np.asarray(self.sentence_vectors[np.asarray(rows, dtype=np.int64)], dtype=np.float32) @ q

    def _best_sentences(self, cands: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per candidate passage: the best sentence's similarity and row (-1 where it has none);
        and every candidate sentence's similarity, flat, with where each candidate's start.

        One gather and one matrix product for all candidates, instead of a loop of small ones.
        """
        sent_cos = np.full(len(cands), -1.0, dtype=np.float32)
        best = np.full(len(cands), -1, dtype=np.int64)
        first, end = self.sentence_ranges[cands, 0], self.sentence_ranges[cands, 1]
        starts = np.concatenate(([0], np.cumsum(end - first)[:-1])).astype(np.int64)
        has = end > first
        if not has.any():
            return sent_cos, best, np.zeros(0, dtype=np.float32), starts
        first, lengths = first[has], (end - first)[has]
        rows = np.repeat(first - starts[has], lengths) + np.arange(lengths.sum())
        sims = self.sentence_similarity(rows, q)
        asked = sims
        if self.sentence_asks is not None:
            # An interviewer's question matches a user's question by its form: it may not stand
            # for its passage (labelled questions: hit@5 0.962 -> 0.975, blind 0.867 -> 0.900).
            asked = np.where(self.sentence_asks[rows], np.float32(-1.0), sims)
        top = _segment_argmax(asked, lengths)
        sent_cos[has], best[has] = asked[top], rows[top]
        return sent_cos, best, sims, starts
