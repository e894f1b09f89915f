"""Hybrid retrieval: dense (FAISS) and lexical (BM25) scores, fused.

Fusion is a convex combination of the two scores, each scaled to [0, 1] over
the candidate set: dense cosine by the best candidate's cosine, BM25 by the best
candidate's BM25. The weight was chosen on labelled questions (see
docs/ARCHITECTURE.md and BENCHMARKS.md); reciprocal-rank fusion is kept as an
option because it was the baseline it beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import vectors
from .lexical import LexicalIndex

DENSE_WEIGHT = 0.6  # measured default; see BENCHMARKS.md "Fusion"
RRF_K = 60
CANDIDATES = 100  # from each side, before fusion


@dataclass(frozen=True)
class Hit:
    """A fused hit with both component scores (abstention needs them)."""

    row: int
    score: float
    dense: float  # cosine similarity
    lexical: float  # raw BM25


@dataclass(frozen=True)
class FusionSettings:
    method: str = "convex"  # "convex" | "rrf" | "dense" | "lexical"
    dense_weight: float = DENSE_WEIGHT
    candidates: int = CANDIDATES


def fuse(
    dense_scores: np.ndarray,
    lexical_scores: np.ndarray,
    candidates: np.ndarray,
    settings: FusionSettings,
) -> np.ndarray:
    """Fused scores for ``candidates`` (row numbers), higher is better."""
    d = dense_scores[candidates].astype(np.float64)
    l = lexical_scores[candidates].astype(np.float64)
    if settings.method == "dense":
        return d
    if settings.method == "lexical":
        return l
    if settings.method == "rrf":
        d_rank = np.argsort(np.argsort(-d))
        l_rank = np.argsort(np.argsort(-l))
        lexical_part = np.where(l > 0, 1.0 / (RRF_K + 1 + l_rank), 0.0)
        return 1.0 / (RRF_K + 1 + d_rank) + lexical_part
    d_norm = np.clip(d, 0, None) / max(float(d.max()), 1e-9)
    l_norm = l / max(float(l.max()), 1e-9)
    w = settings.dense_weight
    return w * d_norm + (1 - w) * l_norm


class Retriever:
    """Searches one loaded generation; holds no state between queries."""

    def __init__(self, dense_index, lexical: LexicalIndex, n: int) -> None:
        self.dense_index = dense_index
        self.lexical = lexical
        self.n = n

    def search(
        self,
        query_vector: np.ndarray,
        query: str,
        k: int,
        settings: FusionSettings = FusionSettings(),
        allowed: np.ndarray | None = None,
    ) -> list[Hit]:
        """The best ``k`` rows; ``allowed`` is an optional boolean mask of rows to consider."""
        if self.n == 0 or k <= 0:
            return []
        lexical_scores = self.lexical.scores(query, self.n)
        want = max(settings.candidates, k)
        if allowed is not None:
            # A filter can exclude most rows: ask FAISS for everything on small indexes.
            want = self.n if self.n <= 50_000 else min(self.n, want * 20)
        d_scores, d_rows = vectors.search(self.dense_index, query_vector, want)
        dense_scores = np.full(self.n, -1.0, dtype=np.float32)
        dense_scores[d_rows] = d_scores
        l_rows = np.argsort(-lexical_scores)[:want]
        l_rows = l_rows[lexical_scores[l_rows] > 0]
        candidates = np.union1d(d_rows, l_rows).astype(np.int64)
        if allowed is not None:
            candidates = candidates[allowed[candidates]]
        if len(candidates) == 0:
            return []
        # Rows only the lexical side found still need a dense score to be fused fairly.
        missing = candidates[dense_scores[candidates] < -0.5]
        if len(missing):
            stored = self.dense_index.reconstruct_batch(missing) if hasattr(self.dense_index, "reconstruct_batch") else None
            if stored is not None:
                dense_scores[missing] = stored @ query_vector.reshape(-1)
        fused = fuse(dense_scores, lexical_scores, candidates, settings)
        order = np.lexsort((candidates, -fused))[:k]  # ties broken by row: deterministic
        return [
            Hit(int(candidates[i]), float(fused[i]), float(dense_scores[candidates[i]]), float(lexical_scores[candidates[i]]))
            for i in order
        ]
