"""Scores: how likely each candidate sentence is to hold the answer, and how likely the corpus
is to answer the question at all.

Three small models, fitted on pooled public data (``benchmarks/fit_answers.py``, run by
``make fit``) and read from one versioned JSON file, ``assistant/data/answer_model.json``:

* the evidence model reads each candidate's ``EVIDENCE_FEATURES`` (candidates.py): a first
  ranking of every candidate;
* the rerank model reads, for the best ``verify_top`` of them, ``RERANK_FEATURES``: the first
  ranking and the answer verifier's logit (verifier.py, a cross-encoder);
* the coverage model reads the question's ``COVERAGE_FEATURES`` (coverage.py).

Each is a standardisation followed by dense layers (ReLU between them, a logistic output):
a logistic regression is the case of one layer. Nothing here is fitted by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .candidates import EVIDENCE_FEATURES, Candidates
from .errors import AssistantError

MODEL_FILE = Path(__file__).resolve().parent / "data" / "answer_model.json"
MODEL_FORMAT = "policyqa-answer-model"
MODEL_VERSION = 1

RERANK_FEATURES = (
    "evidence",  # the evidence model's logit
    "verifier",  # the answer verifier's logit
)
COVERAGE_FEATURES = (
    "p_best",  # the rerank model's probability for the best candidate (as a logit)
    "p_top3",  # the mean of its three best probabilities (as a logit)
    "verifier_best",  # the verifier's best logit
    "cos_best",  # the best candidate's cosine
    "terms_best",  # the best candidate's share of the question's terms
    "terms_passage",  # the best passage's share of them
    "known",  # IDF-weighted share of the question's terms that the corpus holds at all
    "names_unknown",  # share of the question's names the corpus never mentions
    "names_best",  # share of its names around the best candidate
    "kind_unmet",  # it asks for a kind of answer that none of the three best candidates holds
    "topicality",  # its cosine with the corpus's mean sentence, in standard deviations of the corpus's own
)


@dataclass(frozen=True)
class Network:
    """x -> (x - mean) / scale -> dense layers -> probability."""

    mean: np.ndarray
    scale: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]  # (weights (in, out), bias (out,))

    def logit(self, x: np.ndarray) -> np.ndarray:
        h = (np.atleast_2d(np.asarray(x, dtype=np.float64)) - self.mean) / self.scale
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return h[:, 0]

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(self.logit(x), -30, 30)))

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "layers": [{"weights": w.tolist(), "bias": b.tolist()} for w, b in self.layers]}

    @classmethod
    def from_dict(cls, d: dict[str, Any], inputs: int) -> "Network":
        mean, scale = np.asarray(d["mean"], dtype=np.float64), np.asarray(d["scale"], dtype=np.float64)
        layers = tuple((np.asarray(x["weights"], dtype=np.float64), np.asarray(x["bias"], dtype=np.float64))
                       for x in d["layers"])
        width = inputs
        for w, b in layers:
            if w.shape != (width, len(b)):
                raise ValueError(f"layer of shape {w.shape} after {width} inputs")
            width = len(b)
        if mean.shape != (inputs,) or scale.shape != (inputs,) or width != 1 or not layers:
            raise ValueError("inputs or output do not match")
        return cls(mean, np.where(scale > 0, scale, 1.0), layers)


@dataclass(frozen=True)
class AnswerModel:
    evidence: Network
    rerank: Network
    coverage: Network
    verify_top: int  # the first ranking's best candidates the verifier reads
    keep_ratio: float  # further quotes need at least this share of the best quote's probability
    threshold: float  # coverage probability at which ``min_confidence`` 0.5 answers (see ``confidence``)
    fitted: dict[str, Any]  # how and on what it was fitted (shown in BENCHMARKS.md, never read by code)

    def confidence(self, coverage_features: np.ndarray) -> float:
        """The coverage probability, moved so that the fitted threshold sits at 0.5: the default
        ``min_confidence`` answers exactly where the fit chose, and a higher one refuses more."""
        p = float(self.coverage.probability(coverage_features)[0])
        t = min(max(self.threshold, 1e-6), 1 - 1e-6)
        return 0.5 * p / t if p < t else 0.5 + 0.5 * (p - t) / (1 - t)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT, "version": MODEL_VERSION,
            "evidence_features": list(EVIDENCE_FEATURES), "rerank_features": list(RERANK_FEATURES),
            "coverage_features": list(COVERAGE_FEATURES),
            "evidence": self.evidence.to_dict(), "rerank": self.rerank.to_dict(), "coverage": self.coverage.to_dict(),
            "verify_top": self.verify_top, "keep_ratio": self.keep_ratio, "threshold": self.threshold,
            "fitted": self.fitted,
        }

    def save(self, path: Path = MODEL_FILE) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)


def load_model(path: Path = MODEL_FILE) -> AnswerModel:
    """Read and check the answer model; a file from another version of the code says how to refit."""
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AssistantError(f"the answer model {path} cannot be read ({exc}): reinstall policyqa or run `make fit`") from None
    try:
        if d.get("format") != MODEL_FORMAT or d.get("version") != MODEL_VERSION:
            raise ValueError(f"format {d.get('format')!r} version {d.get('version')!r}, expected {MODEL_VERSION}")
        if (tuple(d["evidence_features"]), tuple(d["rerank_features"]), tuple(d["coverage_features"])) != (
                EVIDENCE_FEATURES, RERANK_FEATURES, COVERAGE_FEATURES):
            raise ValueError("its features are not the ones this code computes")
        return AnswerModel(
            Network.from_dict(d["evidence"], len(EVIDENCE_FEATURES)),
            Network.from_dict(d["rerank"], len(RERANK_FEATURES)),
            Network.from_dict(d["coverage"], len(COVERAGE_FEATURES)),
            int(d["verify_top"]), float(d["keep_ratio"]), float(d["threshold"]), dict(d.get("fitted", {})))
    except (KeyError, TypeError, ValueError) as exc:
        raise AssistantError(f"the answer model {path} does not fit this code ({exc}): run `make fit`") from None


@lru_cache(maxsize=1)
def default_model() -> AnswerModel:
    return load_model()


@dataclass(frozen=True)
class Scores:
    probability: np.ndarray  # per candidate: that its quote answers (0 for those the verifier did not read)
    verifier: np.ndarray  # per candidate: the verifier's logit (-inf where it did not read it)


def verified(first: np.ndarray, verifier, question: str, candidates: Candidates, top: int) -> np.ndarray:
    """The verifier's logit for the ``top`` candidates the first ranking (logits) puts first; -inf for the rest."""
    out = np.full(len(candidates), -np.inf)
    best = np.argsort(-first, kind="stable")[:top]
    if len(best):
        out[best] = verifier.logits(question, [candidates.sentences[i] for i in best])
    return out


def reranked(rerank: Network, first: np.ndarray, verifier_logits: np.ndarray) -> np.ndarray:
    """The rerank model's probability for each candidate the verifier read; 0 for the others."""
    out = np.zeros(len(first))
    read = np.isfinite(verifier_logits)
    if read.any():
        out[read] = rerank.probability(np.stack([first[read], verifier_logits[read]], axis=1))
    return out


def score(model: AnswerModel, verifier, question: str, candidates: Candidates) -> Scores:
    """Rank every candidate by the evidence model, then let the verifier read the best
    ``verify_top`` against ``question`` and the rerank model weigh both."""
    if len(candidates) == 0:
        return Scores(np.zeros(0), np.zeros(0))
    first = model.evidence.logit(candidates.features)
    logits = verified(first, verifier, question, candidates, model.verify_top)
    return Scores(reranked(model.rerank, first, logits), logits)
