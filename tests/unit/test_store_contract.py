"""One contract for every store: the folder index and a Milvus index (Milvus Lite, started here).

Build, add, remove, filters, a write that fails or dies half-way, two readers, a second writer:
each test runs on both stores with the hash encoder, and asks the same of them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant
from assistant.errors import (
    AssistantError,
    IndexBusyError,
    IndexIncompatibleError,
    IndexMissingError,
    IndexUnavailableError,
    InputError,
)

ROOT = Path(__file__).resolve().parents[2]
STORES = ["folder", "milvus-lite"]
NEW_DOC = "# New policy\n\n" + "County towns now register migrant workers as residents after one year. " * 8


@pytest.fixture(params=STORES)
def kind(request) -> str:
    return request.param


@pytest.fixture
def where(kind, tmp_path):
    """An index location of the store under test (nothing built yet)."""
    if kind == "folder":
        yield tmp_path / "index"
        return
    from assistant import locations, milvus_store

    uri = f"milvus-lite:{tmp_path / 'milvus'}"
    yield uri
    milvus_store.close(locations.parse(uri))  # its data folder's lock, its server thread


@pytest.fixture
def built(where, corpus, encoder):
    Assistant.build(corpus, where, encoder=encoder)
    return where


@pytest.fixture
def new_file(tmp_path) -> Path:
    f = tmp_path / "new.md"
    f.write_text(NEW_DOC, encoding="utf-8")
    return f


def ids(qa: Assistant) -> set[str]:
    return {d.doc_id for d in qa.documents()}


def whole(qa: Assistant) -> set[str]:
    """The documents of a loaded index, after checking that every passage is its document's span."""
    for p in qa.passages:
        assert qa.document(p.doc_id).text[p.start : p.end] == p.text
    assert len(qa.search("migrant workers hukou", k=3, rerank=False)) == 3
    return ids(qa)


def test_build_and_load(built, encoder, corpus):
    qa = Assistant.load(built, encoder=encoder)
    assert whole(qa) == {p.stem for p in corpus.glob("*.txt")}
    assert qa.manifest["counts"]["passages"] == len(qa.passages)
    assert all(info["hash"] and info["passages"] for info in qa.manifest["documents"].values())
    hits = qa.search("what obstacles block migrant citizenization?", k=5)
    assert len(hits) == 5 and hits[0].doc_id == "000_00d9ca38244840a4"
    assert qa.ask("what obstacles block migrant citizenization?").citations
    docs = qa.as_langchain_retriever(k=3, since="2020").invoke("rural pension gap")
    assert len(docs) == 3 and all(d.metadata["doc_id"] in ids(qa) for d in docs)


def test_both_stores_give_the_same_hits(corpus, encoder, tmp_path):
    """Exact search on both sides, the same rows in the same order: the same passages and scores."""
    from assistant import locations, milvus_store

    folder, lite = tmp_path / "f", f"milvus-lite:{tmp_path / 'm'}"
    Assistant.build(corpus, folder, encoder=encoder)
    Assistant.build(corpus, lite, encoder=encoder)
    try:
        a, b = Assistant.load(folder, encoder=encoder), Assistant.load(lite, encoder=encoder)
        assert [p.doc_id for p in a.passages] == [p.doc_id for p in b.passages]
        assert np.allclose(a._library.sentence_vectors, b._library.sentence_vectors)
        for q in ("what obstacles block migrant citizenization?", "rural pension gap", "returnees start businesses"):
            for filters in ({}, {"since": "2021"}, {"documents": ["002_39880fb65be5e4c4", "003_7b280bcd34d210ec"]}):
                assert a.search(q, k=8, **filters) == b.search(q, k=8, **filters), (q, filters)
            assert a.ask(q).to_dict() | {"generation": ""} == b.ask(q).to_dict() | {"generation": ""}
    finally:
        milvus_store.close(locations.parse(lite))


def test_unchanged_corpus_writes_nothing(built, corpus, encoder):
    before = Assistant.load(built, encoder=encoder).path
    encoder.calls.clear()
    report = Assistant.build(corpus, built, encoder=encoder)
    assert not report.changed and encoder.calls == []
    assert Assistant.load(built, encoder=encoder).path == before


def test_add_embeds_only_the_new_document_and_readers_switch_when_they_ask(built, encoder, new_file):
    qa = Assistant.load(built, encoder=encoder)
    other = Assistant.load(built, encoder=encoder)  # a second reader of the same index
    encoder.calls.clear()
    report = qa.add([new_file], switch=False)
    assert report.changed and report.embedded == len([p for p in Assistant.load(built, encoder=encoder).passages
                                                      if p.doc_id == "new"])
    assert sum(encoder.calls) < 20  # the new document's sentences only
    # Readers keep the version they hold, whole, until they ask for the newer one.
    assert "new" not in whole(qa) and "new" not in whole(other)
    moved = other.reloaded()
    assert moved is not other and "new" in whole(moved)
    assert moved.search("county towns register migrant workers as residents", k=1)[0].doc_id == "new"
    # The same file again changes nothing; another text under the same id is refused, or replaces.
    assert not moved.add([new_file]).changed
    new_file.write_text(NEW_DOC + "\nA closing line on housing.\n", encoding="utf-8")
    with pytest.raises(InputError, match="already holds a different document"):
        moved.add([new_file])
    assert moved.add([new_file], replace=True).replaced == ("new",)
    assert "closing line" in moved.document("new").text


def test_remove_and_a_later_build_keeps_it_out(built, corpus, encoder):
    qa = Assistant.load(built, encoder=encoder)
    gone = "001_3e4fe2d8ef67bf05"
    report = qa.remove([gone])
    assert report.changed and gone not in whole(qa)
    with pytest.raises(InputError, match="unknown document id"):
        qa.remove(["nope"])
    Assistant.build(corpus, built, encoder=encoder)
    assert gone not in whole(Assistant.load(built, encoder=encoder))


def test_filters_by_document_and_date(built, encoder):
    qa = Assistant.load(built, encoder=encoder)
    one = "002_39880fb65be5e4c4"
    assert {p.doc_id for p in qa.search("rural migrant workers", k=10, documents=[one])} == {one}
    dated = {d.doc_id: d.date for d in qa.documents()}
    hits = qa.search("rural migrant workers", k=10, since="2021")
    assert hits and all(dated[p.doc_id] and dated[p.doc_id][:4] >= "2021" for p in hits)
    hits = qa.search("rural migrant workers", k=10, until="2020-12-31")
    assert all(dated[p.doc_id] and dated[p.doc_id][:4] <= "2020" for p in hits)
    with pytest.raises(InputError, match="unknown document id"):
        qa.search("rural", documents=["nope"])
    assert not qa.ask("rural pensions", since="2100").answered


def test_a_write_that_fails_half_way_leaves_the_previous_version(built, encoder, new_file, monkeypatch, kind):
    before = Assistant.load(built, encoder=encoder)
    if kind == "folder":
        from assistant import vectors

        target, name = vectors, "save"
    else:
        from assistant import milvus_store

        target, name = milvus_store.Writer, "commit"  # every row written, then the failure before the switch
    real = getattr(target, name)

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(target, name, boom)
    with pytest.raises(AssistantError, match="previous"):
        before.add([new_file])
    monkeypatch.setattr(target, name, real)
    after = Assistant.load(built, encoder=encoder)
    assert after.path == before.path and "new" not in whole(after)
    again = Assistant.load(built, encoder=encoder)
    again.add([new_file])  # the next write works
    assert "new" in whole(again)


def test_a_second_writer_is_told_the_index_is_busy(built, encoder, corpus, kind):
    from assistant import locations

    where = locations.parse(built)
    if kind == "folder":
        from assistant import store

        holding = store.writer_lock(where)
    else:
        from assistant import milvus_store

        holding = milvus_store.writing(where)
    with holding:
        with pytest.raises(IndexBusyError, match="being updated"):
            Assistant.build(corpus, built, encoder=encoder)
    Assistant.build(corpus, built, encoder=encoder)  # released


def test_an_index_built_with_another_model_is_refused_and_kept(built, encoder, corpus):
    from assistant.encoder import MiniLMEncoder

    with pytest.raises(IndexIncompatibleError, match="built with the model"):
        Assistant.load(built, encoder=MiniLMEncoder())
    assert len(whole(Assistant.load(built, encoder=encoder))) == 5


def test_an_index_built_with_other_settings_is_refused_by_add_and_rebuilt_by_build(built, encoder, corpus, new_file,
                                                                                   monkeypatch):
    """Documents chunked by another version of the code cannot be mixed with new ones: add says to
    rebuild, and a build re-chunks everything into a new version (the old one serves until then)."""
    from assistant import indexing

    monkeypatch.setattr(indexing, "INGEST_VERSION", indexing.INGEST_VERSION + 1000)
    with pytest.raises(IndexIncompatibleError, match="another model or settings: rebuild it with `policyqa build"):
        Assistant.load(built, encoder=encoder).add([new_file])
    assert len(whole(Assistant.load(built, encoder=encoder))) == 5
    encoder.calls.clear()
    report = Assistant.build(corpus, built, encoder=encoder)
    assert report.changed and report.embedded == report.passages and encoder.calls
    assert Assistant.load(built, encoder=encoder).manifest["ingest_version"] == indexing.INGEST_VERSION


def test_missing_index(kind, tmp_path, encoder):
    where = tmp_path / "nothing" if kind == "folder" else f"milvus-lite:{tmp_path / 'nothing'}"
    with pytest.raises(IndexMissingError, match="policyqa build"):
        Assistant.load(where, encoder=encoder)
    assert not (tmp_path / "nothing").exists()  # a read creates nothing


# ------------------------------------------------------------------ Milvus only

CHILD = textwrap.dedent("""
    import os, signal, sys
    sys.path[:0] = [{tests!r}, {root!r}]
    from fakes import HashEncoder
    from assistant import indexing, milvus_store
    point = {point!r}
    def kill(*a, **k):
        os.kill(os.getpid(), signal.SIGKILL)
    if point == "rows":  # some rows inserted, not all
        def write(self, new, next_id, report):
            self.client.insert(milvus_store.names(self.loc)["documents"],
                               [{{"key": "x:0", "doc_key": "x", "ver": self.ver, "part": 0, "body": "{{}}", "v": [0.0, 0.0]}}])
            kill()
        milvus_store.Writer.write = write
    elif point == "manifest":  # every row and the manifest written, not switched
        real = milvus_store._put
        def put(client, loc, key, value, ver=0):
            if key == "current":
                kill()
            return real(client, loc, key, value, ver)
        milvus_store._put = put
    elif point == "prune":  # switched, not yet pruned
        milvus_store.Writer._prune = lambda *a, **k: kill()
    indexing.add_documents([{new!r}], {index!r}, HashEncoder())
""")


@pytest.mark.parametrize("point", ["rows", "manifest", "prune"])
def test_milvus_kill_9_during_an_add(point, tmp_path, corpus, encoder, new_file):
    """A writer killed at each step of an add: the index holds the old documents or the new, whole,
    and the next add works (and its lease, left by a dead process, is taken over at once)."""
    from assistant import locations, milvus_store

    uri = f"milvus-lite:{tmp_path / 'milvus'}"
    Assistant.build(corpus, uri, encoder=encoder)
    before = whole(Assistant.load(uri, encoder=encoder))
    milvus_store.close(locations.parse(uri))  # Milvus Lite serves one process at a time
    code = CHILD.format(tests=str(ROOT / "tests"), root=str(ROOT), point=point, new=str(new_file), index=uri)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == -signal.SIGKILL, done.stderr[-800:]
    try:
        seen = whole(Assistant.load(uri, encoder=encoder))
        assert seen == (before | {"new"} if point == "prune" else before)
        qa = Assistant.load(uri, encoder=encoder)
        qa.add([new_file])
        assert whole(qa) == before | {"new"}
        client = milvus_store.connect(locations.parse(uri))
        assert not client.query("policyqa_documents", filter='doc_key == "x"', output_fields=["key"])
    finally:
        milvus_store.close(locations.parse(uri))


def test_milvus_lite_folder_held_by_another_process(tmp_path, corpus, encoder):
    from assistant import locations, milvus_store

    uri = f"milvus-lite:{tmp_path / 'milvus'}"
    Assistant.build(corpus, uri, encoder=encoder)
    milvus_store.close(locations.parse(uri))
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import sys, time; sys.path.insert(0, {str(ROOT)!r}); from assistant import Assistant, "
         f"locations, milvus_store; milvus_store.connect(locations.parse({uri!r})); print('ok', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(IndexBusyError, match="open in another process.*Milvus server"):
            Assistant.load(uri, encoder=encoder)
    finally:
        holder.kill()
        holder.wait()
    assert len(whole(Assistant.load(uri, encoder=encoder))) == 5
    milvus_store.close(locations.parse(uri))


def test_milvus_locations_and_their_errors(monkeypatch):
    from assistant import locations, milvus_store

    loc = locations.parse("milvus://db.example.org:19530/policy")
    assert (loc.address, loc.db, str(loc)) == ("http://db.example.org:19530", "policy", "milvus://db.example.org:19530/policy")
    assert locations.parse("https://milvus.internal").address == "https://milvus.internal:443"
    assert isinstance(locations.parse("index"), Path)
    with pytest.raises(InputError, match="POLICYQA_MILVUS_TOKEN"):
        locations.parse("milvus://root:Milvus@db:19530")
    monkeypatch.setattr(milvus_store, "CONNECT_SECONDS", 2.0)
    with pytest.raises(IndexUnavailableError, match="cannot reach Milvus at milvus://127.0.0.1:9.*start it"):
        Assistant.load("milvus://127.0.0.1:9")
    wrong = milvus_store._failure(loc, RuntimeError("<MilvusException: (code=1800, message=auth check failure, "
                                                    "please check username and password)>"))
    assert isinstance(wrong, IndexUnavailableError) and "POLICYQA_MILVUS_TOKEN" in str(wrong)


def test_milvus_without_bm25_is_told_what_to_do(tmp_path, corpus, encoder, monkeypatch):
    from assistant import locations, milvus_store

    monkeypatch.setenv(milvus_store.LEXICAL_ENV, "milvus")
    monkeypatch.setattr(milvus_store, "_has_bm25", lambda client: False)
    uri = f"milvus-lite:{tmp_path / 'milvus'}"
    try:
        with pytest.raises(IndexIncompatibleError, match="no BM25.*Milvus 2.5.*POLICYQA_MILVUS_LEXICAL=policyqa"):
            Assistant.build(corpus, uri, encoder=encoder)
        monkeypatch.undo()
        Assistant.build(corpus, uri, encoder=encoder)  # nothing half-made stands in the way
        assert len(whole(Assistant.load(uri, encoder=encoder))) == 5
    finally:
        milvus_store.close(locations.parse(uri))


def test_milvus_bm25_mode_answers_too(tmp_path, corpus, encoder, monkeypatch):
    """Lexical search by Milvus's own BM25 function (kept as an option; ours is the default)."""
    from assistant import locations, milvus_store

    monkeypatch.setenv(milvus_store.LEXICAL_ENV, "milvus")
    uri = f"milvus-lite:{tmp_path / 'milvus'}"
    try:
        Assistant.build(corpus, uri, encoder=encoder)
        qa = Assistant.load(uri, encoder=encoder)
        assert isinstance(qa._retriever.lexical, milvus_store.MilvusLexical)
        assert qa._retriever.lexical.scores("hukou reform", len(qa.passages)).max() > 0
        assert qa.search("hukou reform in big cities", k=3)
    finally:
        milvus_store.close(locations.parse(uri))


def test_a_folder_index_never_imports_milvus(fake_index):
    """pymilvus and Milvus Lite (and grpc) load only for a Milvus location: the CLI's start and a
    folder index's questions stay as fast as before."""
    code = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(ROOT / 'tests')!r}, {str(ROOT)!r}]
        from fakes import HashEncoder
        from assistant import Assistant, cli
        qa = Assistant.load({str(fake_index)!r}, encoder=HashEncoder())
        qa.search("hukou reform", rerank=False)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("pymilvus", "milvus_lite", "grpc"))
        assert not loaded, loaded
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-800:]
