"""Coverage: does the corpus answer the question, or does the answer say it does not?

The question-level features (``scoring.COVERAGE_FEATURES``) are placed so that they mean the
same on any corpus: probabilities from the evidence model, shares of the question's own terms
and names, and the question's topicality in standard deviations of the corpus's own sentences
(``CorpusProfile``, measured once per loaded index). The fitted coverage model turns them into a
confidence; below ``min_confidence`` the answer refuses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .candidates import EVIDENCE_FEATURES, Candidates
from .lexical import LexicalIndex
from .question import Question, key_terms
from .scoring import Scores

PROFILE_SAMPLE = 50_000  # sentences enough to place the centroid and its spread
NO_VERIFIER = -10.0  # the verifier's logit for a question with no candidate to read


@dataclass(frozen=True)
class CorpusProfile:
    """What the corpus as a whole is about: its mean sentence direction, and how close its own
    sentences come to it (mean and spread), so a question's closeness reads on that scale."""

    centroid: np.ndarray  # unit vector
    mean: float
    std: float

    @classmethod
    def measure(cls, sentence_vectors: np.ndarray) -> "CorpusProfile":
        n = len(sentence_vectors)
        if n == 0:
            return cls(np.zeros(sentence_vectors.shape[1] if sentence_vectors.ndim == 2 else 0, np.float32), 0.0, 1.0)
        rows = np.arange(n) if n <= PROFILE_SAMPLE else np.random.default_rng(0).choice(n, PROFILE_SAMPLE, replace=False)
        sample = np.asarray(sentence_vectors[np.sort(rows)], dtype=np.float32)
        centroid = sample.mean(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
        sims = sample @ centroid
        return cls(centroid.astype(np.float32), float(sims.mean()), max(float(sims.std()), 1e-3))

    def topicality(self, vector: np.ndarray) -> float:
        return (float(vector @ self.centroid) - self.mean) / self.std if len(vector) else 0.0


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def features(
    question: Question,
    vector: np.ndarray,
    candidates: Candidates,
    scores: Scores,
    lexical: LexicalIndex,
    profile: CorpusProfile,
    known_names: frozenset[str] = frozenset(),
) -> np.ndarray:
    """The question's row of COVERAGE_FEATURES. ``known_names`` are words a question may use to
    name a document rather than its content (its authors, its title's words)."""
    terms = sorted(key_terms(question.query))
    weights = lexical.idf(terms)
    total = sum(weights.values())
    known_terms = set(lexical.known_terms(question.query))
    known = sum(w for t, w in weights.items() if t in known_terms) / total if total > 0 else 0.0
    unknown = [n for n in question.names if n.lower() not in known_names and not lexical.known_terms(n)]
    names_unknown = len(unknown) / len(question.names) if question.names else 0.0
    if len(candidates) == 0:
        return np.array([[_logit(0.0), _logit(0.0), NO_VERIFIER, 0.0, 0.0, 0.0, known, names_unknown, 0.0,
                          float(question.asks != "other"), profile.topicality(vector)]], dtype=np.float64)
    probabilities = scores.probability
    order = np.argsort(-probabilities, kind="stable")
    best = order[0]
    top3 = order[:3]
    col = {name: candidates.features[:, i] for i, name in enumerate(EVIDENCE_FEATURES)}
    kind_unmet = question.asks != "other" and not any(col["kind_fit"][i] > 0 for i in top3)
    return np.array([[
        _logit(float(probabilities[best])), _logit(float(probabilities[top3].mean())),
        max(float(scores.verifier.max()), NO_VERIFIER),
        float(col["cos"].max()), float(col["terms"][best]), float(col["terms_passage"].max()), known, names_unknown,
        float(col["names"][best]), float(kind_unmet), profile.topicality(vector),
    ]], dtype=np.float64)
