"""The dense index: exact below the size threshold, HNSW above; exact vectors either way."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from assistant import vectors


def unit_vectors(n: int, d: int = 32, seed: int = 0, clusters: int = 20) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d))
    x = centres[rng.integers(0, clusters, n)] + 0.5 * rng.standard_normal((n, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def data():
    x = unit_vectors(3000)
    return x[:2900], x[2900:]


def test_small_collections_are_exact(data):
    base, _ = data
    index = vectors.build(base)
    assert isinstance(index, faiss.IndexFlatIP)
    assert vectors.is_exact(index)


def test_large_collections_are_hnsw_and_tuned(data):
    base, _ = data
    index = vectors.build(base, exact_max_rows=1000)
    assert isinstance(index, faiss.IndexHNSWFlat)
    assert not vectors.is_exact(index)
    assert index.metric_type == faiss.METRIC_INNER_PRODUCT
    assert index.hnsw.efSearch == vectors.HNSW_EF_SEARCH


def test_module_threshold_switches_the_type(data, monkeypatch):
    base, _ = data
    monkeypatch.setattr(vectors, "EXACT_MAX_ROWS", len(base) - 1)
    assert isinstance(vectors.build(base), faiss.IndexHNSWFlat)
    monkeypatch.setattr(vectors, "EXACT_MAX_ROWS", len(base))
    assert isinstance(vectors.build(base), faiss.IndexFlatIP)


def recall_at_10(index, exact, queries) -> float:
    hits = 0
    for q in queries:
        _, want = vectors.search(exact, q, 10)
        _, got = vectors.search(index, q, 10)
        hits += len(set(want.tolist()) & set(got.tolist()))
    return hits / (10 * len(queries))


def test_hnsw_recall_against_exact(data):
    base, queries = data
    exact = vectors.build(base)
    approx = vectors.build(base, exact_max_rows=0)
    assert recall_at_10(approx, exact, queries) >= 0.95
    scores, rows = vectors.search(approx, queries[0], 5)
    assert len(rows) == 5 and np.all(np.diff(scores) <= 1e-6)
    np.testing.assert_allclose(scores, base[rows] @ queries[0], rtol=1e-5, atol=1e-6)


def test_save_load_round_trip_keeps_search_params(data, tmp_path, monkeypatch):
    base, queries = data
    approx = vectors.build(base, exact_max_rows=0)
    approx.hnsw.efSearch = 3  # a stale value in the file is replaced by the module's on load
    vectors.save(approx, tmp_path / "vectors.faiss")
    loaded = vectors.load(tmp_path / "vectors.faiss")
    assert isinstance(loaded, faiss.IndexHNSWFlat)
    assert loaded.hnsw.efSearch == vectors.HNSW_EF_SEARCH
    assert loaded.ntotal == len(base)
    exact = vectors.build(base)
    assert recall_at_10(loaded, exact, queries) >= 0.95
    monkeypatch.setattr(vectors, "HNSW_EF_SEARCH", 77)
    assert vectors.load(tmp_path / "vectors.faiss").hnsw.efSearch == 77


def test_exact_round_trip(data, tmp_path):
    base, queries = data
    vectors.save(vectors.build(base), tmp_path / "vectors.faiss")
    loaded = vectors.load(tmp_path / "vectors.faiss")
    assert isinstance(loaded, faiss.IndexFlatIP)
    _, rows = vectors.search(loaded, queries[0], 10)
    np.testing.assert_array_equal(rows, np.argsort(-(base @ queries[0]), kind="stable")[:10])


@pytest.mark.parametrize("exact_max_rows", [None, 0])
def test_vectors_come_back_exactly(data, tmp_path, exact_max_rows):
    base, _ = data
    vectors.save(vectors.build(base, exact_max_rows=exact_max_rows), tmp_path / "v.faiss")
    index = vectors.load(tmp_path / "v.faiss")
    np.testing.assert_array_equal(vectors.all_vectors(index), base)
    rows = np.array([7, 0, 2899, 7, 123])
    np.testing.assert_array_equal(vectors.reconstruct(index, rows), base[rows])
    assert vectors.reconstruct(index, np.array([], dtype=np.int64)).shape == (0, base.shape[1])


@pytest.mark.parametrize("exact_max_rows", [None, 0])
def test_empty_and_short_collections(exact_max_rows):
    empty = vectors.build(np.zeros((0, 16), dtype=np.float32), exact_max_rows=exact_max_rows)
    assert vectors.all_vectors(empty).shape == (0, 16)
    scores, rows = vectors.search(empty, np.ones(16, dtype=np.float32), 5)
    assert len(scores) == len(rows) == 0
    few = unit_vectors(3, d=16)
    index = vectors.build(few, exact_max_rows=exact_max_rows)
    _, rows = vectors.search(index, few[1], 10)
    assert sorted(rows.tolist()) == [0, 1, 2] and rows[0] == 1


def test_search_leaves_the_thread_count_alone(data):
    base, queries = data
    before = faiss.omp_get_max_threads()
    vectors.search(vectors.build(base), queries[0], 3)
    assert faiss.omp_get_max_threads() == before
