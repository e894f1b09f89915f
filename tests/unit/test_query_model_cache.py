"""The ONNX query model is exported once per machine and copied into each new index."""

import json
import os

import pytest

from assistant import encoder as enc


@pytest.fixture
def exports(tmp_path, monkeypatch):
    """Stands in for the torch export (a second each): writes two small files and counts calls."""
    monkeypatch.setenv("POLICYQA_CACHE", str(tmp_path / "cache"))
    calls = []

    def fake_export(self, folder):
        calls.append(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / enc.ONNX_FILE).write_bytes(b"onnx" * 100)
        (folder / enc.ONNX_INFO).write_text(json.dumps({"model": enc.MODEL_NAME, "dim": 384, "bytes": 400}))

    monkeypatch.setattr(enc.TorchEncoder, "export_onnx", fake_export)
    return calls


def test_the_second_index_copies_the_cached_export(tmp_path, exports):
    enc.install_query_model(tmp_path / "a" / "query-model")
    enc.install_query_model(tmp_path / "b" / "query-model")
    assert len(exports) == 1
    for name in ("a", "b"):
        assert enc.has_onnx(tmp_path / name / "query-model")
    assert (tmp_path / "b" / "query-model" / enc.ONNX_FILE).read_bytes() == b"onnx" * 100
    assert not [p for p in (tmp_path / "b" / "query-model").iterdir() if p.name.startswith(".")]  # no temp files left


def test_a_truncated_cached_model_is_exported_again(tmp_path, exports):
    enc.install_query_model(tmp_path / "a" / "query-model")
    cached = enc._cached_export() / enc.ONNX_FILE
    os.unlink(cached)  # break the hard link before damaging the cached copy alone
    cached.write_bytes(b"onnx")
    assert not enc.has_onnx(enc._cached_export())
    enc.install_query_model(tmp_path / "b" / "query-model")
    assert len(exports) == 2 and enc.has_onnx(tmp_path / "b" / "query-model")


def test_an_unwritable_cache_still_gives_the_index_its_model(tmp_path, exports, monkeypatch):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("POLICYQA_CACHE", str(tmp_path / "file"))
    enc.install_query_model(tmp_path / "a" / "query-model")
    assert enc.has_onnx(tmp_path / "a" / "query-model")
