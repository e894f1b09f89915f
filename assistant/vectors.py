"""The dense side: a FAISS inner-product index over unit-length vectors.

Which index ``build`` makes is decided by the number of passages:

* up to ``EXACT_MAX_ROWS`` passages: ``IndexFlatIP``, exact;
* above it: ``IndexHNSWFlat`` (inner product, ``HNSW_M`` links per node,
  ``HNSW_EF_CONSTRUCTION``), searched with ``HNSW_EF_SEARCH``.

The reason, measured by ``benchmarks/scale.py`` on 2026-11-24 (tables in
benchmarks/results/scale.md; 2 shared cores, AMD EPYC, faiss 1.15.1; synthetic
clustered 384-d unit vectors; one query per call; recall@10 against exact):

* Exact search is linear in N: p50 3.4 ms at 50k, 9.6 ms at 100k, 116 ms at
  1M. It stays within the 10 ms per-query budget up to ~100k passages and is
  ten times over it at 1M, so exact up to 100k (recall 1, build instant).
* HNSW M=32, efConstruction=40, efSearch=128: recall@10 0.962 at 100k and
  0.982 at 1M, p50 0.95 ms and 0.54 ms (target at 1M: <= 10 ms at >= 0.95).
  Costs: build 30 s at 100k and 536 s at 1M on 2 cores (Flat: 0.3 s, 7 s);
  file 172 / 1,724 MiB against Flat's 146 / 1,465 MiB.
* Not chosen: M=16 never reached 0.95 (0.71 at efSearch=512, 100k);
  efConstruction=80 was worse than 40 on this data; M=48 matched M=32's
  latency at slightly higher recall but took twice the build time at 100k.
  IVFFlat (nlist = 4 sqrt N, spherical k-means) needed nprobe=128 for 0.965 at
  100k (p50 1.6 ms); at 1M it reached 0.993 with nprobe=8 (0.42 ms) and built
  7x faster (78 s), but only because its 4,000 lists outnumber the synthetic
  data's 2,000 clusters (at 100k, with fewer lists than clusters, it trailed
  HNSW).
* Caveat: on a harder shape (200k vectors from 20,000 clusters, so most of a
  query's top 10 are barely related points at cosine ~0.4) neither reached
  the target: HNSW 0.36 at efSearch=128 (1.0 ms), 0.42 at 256; IVF 0.45 at
  nprobe=64 (2.8 ms). The rule should be re-checked on real embeddings;
  ``HNSW_EF_SEARCH`` is the knob (256 gave 0.978 / 0.989 at 100k / 1M).
  HNSW met the target at every size and data shape tried, needs no training
  (IVF's lists are fitted to one corpus and go stale as it changes) and keeps
  exact vectors without a direct map.
* One OpenMP thread per query: with FAISS's default two, single-query exact
  search was 3-5x slower on the shared machine (100k: 32.6 vs 9.6 ms; 1M: 604
  vs 116 ms); HNSW was unaffected. Builds keep all threads.

HNSWFlat keeps the raw float32 vectors next to its graph, so ``all_vectors``
and ``reconstruct`` stay exact whichever index was built (the next
incremental build and the fusion scores read the true vectors). ``efSearch``
is written into the index file by FAISS and set again by ``load`` from the
constants here, so a saved index searches as tuned (and a retuned constant
applies to existing indexes). ``search`` asks HNSW for ``k`` rows, so a large
``k`` (the filtered path of retrieval) searches with efSearch = max(efSearch, k).
HNSW graphs built with several threads are not bit-for-bit reproducible; exact
indexes are.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np

# The rule (see the module docstring for the measured reason).
EXACT_MAX_ROWS = 100_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 128
# OpenMP threads for one query; builds keep FAISS's default (all cores).
SEARCH_THREADS = 1


def build(vectors: np.ndarray, exact_max_rows: int | None = None):
    """An inner-product index (cosine, since vectors are unit length): exact up to
    ``exact_max_rows`` rows (default ``EXACT_MAX_ROWS``), HNSW above."""
    import faiss

    limit = EXACT_MAX_ROWS if exact_max_rows is None else exact_max_rows
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if len(vectors) <= limit:
        index = faiss.IndexFlatIP(vectors.shape[1])
    else:
        index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    if len(vectors):
        index.add(vectors)
    return tune(index)


def tune(index):
    """Set the search-time parameters of an approximate index (a no-op for exact ones)."""
    import faiss

    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def is_exact(index) -> bool:
    import faiss

    return isinstance(index, faiss.IndexFlat)


def save(index, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def load(path: Path):
    import faiss

    # Memory-map where FAISS allows it: start-up does not read the whole file.
    try:
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    except RuntimeError:
        index = faiss.read_index(str(path))
    return tune(index)


def all_vectors(index) -> np.ndarray:
    """Every stored vector, in row order (to reuse them in the next generation)."""
    if index.ntotal == 0:
        return np.zeros((0, index.d), dtype=np.float32)
    return index.reconstruct_n(0, index.ntotal)


def search(index, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(scores, rows) of the ``k`` nearest rows for one query vector (approximate above EXACT_MAX_ROWS).

    ``allowed`` (a boolean mask of rows) is applied by an index that filters natively (a Milvus
    store's, ``filters_natively``); FAISS ignores it and the caller filters its rows."""
    if filters_natively(index):
        return index.search_rows(query, k, allowed)
    k = min(k, index.ntotal)
    if k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    with _threads(SEARCH_THREADS):
        scores, rows = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
    keep = rows[0] >= 0
    return scores[0][keep], rows[0][keep]


def filters_natively(index) -> bool:
    """Whether ``search`` applies a row mask itself (a Milvus store's dense side: a scalar filter)."""
    return getattr(index, "filters", False) is True


def reconstruct(index, rows: np.ndarray) -> np.ndarray:
    """The stored vectors of ``rows`` (exact for both index types: HNSWFlat stores raw vectors)."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        return np.zeros((0, index.d), dtype=np.float32)
    return index.reconstruct_batch(rows)


@contextmanager
def _threads(n: int):
    """OpenMP's thread count is per calling thread: set it for this search and restore it."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)
