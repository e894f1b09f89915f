"""The dense side: a FAISS inner-product index over unit-length vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def build(vectors: np.ndarray):
    """An exact inner-product index (cosine, since vectors are unit length)."""
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def save(index, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def load(path: Path):
    import faiss

    # Memory-map where FAISS allows it: start-up does not read the whole file.
    try:
        return faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    except RuntimeError:
        return faiss.read_index(str(path))


def all_vectors(index) -> np.ndarray:
    """Every stored vector, in row order (to reuse them in the next generation)."""
    if index.ntotal == 0:
        return np.zeros((0, index.d), dtype=np.float32)
    return index.reconstruct_n(0, index.ntotal)


def search(index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, rows) of the ``k`` nearest rows for one query vector."""
    k = min(k, index.ntotal)
    if k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    scores, rows = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
    keep = rows[0] >= 0
    return scores[0][keep], rows[0][keep]


def reconstruct(index, rows: np.ndarray) -> np.ndarray:
    """The stored vectors of ``rows`` (exact for flat indexes)."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        return np.zeros((0, index.d), dtype=np.float32)
    return index.reconstruct_batch(rows)
