"""BM25 over passages with bm25s: English stop words removed, Snowball stems."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from .sentences import SUPERSCRIPT_DIGITS

SETTINGS = {"library": "bm25s", "method": "lucene", "k1": 1.2, "b": 0.75, "stopwords": "en+question-words", "stemmer": "english",
            "underscore": "separates"}


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer(SETTINGS["stemmer"])


# Words that shape a question but say nothing of its topic; bm25s's English list lacks them.
QUESTION_WORDS = (
    "what whats which who whom whose when where why how does do did doing done can could should would "
    "will shall may might must many much according say says said tell explain describe give list "
    "kind kinds type types way ways there their them they its it also any some"
).split()


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN) | frozenset(QUESTION_WORDS)


# bm25s's own token pattern. Tokenizing here gives exactly bm25s.tokenize's stems (checked
# on the corpus by a test) at a tenth of the cost: answers tokenize every candidate sentence.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


# Typographic ligatures that PDF text layers keep ("beneﬁts"): one code point where the words
# have two or three letters, so neither BM25 nor the encoder's wordpieces would match them.
# A raised footnote number ("counties¹²") is no part of the word it follows: matched as a space.
_SPELT_OUT = {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"} | dict.fromkeys(SUPERSCRIPT_DIGITS, " ")
_LIGATURES = str.maketrans(_SPELT_OUT)
_FOR_TOKENS = str.maketrans({**_SPELT_OUT, "_": " "})  # one pass for BM25: ligatures, and underscores as spaces


def matching_text(text: str) -> str:
    """The text as it is matched (tokenized, embedded, verified): ligatures spelt out, raised
    footnote numbers set apart. Quotes and spans always come from the document's own text."""
    return text.translate(_LIGATURES)


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased word stems without stop words, as BM25 indexes them. An underscore separates
    words (where bm25s keeps it in one): Markdown emphasis, "_funded_", is the word "funded"."""
    stop, stem = _stopwords(), _stemmer().stemWords
    return [stem([w for w in _TOKEN.findall(text.translate(_FOR_TOKENS).lower()) if w not in stop]) for text in texts]


def content_stems(words: Sequence[str]) -> list[str | None]:
    """Per word, in order: its stem, or None for a stop word (for position-aware checks)."""
    stop = _stopwords()
    lowered = [w.lower() for w in words]
    stemmed = _stemmer().stemWords(lowered)
    return [None if w in stop else st for w, st in zip(lowered, stemmed, strict=True)]


class LexicalIndex:
    """A bm25s index whose rows line up with the passages."""

    def __init__(self, bm25) -> None:
        self._bm25 = bm25

    @classmethod
    def build(cls, texts: Sequence[str]) -> "LexicalIndex":
        import bm25s

        bm25 = bm25s.BM25(method=SETTINGS["method"], k1=SETTINGS["k1"], b=SETTINGS["b"])
        bm25.index(tokenize(texts), show_progress=False)
        return cls(bm25)

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        import bm25s

        bm25 = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
        # Plain-array views of the same mapped pages: numpy's memmap subclass costs a Python
        # call on every slice, and a question takes dozens of them.
        bm25.scores = {k: v.view(np.ndarray) if isinstance(v, np.memmap) else v for k, v in bm25.scores.items()}
        return cls(bm25)

    def known_terms(self, query: str) -> list[str]:
        vocab = self._bm25.vocab_dict
        return [t for t in tokenize([query])[0] if t in vocab]

    def frequency(self, terms: Sequence[str]) -> dict[str, int]:
        """How many rows (passages, or documents) hold each stemmed term."""
        vocab, indptr = self._bm25.vocab_dict, self._bm25.scores["indptr"]
        return {t: int(indptr[vocab[t] + 1] - indptr[vocab[t]]) if t in vocab else 0 for t in terms}

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        """BM25's inverse document frequency of each term (unknown terms: the highest)."""
        n = int(self._bm25.scores.get("num_docs", 0)) or 1
        return {t: float(np.log(1 + (n - df + 0.5) / (df + 0.5))) for t, df in self.frequency(terms).items()}

    def scores(self, query: str, n: int) -> np.ndarray:
        """BM25 score of every passage for ``query`` (zeros when no term is known)."""
        terms = self.known_terms(query)
        if not terms:
            return np.zeros(n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)
