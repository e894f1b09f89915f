"""Hybrid retrieval over one generation: dense, lexical and document signals, fused.

For a question, candidates are the union of FAISS's nearest passages and
BM25's best passages. Each candidate gets

* dense   = (1 - σ) · cos(question, passage) + σ · max cos(question, sentence in passage)
  (the best single sentence catches a paraphrased one-sentence answer that a
  long passage vector dilutes);
* lexical = BM25 of the passage (English stems, stop words and question words removed);
* doc     = BM25 of the whole document (names and places that the passage itself omits).

Each is divided by its best value over the candidates, and
``score = (1 - λ) · dense + λ · lexical + γ · doc``. σ, λ and γ were chosen on
the "tune" questions with benchmarks/tune_retrieval.py (see BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import vectors
from .lexical import LexicalIndex

SENTENCE_WEIGHT = 0.5  # σ
LEXICAL_WEIGHT = 0.4  # λ
DOCUMENT_WEIGHT = 0.1  # γ
CANDIDATES = 100  # from each side, before fusion


@dataclass(frozen=True)
class FusionSettings:
    sentence_weight: float = SENTENCE_WEIGHT
    lexical_weight: float = LEXICAL_WEIGHT
    document_weight: float = DOCUMENT_WEIGHT
    candidates: int = CANDIDATES


@dataclass(frozen=True)
class Hit:
    """A fused hit with its component scores (abstention and evidence need them)."""

    row: int
    score: float
    dense: float  # σ-mixed cosine, before normalization
    lexical: float  # raw BM25 of the passage
    best_sentence: int  # row of the passage's sentence closest to the question (-1: none)
    sentence_cos: float


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
    ) -> None:
        self.dense_index = dense_index
        self.lexical = lexical
        self.doc_lexical = doc_lexical
        self.passage_doc = passage_doc
        self.sentence_vectors = sentence_vectors
        self.sentence_ranges = sentence_ranges
        self.n = len(passage_doc)
        self.n_docs = int(passage_doc.max()) + 1 if self.n else 0

    def search(
        self,
        query_vector: np.ndarray,
        query: str,
        k: int,
        settings: FusionSettings = FusionSettings(),
        allowed: np.ndarray | None = None,
    ) -> list[Hit]:
        """The best ``k`` passage rows; ``allowed`` is an optional boolean mask of rows to consider."""
        if self.n == 0 or k <= 0:
            return []
        q = np.ascontiguousarray(query_vector, dtype=np.float32).reshape(-1)
        lexical_all = self.lexical.scores(query, self.n)
        want = max(settings.candidates, k)
        if allowed is not None:
            # A filter can exclude most rows: look further on the dense side.
            want = self.n if self.n <= 50_000 else min(self.n, want * 20)
        _, d_rows = vectors.search(self.dense_index, q, want)
        l_rows = np.argsort(-lexical_all)[:want]
        l_rows = l_rows[lexical_all[l_rows] > 0]
        cands = np.union1d(d_rows, l_rows).astype(np.int64)
        if allowed is not None:
            cands = cands[allowed[cands]]
        if len(cands) == 0:
            return []

        passage_cos = vectors.reconstruct(self.dense_index, cands) @ q
        sent_cos = np.full(len(cands), -1.0, dtype=np.float32)
        best_sent = np.full(len(cands), -1, dtype=np.int64)
        for i, row in enumerate(cands):
            a, b = self.sentence_ranges[row]
            if b > a:
                sims = self.sentence_vectors[a:b] @ q
                j = int(np.argmax(sims))
                sent_cos[i], best_sent[i] = sims[j], a + j
        sent_cos = np.where(best_sent >= 0, sent_cos, passage_cos)
        dense = (1 - settings.sentence_weight) * passage_cos + settings.sentence_weight * sent_cos
        lexical = lexical_all[cands]
        doc_scores = self.doc_lexical.scores(query, self.n_docs)[self.passage_doc[cands]]
        fused = (
            (1 - settings.lexical_weight) * _scaled(dense)
            + settings.lexical_weight * _scaled(lexical)
            + settings.document_weight * _scaled(doc_scores)
        )
        order = np.lexsort((cands, -fused))[:k]  # ties broken by row: deterministic
        return [
            Hit(int(cands[i]), float(fused[i]), float(dense[i]), float(lexical[i]), int(best_sent[i]), float(sent_cos[i]))
            for i in order
        ]
