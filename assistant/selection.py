"""Selection: which candidates an answer quotes, and in which order.

The best-scored candidate leads; others follow while their probability is at least
``keep_ratio`` of the best's, up to ``MAX_QUOTES`` points. A sentence saying the same as a
chosen one (cosine at least ``DUPLICATE_COS``) in another document becomes a second marker on
that point rather than a quote of its own; one that overlaps a chosen quote is skipped.
"""

from __future__ import annotations

import numpy as np

from .candidates import Candidate, Candidates

MAX_QUOTES = 4
DUPLICATE_COS = 0.9


def _overlaps(a: Candidate, b: Candidate) -> bool:
    return a.doc_id == b.doc_id and a.quote_start < b.quote_end and b.quote_start < a.quote_end


def choose(candidates: Candidates, probabilities: np.ndarray, keep_ratio: float,
           max_quotes: int = MAX_QUOTES) -> list[list[Candidate]]:
    """Points to quote, best first; each point is one candidate, or two from different
    documents that say the same thing."""
    if len(candidates) == 0:
        return []
    order = np.argsort(-probabilities, kind="stable")  # ties keep retrieval order
    best = float(probabilities[order[0]])
    points: list[list[int]] = []
    for i in order.tolist():
        if len(points) >= max_quotes or float(probabilities[i]) < keep_ratio * best:
            break
        c = candidates.items[i]
        if any(_overlaps(c, candidates.items[j]) for point in points for j in point):
            continue
        same = next((p for p in points if float(candidates.vectors[p[0]] @ candidates.vectors[i]) >= DUPLICATE_COS), None)
        if same is not None:
            if len(same) < 2 and candidates.items[same[0]].doc_id != c.doc_id:
                same.append(i)
            continue
        points.append([i])
    return [[candidates.items[i] for i in point] for point in points]


def passage_order(hit_rows: list[int], candidates: Candidates, probability: np.ndarray, k: int) -> list[int]:
    """The passages in the order of their best candidate's probability (those the verifier read),
    then the other hits in retrieval order; ``k`` of them. An answer's quoted passages come first."""
    best: dict[int, float] = {}
    for c, p in zip(candidates.items, probability.tolist(), strict=True):
        if p > 0:
            best[c.passage_row] = max(best.get(c.passage_row, 0.0), p)
    first = sorted(best, key=lambda r: -best[r])  # ties keep retrieval order
    return (first + [r for r in hit_rows if r not in best])[:k]
