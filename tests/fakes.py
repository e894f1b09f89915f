"""A deterministic stand-in for the embedding model, for fast unit tests.

Each word is hashed to a few signed dimensions, so texts that share words have
a positive cosine and the same text always gives the same vector.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np


class HashEncoder:
    name = "test/hash-encoder"
    dim = 64
    max_tokens = 256

    def __init__(self) -> None:
        self.calls: list[int] = []  # how many texts each encode call got

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            h = hashlib.blake2b(word.encode(), digest_size=8).digest()
            for i in range(3):
                v[h[i] % self.dim] += 1.0 if h[i + 3] % 2 else -1.0
        norm = float(np.linalg.norm(v))
        return v / norm if norm else v

    def encode(self, texts: Sequence[str], *, progress=False) -> np.ndarray:
        self.calls.append(len(texts))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.stack([self._vector(t) for t in texts])
        if callable(progress):  # as the real encoders do, one batch at a time
            for at in range(0, len(texts), 64):
                progress(min(64, len(texts) - at))
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        # About 1.3 wordpieces a word, plus [CLS] and [SEP].
        return [int(len(t.split()) * 1.3) + 2 for t in texts]


class OverlapVerifier:
    """A deterministic stand-in for the answer verifier: the share of the question's words the
    quote holds, as a logit (unit tests with the hash encoder need no cross-encoder)."""

    def logits(self, question: str, quotes: Sequence[str]) -> np.ndarray:
        words = set(re.findall(r"\w+", question.lower()))
        out = []
        for q in quotes:
            found = set(re.findall(r"\w+", q.lower()))
            out.append(4.0 * len(words & found) / max(1, len(words)) - 2.0)
        return np.asarray(out, dtype=np.float32)
