"""The Milvus store: an index in Milvus Lite (embedded, a local folder) or a Milvus server or cluster.

The same code talks to both through pymilvus, imported only here and only for a Milvus location.

Collections (``P`` is the prefix, ``policyqa`` unless POLICYQA_MILVUS_COLLECTION says otherwise):

    P_meta        key → JSON: "schema" (format, model, lexical mode, index type), "current" (the live
                  version: the switch), "lock" (the writer's lease), "manifest:V:i" (version V's
                  manifest, in parts)
    P_documents   one Document per document key, its JSON in parts of ≤ 16,000 characters
    P_passages    id, doc_key, doc_id, ver, idx, section, start, end, vector (FLOAT_VECTOR, IP);
                  with lexical "milvus" also text (analyzed) and sparse (Milvus's BM25 function)
    P_sentences   id, passage (its passage's id), doc_key, ver, start, end, vector

Rows are keyed by content: a document's key is a hash of its id, its text's hash, the model,
the chunk settings and the ingest version, so a document that did not change keeps its rows
from version to version and an add writes only the new documents' rows. Every row carries
``ver``, the version that wrote it. Version V sees the rows with ``ver <= V`` whose document
key is in V's manifest; the few others (documents removed or replaced since, still kept for
readers of the previous version) are excluded by a ``doc_key not in [...]`` clause. So:

* a writer's rows are invisible until it switches "current" (they carry ver = V + 1);
* the switch is one upsert of the "current" row, after the manifest is written and flushed;
* a writer that dies leaves rows with ver > current, deleted by the next writer, and
  "current" naming the previous, whole version;
* a reader loads one version and answers from it; ``Assistant.reloaded`` moves to a newer one.

Milvus has no lock: a writer holds a lease, the "lock" row (owner, host, pid, expiry), renewed
while it works, checked again just before the switch. A lease whose expiry passed, or whose
process on this host is gone, is taken over.

Readers keep a version's documents, passages, sentences and vectors in memory, as the answer
stage reads them (``candidates.Library``); the dense search runs in Milvus with the version and
the document filters as Milvus scalar filters. The lexical side is ours by default (bm25s,
rebuilt from the passages once per version on each machine and cached beside the query model);
"milvus" uses Milvus's BM25 function instead (see docs/ARCHITECTURE.md for why ours is kept).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import (
    AssistantError,
    IndexBusyError,
    IndexCorruptError,
    IndexIncompatibleError,
    IndexMissingError,
    IndexUnavailableError,
    IndexWriteError,
)
from .locations import TOKEN_ENV, MilvusLocation
from .types import Document, Passage

FORMAT = "policyqa-milvus"
FORMAT_VERSION = 1
KEEP_VERSIONS = 2  # the live one and the one before it, for readers still on it
PART_CHARS = 16_000  # a VARCHAR holds 65,535 bytes: 16,000 characters of up to 4 bytes each
INSERT_BATCH = 1000
QUERY_BATCH = 4096
MAX_LIMIT = 16_384  # Milvus's largest topk
LEASE_SECONDS = 60.0
LEASE_SETTLE = 0.3  # a written lease is read back after this: two writers racing see the last one
CONNECT_SECONDS = float(os.environ.get("POLICYQA_MILVUS_TIMEOUT", "10"))
LEXICAL_ENV = "POLICYQA_MILVUS_LEXICAL"  # "policyqa" (default) or "milvus": fixed when the index is created
LEXICAL_MODES = ("policyqa", "milvus")
HNSW = {"M": 32, "efConstruction": 40}  # as vectors.py, for the same reasons
HNSW_EF = 128
EXACT_MAX_ROWS = 100_000  # FLAT up to this many passages at creation, HNSW above (vectors.py's rule)


def _log_quietly() -> None:
    # pymilvus logs warnings (a query iterator's timestamp, retries) that mean nothing to a user.
    for name in ("pymilvus", "milvus_lite", "grpc"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


# ---------------------------------------------------------------- connecting

_LITE: dict[Path, tuple[str, Any, Any]] = {}  # data folder -> (uri, grpc server, MilvusLite), one per process
_CLIENTS: dict[tuple[str, str, str], Any] = {}
_CONNECT_LOCK = threading.RLock()


def _lite_uri(loc: MilvusLocation, create: bool) -> str:
    path = loc.path
    assert path is not None
    with _CONNECT_LOCK:
        if path in _LITE:
            return _LITE[path][0]
        if not path.exists():
            if not create:
                raise IndexMissingError(f"no index at {loc}: build one with `policyqa build --index {loc}`")
            try:
                path.mkdir(parents=True)
            except OSError as exc:
                raise IndexWriteError(f"could not create {path} ({exc.strerror}): choose a folder you can write") from None
        elif not path.is_dir():
            raise IndexMissingError(f"{path} is a file, not a Milvus Lite folder")
        elif (path / "CURRENT").is_file() or any(path.glob("gen-*")):
            raise IndexIncompatibleError(f"{path} is a folder index: open it as --index {path}, without milvus-lite:")
        try:
            from milvus_lite.adapter.grpc.server import start_server_in_thread
            from milvus_lite.exceptions import DataDirLockedError
        except ImportError:
            raise IndexUnavailableError("Milvus Lite is not installed: run `make setup` "
                                        "(or pip install 'policyqa[milvus]')") from None
        _log_quietly()
        try:
            server, db, port = start_server_in_thread(str(path))
        except DataDirLockedError:
            raise IndexBusyError(
                f"the Milvus Lite index at {path} is open in another process, and Milvus Lite serves one process: "
                "stop it, or add through that process (its API), or run a Milvus server for several") from None
        except Exception as exc:  # a damaged data folder
            raise IndexCorruptError(f"Milvus Lite cannot open {path} ({type(exc).__name__}: {exc}): "
                                    f"rebuild it with `policyqa build --index {loc}` into a new folder") from None
        uri = f"http://127.0.0.1:{port}"
        _LITE[path] = (uri, server, db)
        return uri


def _release_lite() -> None:
    for uri, server, db in list(_LITE.values()):
        with contextlib.suppress(Exception):
            server.stop(grace=0)
        with contextlib.suppress(Exception):
            db.close()
    _LITE.clear()


atexit.register(_release_lite)


def close(loc: MilvusLocation) -> None:
    """Let go of a location's client (and, for Milvus Lite, its data folder's lock)."""
    with _CONNECT_LOCK:
        for key in [k for k in _CLIENTS if k[0] == loc.uri]:
            with contextlib.suppress(Exception):
                _CLIENTS.pop(key).close()
        if loc.path is not None and loc.path in _LITE:
            _, server, db = _LITE.pop(loc.path)
            with contextlib.suppress(Exception):
                server.stop(grace=0)
            with contextlib.suppress(Exception):
                db.close()


def connect(loc: MilvusLocation, *, create: bool = False):
    """A pymilvus MilvusClient for ``loc`` (one per process and location)."""
    token = loc.token()
    key = (loc.uri, token, loc.db)
    with _CONNECT_LOCK:
        if key in _CLIENTS:
            return _CLIENTS[key]
        uri = _lite_uri(loc, create) if loc.lite else loc.address
        try:
            from pymilvus import MilvusClient
        except ImportError:
            raise IndexUnavailableError("pymilvus is not installed: run `make setup` (or pip install 'policyqa[milvus]')") from None
        _log_quietly()
        kwargs: dict[str, Any] = {"uri": uri, "timeout": CONNECT_SECONDS}
        if token:
            kwargs["token"] = token
        if loc.db:
            kwargs["db_name"] = loc.db
        try:
            client = MilvusClient(**kwargs)
            client.list_collections()  # a wrong token or database shows here, not at the first question
            _ensure_loaded(client, loc)
        except Exception as exc:
            raise _failure(loc, exc) from None
        _CLIENTS[key] = client
        return client


def _ensure_loaded(client, loc: MilvusLocation) -> None:
    """Load the index's collections into memory (Milvus serves only loaded ones; reopening Milvus Lite releases them)."""
    for name in names(loc).values():
        if client.has_collection(name) and "Loaded" not in str(client.get_load_state(name).get("state", "")):
            client.load_collection(name)


def _failure(loc: MilvusLocation, exc: BaseException) -> AssistantError:
    """One line for what went wrong talking to Milvus, and what to do."""
    if isinstance(exc, AssistantError):
        return exc
    text = f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"
    low = text.lower()
    if any(w in low for w in ("auth", "token", "credential", "password", "unauthenticated", "permission denied")):
        return IndexUnavailableError(
            f"the Milvus server at {loc} refused the credentials: set {TOKEN_ENV} to user:password or an API key "
            "that may use this database; nothing was changed")
    if "database" in low and ("not" in low or "exist" in low):
        return IndexMissingError(f"the Milvus server at {loc} has no such database: create it, or name another in the address")
    if any(w in low for w in ("connect", "unavailable", "timeout", "timed out", "deadline", "refused", "resolve")):
        return IndexUnavailableError(
            f"cannot reach Milvus at {loc} ({_short(text)}): start it or check the address and port; "
            "nothing was changed")
    return IndexUnavailableError(f"Milvus at {loc} failed ({_short(text)}); nothing was changed")


def _short(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


@contextlib.contextmanager
def _talking(loc: MilvusLocation) -> Iterator[None]:
    try:
        yield
    except AssistantError:
        raise
    except Exception as exc:
        raise _failure(loc, exc) from None


# ---------------------------------------------------------------- names and schema


def names(loc: MilvusLocation) -> dict[str, str]:
    p = loc.prefix
    return {"meta": f"{p}_meta", "documents": f"{p}_documents", "passages": f"{p}_passages", "sentences": f"{p}_sentences"}


def lexical_mode() -> str:
    mode = os.environ.get(LEXICAL_ENV, "policyqa").strip() or "policyqa"
    if mode not in LEXICAL_MODES:
        raise AssistantError(f"{LEXICAL_ENV}={mode!r}: use one of {', '.join(LEXICAL_MODES)}")
    return mode


def analyzer_params() -> dict[str, Any]:
    """Milvus's analyzer made as close to ours (lexical.py) as Milvus allows: lower case, our stop
    words and question words, English Snowball stems (Milvus Lite ignores the stemmer: see docs)."""
    from .lexical import _stopwords

    return {"tokenizer": "standard",
            "filter": ["lowercase", {"type": "stop", "stop_words": sorted(_stopwords())},
                       {"type": "stemmer", "language": "english"}]}


def _small_schema(client, key_len: int):
    from pymilvus import DataType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("key", DataType.VARCHAR, is_primary=True, max_length=key_len)
    s.add_field("doc_key", DataType.VARCHAR, max_length=64)
    s.add_field("ver", DataType.INT64)
    s.add_field("part", DataType.INT64)
    s.add_field("body", DataType.VARCHAR, max_length=65535)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector in every collection
    return s


def _create(client, name: str, schema, index_params) -> None:
    client.create_collection(name, schema=schema, index_params=index_params, consistency_level="Strong")
    client.load_collection(name)


def _create_all(client, loc: MilvusLocation, dim: int, lexical: str, exact: bool) -> None:
    from pymilvus import DataType, Function, FunctionType

    n = names(loc)
    for kind in ("meta", "documents"):
        if not client.has_collection(n[kind]):
            ip = client.prepare_index_params()
            ip.add_index("v", index_type="FLAT", metric_type="L2")
            _create(client, n[kind], _small_schema(client, 200), ip)
    if not client.has_collection(n["passages"]):
        s = client.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("id", DataType.INT64, is_primary=True)
        s.add_field("doc_key", DataType.VARCHAR, max_length=64)
        s.add_field("doc_id", DataType.VARCHAR, max_length=2048)
        s.add_field("ver", DataType.INT64)
        s.add_field("idx", DataType.INT64)
        s.add_field("section", DataType.VARCHAR, max_length=65535)
        s.add_field("start", DataType.INT64)
        s.add_field("end", DataType.INT64)
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        ip = client.prepare_index_params()
        if exact:
            ip.add_index("vector", index_type="FLAT", metric_type="IP")
        else:
            ip.add_index("vector", index_type="HNSW", metric_type="IP", params=dict(HNSW))
        if lexical == "milvus":
            s.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True, analyzer_params=analyzer_params())
            s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            s.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                    input_field_names=["text"], output_field_names=["sparse"]))
            ip.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params={"bm25_k1": 1.2, "bm25_b": 0.75})
        _create(client, n["passages"], s, ip)
    if not client.has_collection(n["sentences"]):
        s = client.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("id", DataType.INT64, is_primary=True)
        s.add_field("passage", DataType.INT64)
        s.add_field("doc_key", DataType.VARCHAR, max_length=64)
        s.add_field("ver", DataType.INT64)
        s.add_field("start", DataType.INT64)
        s.add_field("end", DataType.INT64)
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        ip = client.prepare_index_params()
        ip.add_index("vector", index_type="FLAT", metric_type="IP")  # never searched; Milvus loads only indexed vectors
        _create(client, n["sentences"], s, ip)


def _has_bm25(client) -> bool:
    """Whether the server has BM25 full-text search (Milvus 2.5 and later; Milvus Lite 2.5+/3.x)."""
    try:
        version = str(client.get_server_version())
    except Exception:
        return True  # unknown: let the collection's creation say
    if version.startswith("milvus_lite"):
        return True
    digits = [int(x) for x in version.lstrip("v").split("-")[0].split(".")[:2] if x.isdigit()]
    return len(digits) < 2 or tuple(digits) >= (2, 5)


# ---------------------------------------------------------------- meta rows


def _get(client, loc: MilvusLocation, key: str) -> dict | None:
    rows = client.query(names(loc)["meta"], filter=f"key == {json.dumps(key)}", output_fields=["body"], limit=1)
    if not rows:
        return None
    try:
        return json.loads(rows[0]["body"])
    except (ValueError, KeyError):
        raise IndexCorruptError(f"the Milvus index at {loc} is damaged (its {key!r} record is not JSON): "
                                f"rebuild it with `policyqa build --index {loc}` into a new database or folder") from None


def _put(client, loc: MilvusLocation, key: str, value: dict, ver: int = 0) -> None:
    client.upsert(names(loc)["meta"], [{"key": key, "doc_key": "", "ver": ver, "part": 0,
                                        "body": json.dumps(value, ensure_ascii=False), "v": [0.0, 0.0]}])


def _parts(text: str) -> list[str]:
    return [text[i : i + PART_CHARS] for i in range(0, len(text), PART_CHARS)] or [""]


def _read_manifest(client, loc: MilvusLocation, ver: int) -> dict:
    rows = _query_all(client, names(loc)["meta"], f'doc_key == "manifest" and ver == {ver}', ["part", "body"])
    if not rows:
        raise IndexCorruptError(f"the Milvus index at {loc} is damaged (version {ver} has no manifest): "
                                f"rebuild it with `policyqa build --index {loc}`")
    body = "".join(r["body"] for r in sorted(rows, key=lambda r: r["part"]))
    try:
        return json.loads(body)
    except ValueError:
        raise IndexCorruptError(f"the Milvus index at {loc} is damaged (version {ver}'s manifest is cut short): "
                                f"rebuild it with `policyqa build --index {loc}`") from None


def _write_manifest(client, loc: MilvusLocation, ver: int, manifest: dict) -> None:
    text = json.dumps(manifest, ensure_ascii=False)
    rows = [{"key": f"manifest:{ver}:{i}", "doc_key": "manifest", "ver": ver, "part": i, "body": part, "v": [0.0, 0.0]}
            for i, part in enumerate(_parts(text))]
    _insert(client, names(loc)["meta"], rows)


def _query_all(client, collection: str, expr: str, fields: list[str]) -> list[dict]:
    it = client.query_iterator(collection, batch_size=QUERY_BATCH, filter=expr, output_fields=fields)
    out: list[dict] = []
    try:
        while True:
            batch = it.next()
            if not batch:
                return out
            out.extend(batch)
    finally:
        it.close()


def _insert(client, collection: str, rows: list[dict]) -> None:
    for at in range(0, len(rows), INSERT_BATCH):
        client.insert(collection, rows[at : at + INSERT_BATCH])


def _quote_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class MilvusVersion:
    """A handle on one version of a Milvus index (what ``Assistant.path`` is for a folder's generation)."""

    location: MilvusLocation
    ver: int
    name: str  # gen-<time>-<rand>, as a folder generation's

    @property
    def parent(self) -> MilvusLocation:
        return self.location

    def __str__(self) -> str:
        return f"{self.location} ({self.name})"


def schema_record(loc: MilvusLocation) -> dict | None:
    client = connect(loc)
    with _talking(loc):
        if not client.has_collection(names(loc)["meta"]):
            return None
        return _get(client, loc, "schema")


_SEEN: dict[tuple[str, str], tuple[float, MilvusVersion]] = {}  # location -> (when read, live version)
RECHECK_SECONDS = 0.5  # a server asks per request; replicas see a switch within this


def recent_version(loc: MilvusLocation) -> MilvusVersion:
    """``live_version``, read at most every RECHECK_SECONDS (a server calls it on every request)."""
    key = (loc.uri, loc.prefix)
    seen = _SEEN.get(key)
    if seen is not None and time.monotonic() - seen[0] < RECHECK_SECONDS:
        return seen[1]
    version = live_version(loc)
    _SEEN[key] = (time.monotonic(), version)
    return version


def live_version(loc: MilvusLocation) -> MilvusVersion:
    """The version "current" names; IndexMissingError when there is none."""
    client = connect(loc)
    with _talking(loc):
        if not client.has_collection(names(loc)["meta"]):
            raise IndexMissingError(f"no index at {loc}: build one with `policyqa build --index {loc}`")
        schema = _get(client, loc, "schema")
        if schema is None or schema.get("format") != FORMAT:
            raise IndexCorruptError(f"{loc} holds collections named {loc.prefix}_* that are not a policyqa index: "
                                    f"set POLICYQA_MILVUS_COLLECTION to another name, or use another database")
        if schema.get("format_version") != FORMAT_VERSION:
            raise IndexIncompatibleError(
                f"the Milvus index at {loc} has format version {schema.get('format_version')}, this program reads "
                f"version {FORMAT_VERSION}: rebuild it into a new database or folder with `policyqa build --index URI`")
        current = _get(client, loc, "current")
    if current is None:
        raise IndexMissingError(f"no index at {loc} (no build has finished there): build one with "
                                f"`policyqa build --index {loc}`")
    return MilvusVersion(loc, int(current["version"]), str(current["name"]))


def read_manifest(version: MilvusVersion) -> dict:
    client = connect(version.location)
    with _talking(version.location):
        return _read_manifest(client, version.location, version.ver)


def version_named(loc: MilvusLocation, name: str) -> MilvusVersion | None:
    """A kept version by its name (the newest KEEP_VERSIONS), else None."""
    client = connect(loc)
    with _talking(loc):
        kept = _get(client, loc, "current") or {}
    for ver, vname in kept.get("kept", []):
        if vname == name:
            return MilvusVersion(loc, int(ver), str(vname))
    return None


def read_documents(version: MilvusVersion, manifest: dict | None = None) -> dict[str, Document]:
    client = connect(version.location)
    loc = version.location
    with _talking(loc):
        manifest = manifest or _read_manifest(client, loc, version.ver)
        keys = {info["key"]: doc_id for doc_id, info in manifest["documents"].items()}
        rows = _query_all(client, names(loc)["documents"], f"ver <= {version.ver}", ["doc_key", "part", "body"])
    parts: dict[str, list[tuple[int, str]]] = {}
    for r in rows:
        if r["doc_key"] in keys:
            parts.setdefault(r["doc_key"], []).append((int(r["part"]), r["body"]))
    docs: dict[str, Document] = {}
    for doc_id, info in manifest["documents"].items():
        got = parts.get(info["key"])
        if not got or [p for p, _ in sorted(got)] != list(range(len(got))):
            raise IndexCorruptError(f"the Milvus index at {loc} is damaged (document {doc_id!r} is missing parts): "
                                    f"rebuild it with `policyqa build --index {loc}`")
        docs[doc_id] = Document.from_dict(json.loads("".join(b for _, b in sorted(got))))
    return docs


@dataclass
class Loaded:
    """One version as ``Assistant._open`` reads a generation."""

    manifest: dict
    documents: dict[str, Document]
    passages: list[Passage]
    sentences: list[tuple[int, int, int]]
    sentence_vectors: np.ndarray
    dense: "MilvusDense"
    lexical: Any
    doc_lexical: Any


def load(version: MilvusVersion) -> Loaded:
    loc = version.location
    client = connect(loc)
    with _talking(loc):
        _ensure_loaded(client, loc)  # collections a writer in another process created since we connected
        manifest = _read_manifest(client, loc, version.ver)
        schema = _get(client, loc, "schema") or {}
        documents = read_documents(version, manifest)
        n = names(loc)
        prow = _query_all(client, n["passages"], f"ver <= {version.ver}",
                          ["id", "doc_key", "idx", "section", "start", "end", "vector"])
        srow = _query_all(client, n["sentences"], f"ver <= {version.ver}", ["id", "passage", "doc_key", "start", "end", "vector"])
    live_keys = {info["key"]: (i, doc_id) for i, (doc_id, info) in enumerate(manifest["documents"].items())}
    dead = sorted({r["doc_key"] for r in (*prow, *srow) if r["doc_key"] not in live_keys})
    prow = [r for r in prow if r["doc_key"] in live_keys]
    prow.sort(key=lambda r: (live_keys[r["doc_key"]][0], int(r["idx"])))
    passages: list[Passage] = []
    for r in prow:
        doc = documents[live_keys[r["doc_key"]][1]]
        start, end = int(r["start"]), int(r["end"])
        passages.append(Passage(doc.doc_id, doc.title, r["section"], doc.text[start:end], start, end, page=doc.page_at(start)))
    dim = int(manifest["model"]["dim"])
    pvecs = np.asarray([r["vector"] for r in prow], dtype=np.float32).reshape(-1, dim)
    ids = np.asarray([int(r["id"]) for r in prow], dtype=np.int64)
    row_of = {int(pid): i for i, pid in enumerate(ids)}
    srow = [r for r in srow if int(r["passage"]) in row_of]
    srow.sort(key=lambda r: (row_of[int(r["passage"])], int(r["start"])))
    sentences = [(row_of[int(r["passage"])], int(r["start"]), int(r["end"])) for r in srow]
    svecs = np.asarray([r["vector"] for r in srow], dtype=np.float32).reshape(-1, dim)
    counts = manifest.get("counts", {})
    if counts.get("passages") != len(passages) or counts.get("sentences") != len(sentences):
        raise IndexCorruptError(
            f"the Milvus index at {loc} is damaged (version {version.name} lists {counts.get('passages')} passages and "
            f"{counts.get('sentences')} sentences, the collections hold {len(passages)} and {len(sentences)}): "
            f"rebuild it with `policyqa build --index {loc}`")
    doc_ids = [p.doc_id for p in passages]
    dense = MilvusDense(loc, version.ver, dead, ids, pvecs, doc_ids, hnsw=schema.get("index") == "HNSW")
    lexical, doc_lexical = _lexical(version, manifest, documents, passages)
    if manifest.get("lexical_mode") == "milvus":
        lexical = MilvusLexical(lexical, dense)
    return Loaded(manifest, documents, passages, sentences, svecs, dense, lexical, doc_lexical)


def _lexical(version: MilvusVersion, manifest: dict, documents: dict[str, Document], passages: list[Passage]):
    """Our BM25 over the version's passages and documents, built once per version on this machine
    and kept beside the query model (only the two newest versions' are kept)."""
    from .chunking import ChunkSettings, own_title
    from .indexing import _seen_text
    from .lexical import LexicalIndex

    cache = version.location.local_root / "lexical"
    folder = cache / version.name
    try:
        if (folder / "done").is_file():
            return LexicalIndex.load(folder / "bm25"), LexicalIndex.load(folder / "bm25_documents")
    except (OSError, ValueError, KeyError):
        pass  # a damaged cache: rebuilt below
    settings = ChunkSettings(**manifest["chunking"])
    lexical = LexicalIndex.build([_seen_text(p, settings) for p in passages])
    doc_lexical = LexicalIndex.build([own_title(d.title, d.doc_id) + "\n" + d.text for d in documents.values()])
    try:
        tmp = cache / f".tmp-{version.name}-{secrets.token_hex(3)}"
        (tmp / "bm25").mkdir(parents=True)
        (tmp / "bm25_documents").mkdir()
        lexical.save(tmp / "bm25")
        doc_lexical.save(tmp / "bm25_documents")
        (tmp / "done").write_text(version.name)
        shutil.rmtree(folder, ignore_errors=True)
        os.rename(tmp, folder)
        kept = sorted((p for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")),
                      key=lambda p: p.stat().st_mtime_ns)
        for old in kept[:-KEEP_VERSIONS]:
            shutil.rmtree(old, ignore_errors=True)
        for stale in cache.glob(".tmp-*"):
            if time.time() - stale.stat().st_mtime > 3600:
                shutil.rmtree(stale, ignore_errors=True)
    except OSError:
        pass  # no cache: the next load builds it again
    return lexical, doc_lexical


class MilvusDense:
    """The dense side of retrieval over one version: searched in Milvus, with FAISS's few methods
    that ``vectors.py`` calls (``ntotal``, ``d``, ``reconstruct*``) answered from the loaded vectors."""

    filters = True  # takes the row mask as a Milvus scalar filter (vectors.search)

    def __init__(self, loc: MilvusLocation, ver: int, dead: list[str], ids: np.ndarray, vectors: np.ndarray,
                 doc_ids: list[str], hnsw: bool) -> None:
        self.loc, self.ver, self.dead, self.hnsw = loc, ver, dead, hnsw
        self.ids = ids
        self._vectors = vectors
        self.ntotal, self.d = int(len(vectors)), int(vectors.shape[1])
        order = np.argsort(ids)
        self._sorted_ids, self._sorted_rows = ids[order], order
        self._doc_ids = doc_ids
        unique = list(dict.fromkeys(doc_ids))
        self._doc_names = unique
        index = {d: i for i, d in enumerate(unique)}
        self._doc_of_row = np.asarray([index[d] for d in doc_ids], dtype=np.int64)
        self.collection = names(loc)["passages"]
        self._base = f"ver <= {ver}" + (f" and doc_key not in {_quote_list(dead)}" if dead else "")

    def expression(self, allowed: np.ndarray | None) -> str:
        """The version's rows, and of those the documents the mask lets through, as a Milvus filter."""
        if allowed is None:
            return self._base
        docs = np.unique(self._doc_of_row[np.asarray(allowed, dtype=bool)])
        if len(docs) == 0:
            return self._base + ' and doc_id == ""'
        if len(docs) == len(self._doc_names):
            return self._base
        keep = [self._doc_names[i] for i in docs]
        if len(keep) <= len(self._doc_names) // 2:
            return f"{self._base} and doc_id in {_quote_list(keep)}"
        drop = sorted(set(self._doc_names) - set(keep))
        return f"{self._base} and doc_id not in {_quote_list(drop)}"

    def rows(self, ids: Sequence[int]) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        at = np.searchsorted(self._sorted_ids, ids)
        at = np.clip(at, 0, max(0, len(self._sorted_ids) - 1))
        ok = (len(self._sorted_ids) > 0) & (self._sorted_ids[at] == ids) if len(ids) else np.zeros(0, bool)
        return self._sorted_rows[at[ok]]

    def search_rows(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, self.ntotal, MAX_LIMIT)
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.hnsw:
            params["params"] = {"ef": max(HNSW_EF, k)}
        client = connect(self.loc)
        with _talking(self.loc):
            res = client.search(self.collection, [np.asarray(query, dtype=np.float32).reshape(-1).tolist()],
                                anns_field="vector", limit=k, filter=self.expression(allowed), output_fields=[],
                                search_params=params)
        hits = res[0] if res else []
        ids = np.asarray([int(h["id"]) for h in hits], dtype=np.int64)
        scores = np.asarray([float(h["distance"]) for h in hits], dtype=np.float32)
        rows = self.rows(ids)
        if len(rows) != len(ids):  # a row of another version slipped through: keep the known ones
            keep = np.isin(ids, self._sorted_ids)
            scores = scores[keep]
        return scores, rows

    # FAISS's interface, for vectors.search / reconstruct / all_vectors
    def search(self, x: np.ndarray, k: int):
        scores, rows = self.search_rows(np.asarray(x)[0], k)
        d, i = np.full((1, k), -np.inf, np.float32), np.full((1, k), -1, np.int64)
        d[0, : len(rows)], i[0, : len(rows)] = scores, rows
        return d, i

    def reconstruct(self, row: int) -> np.ndarray:
        return self._vectors[int(row)].copy()

    def reconstruct_batch(self, rows: np.ndarray) -> np.ndarray:
        return self._vectors[np.asarray(rows, dtype=np.int64)]

    def reconstruct_n(self, start: int, n: int) -> np.ndarray:
        return self._vectors[start : start + n].copy()


class MilvusLexical:
    """Passage BM25 by Milvus's own BM25 function; the vocabulary and IDF the answer stage reads
    (``known_terms``, ``frequency``, ``idf``) stay ours."""

    def __init__(self, ours, dense: MilvusDense) -> None:
        self._ours, self._dense = ours, dense

    def __getattr__(self, name: str):
        return getattr(self._ours, name)

    def scores(self, query: str, n: int) -> np.ndarray:
        out = np.zeros(n, dtype=np.float32)
        if not query.strip() or n == 0:
            return out
        client = connect(self._dense.loc)
        with _talking(self._dense.loc):
            res = client.search(self._dense.collection, [query], anns_field="sparse", limit=min(n, MAX_LIMIT),
                                filter=self._dense.expression(None), output_fields=[],
                                search_params={"metric_type": "BM25"})
        hits = res[0] if res else []
        ids = np.asarray([int(h["id"]) for h in hits], dtype=np.int64)
        # Milvus Lite gives BM25 scores negated (a distance); a server gives them as they are.
        scores = np.abs(np.asarray([float(h["distance"]) for h in hits], dtype=np.float32))
        keep = np.isin(ids, self._dense._sorted_ids)
        out[self._dense.rows(ids[keep])] = scores[keep]
        return out


# ---------------------------------------------------------------- writing


def document_key(doc_id: str, content_hash: str, manifest_bits: dict) -> str:
    """A document's rows are shared by every version that holds the same text built the same way."""
    bits = json.dumps([doc_id, content_hash, manifest_bits], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(bits.encode()).hexdigest()[:32]


def _alive(host: str, pid: int) -> bool:
    if host != socket.gethostname():
        return True  # another machine's writer: only its lease's expiry tells
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_PROCESS_WRITERS: dict[tuple[str, str], threading.Lock] = {}  # per index: this process's writer, so two
# threads never race on its lease


def _process_writer(loc: MilvusLocation) -> threading.Lock:
    with _CONNECT_LOCK:
        return _PROCESS_WRITERS.setdefault((loc.uri, loc.prefix), threading.Lock())


class Lease:
    """The writer's exclusion: a "lock" record with an owner and an expiry, renewed while it works."""

    def __init__(self, client, loc: MilvusLocation) -> None:
        self.client, self.loc = client, loc
        self.token = secrets.token_hex(8)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = False

    def _record(self) -> dict:
        return {"owner": self.token, "host": socket.gethostname(), "pid": os.getpid(),
                "expires": time.time() + LEASE_SECONDS}

    def acquire(self) -> None:
        if not _process_writer(self.loc).acquire(blocking=False):
            raise IndexBusyError(f"the index at {self.loc} is being updated by another process; try again when it finishes")
        try:
            held = _get(self.client, self.loc, "lock")
            if held and held.get("owner") and held.get("expires", 0) > time.time() and _alive(held.get("host", ""), int(held.get("pid", 0))):
                raise IndexBusyError(f"the index at {self.loc} is being updated by another process; "
                                     "try again when it finishes")
            _put(self.client, self.loc, "lock", self._record())
            time.sleep(LEASE_SETTLE)  # another writer that wrote at the same moment shows now
            if (_get(self.client, self.loc, "lock") or {}).get("owner") != self.token:
                raise IndexBusyError(f"the index at {self.loc} is being updated by another process; "
                                     "try again when it finishes")
        except BaseException:
            _process_writer(self.loc).release()
            raise
        self._thread = threading.Thread(target=self._renew, name="policyqa-milvus-lease", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(LEASE_SECONDS / 4):
            try:
                if (_get(self.client, self.loc, "lock") or {}).get("owner") != self.token:
                    self.lost = True
                    return
                _put(self.client, self.loc, "lock", self._record())
            except Exception:
                pass  # the next renewal, or the check before the switch, tells

    def check(self) -> None:
        """Just before the switch: still ours (a writer stalled past its lease must not switch)."""
        if self.lost or (_get(self.client, self.loc, "lock") or {}).get("owner") != self.token:
            raise IndexBusyError(f"the index at {self.loc} was taken over by another writer while this one worked; "
                                 "nothing of this run was switched in: run the command again")

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            if (_get(self.client, self.loc, "lock") or {}).get("owner") == self.token:
                _put(self.client, self.loc, "lock", {})
        except Exception:
            pass  # it expires
        finally:
            _process_writer(self.loc).release()


@dataclass
class NewPart:
    """One document's rows to insert."""

    doc: Document
    key: str
    passages: list[Passage]
    sentences: list[tuple[int, int, int]]  # (passage index within the document, start, end)
    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray
    seen: list[str] = field(default_factory=list)  # passages as BM25 reads them (lexical "milvus")


class Writer:
    """A version being written; ``commit`` switches readers to it."""

    def __init__(self, client, loc: MilvusLocation, lease: Lease) -> None:
        self.client, self.loc, self.lease = client, loc, lease
        self.current = _get(client, loc, "current") if client.has_collection(names(loc)["meta"]) else None
        self.ver = (int(self.current["version"]) if self.current else 0) + 1

    def live(self) -> tuple[MilvusVersion, dict] | None:
        if not self.current:
            return None
        version = MilvusVersion(self.loc, int(self.current["version"]), str(self.current["name"]))
        return version, _read_manifest(self.client, self.loc, version.ver)

    def existing_keys(self) -> set[str]:
        """Document keys whose rows are in the collections (written by committed versions)."""
        if not self.client.has_collection(names(self.loc)["documents"]):
            return set()
        rows = _query_all(self.client, names(self.loc)["documents"], "part == 0", ["doc_key"])
        return {r["doc_key"] for r in rows}

    def counts(self, key: str) -> dict[str, int]:
        """Passages and sentences held for a document key (one kept by an older version, not the live one)."""
        n, expr = names(self.loc), f"doc_key == {json.dumps(key)}"
        return {kind: len(_query_all(self.client, n[kind], expr, ["id"])) for kind in ("passages", "sentences")}

    def next_free_id(self, live: dict | None) -> int:
        """Above every row id in the collections: the live manifest's, or (the first build, or one after an
        incompatible index, whose older rows may still be kept) every row's."""
        if live is not None and "next_id" in live:
            return int(live["next_id"])
        top = -1
        for kind in ("passages", "sentences"):
            if self.client.has_collection(names(self.loc)[kind]):
                for r in _query_all(self.client, names(self.loc)[kind], "id >= 0", ["id"]):
                    top = max(top, int(r["id"]))
        return top + 1

    def _clean_uncommitted(self) -> None:
        """Rows of a writer that died before its switch (ver above the live version)."""
        live = int(self.current["version"]) if self.current else 0
        n = names(self.loc)
        for kind in ("documents", "passages", "sentences"):
            if self.client.has_collection(n[kind]):
                self.client.delete(n[kind], filter=f"ver > {live}")
        if self.client.has_collection(n["meta"]):
            self.client.delete(n["meta"], filter=f'doc_key == "manifest" and ver > {live}')

    def prepare(self, dim: int, model: dict, passages_hint: int) -> str:
        """Create the collections if missing (checking the model), clean up a dead writer; the lexical mode."""
        client, loc = self.client, self.loc
        schema = _get(client, loc, "schema") if client.has_collection(names(loc)["meta"]) else None
        if schema is None:
            mode = lexical_mode()
            if mode == "milvus" and not _has_bm25(client):
                raise IndexIncompatibleError(
                    f"the Milvus server at {loc} ({client.get_server_version()}) has no BM25 full-text search "
                    f"(Milvus 2.5 or later has it): upgrade it, or build with {LEXICAL_ENV}=policyqa")
            exact = passages_hint <= EXACT_MAX_ROWS
            try:
                _create_all(client, loc, dim, mode, exact)
            except Exception as exc:
                if mode == "milvus" and any(w in str(exc).lower() for w in ("bm25", "function", "analyzer", "sparse")):
                    raise IndexIncompatibleError(
                        f"the Milvus server at {loc} cannot make a BM25 function ({_short(str(exc), 100)}): upgrade it "
                        f"to Milvus 2.5 or later, or build with {LEXICAL_ENV}=policyqa") from None
                raise
            schema = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": model, "lexical_mode": mode,
                      "index": "FLAT" if exact else "HNSW", "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            _put(client, loc, "schema", schema)
        if schema.get("format") != FORMAT:
            raise IndexCorruptError(f"{loc} holds collections named {loc.prefix}_* that are not a policyqa index: "
                                    "set POLICYQA_MILVUS_COLLECTION to another name, or use another database")
        if schema.get("format_version") != FORMAT_VERSION:
            raise IndexIncompatibleError(f"the Milvus index at {loc} has format version {schema.get('format_version')}, "
                                         f"this program writes version {FORMAT_VERSION}: build into a new database or folder")
        if schema["model"].get("dim") != dim or schema["model"].get("name") != model.get("name"):
            raise IndexIncompatibleError(
                f"the Milvus index at {loc} was built with the model {schema['model'].get('name')!r} "
                f"({schema['model'].get('dim')} dimensions), not {model.get('name')!r}: its collections cannot take "
                "these vectors; build into a new database or folder (nothing there was changed)")
        self._clean_uncommitted()
        return str(schema.get("lexical_mode", "policyqa"))

    def write(self, new: list[NewPart], next_id: int, report) -> int:
        """Insert the new documents' rows as this version's (invisible until the switch); the next free id."""
        from .progress import Progress

        n = names(self.loc)
        doc_rows, p_rows, s_rows = [], [], []
        for part in new:
            body = json.dumps(part.doc.to_dict(), ensure_ascii=False)
            doc_rows += [{"key": f"{part.key}:{i}", "doc_key": part.key, "ver": self.ver, "part": i, "body": chunk,
                          "v": [0.0, 0.0]} for i, chunk in enumerate(_parts(body))]
            first = next_id
            for i, p in enumerate(part.passages):
                row = {"id": next_id, "doc_key": part.key, "doc_id": p.doc_id, "ver": self.ver, "idx": i,
                       "section": p.section, "start": p.start, "end": p.end,
                       "vector": part.passage_vectors[i].tolist()}
                if part.seen:
                    row["text"] = part.seen[i].encode("utf-8")[:65000].decode("utf-8", "ignore")
                p_rows.append(row)
                next_id += 1
            for j, (i, s, e) in enumerate(part.sentences):
                s_rows.append({"id": next_id + j, "passage": first + i, "doc_key": part.key, "ver": self.ver,
                               "start": s, "end": e, "vector": part.sentence_vectors[j].tolist()})
            next_id += len(part.sentences)
        total = len(doc_rows) + len(p_rows) + len(s_rows)
        done = 0
        report(Progress("writing", 0, max(total, 1), "row"))
        for kind, rows in (("documents", doc_rows), ("passages", p_rows), ("sentences", s_rows)):
            for at in range(0, len(rows), INSERT_BATCH):
                batch = rows[at : at + INSERT_BATCH]
                self.client.insert(n[kind], batch)
                done += len(batch)
                report(Progress("writing", done, max(total, 1), "row"))
        return next_id

    def commit(self, manifest: dict, name: str) -> MilvusVersion:
        n = names(self.loc)
        manifest = {**manifest, "version": self.ver, "name": name}
        _write_manifest(self.client, self.loc, self.ver, manifest)
        for kind in ("documents", "passages", "sentences", "meta"):
            self.client.flush(n[kind])
        self.lease.check()
        kept = [[self.ver, name]] + [list(v) for v in (self.current or {}).get("kept", [])][: KEEP_VERSIONS - 1]
        _put(self.client, self.loc, "current", {"version": self.ver, "name": name, "kept": kept})  # the switch
        self._prune(kept, manifest)
        return MilvusVersion(self.loc, self.ver, name)

    def _prune(self, kept: list, manifest: dict) -> None:
        """Delete the rows no kept version holds (readers of older versions have their data in memory)."""
        try:
            keys: set[str] = set(info["key"] for info in manifest["documents"].values())
            for ver, _ in kept[1:]:
                keys |= {info["key"] for info in _read_manifest(self.client, self.loc, int(ver))["documents"].values()}
            n = names(self.loc)
            stale = sorted(self.existing_keys() - keys)
            for at in range(0, len(stale), 500):
                expr = f"doc_key in {_quote_list(stale[at : at + 500])}"
                for kind in ("documents", "passages", "sentences"):
                    self.client.delete(n[kind], filter=expr)
            oldest = min(int(v) for v, _ in kept)
            self.client.delete(n["meta"], filter=f'doc_key == "manifest" and ver < {oldest}')
        except Exception as exc:  # pruning is housekeeping: the next writer does it again
            import sys

            print(f"policyqa: old Milvus rows not pruned yet ({_short(str(exc), 100)})", file=sys.stderr)


@contextlib.contextmanager
def writing(loc: MilvusLocation) -> Iterator[Writer]:
    """Take the writer's lease and give a Writer; a failure before ``commit`` leaves the live version serving."""
    client = connect(loc, create=True)
    try:
        with _talking(loc):
            if not client.has_collection(names(loc)["meta"]):
                ip = client.prepare_index_params()
                ip.add_index("v", index_type="FLAT", metric_type="L2")
                _create(client, names(loc)["meta"], _small_schema(client, 200), ip)
            lease = Lease(client, loc)
            lease.acquire()
        try:
            with _talking(loc):
                writer = Writer(client, loc, lease)
            try:
                yield writer
            except AssistantError:
                raise
            except Exception as exc:
                raise _write_failure(loc, exc) from None
        finally:
            lease.release()
    except AssistantError:
        raise


def _write_failure(loc: MilvusLocation, exc: BaseException) -> AssistantError:
    if isinstance(exc, OSError) and not type(exc).__module__.startswith(("grpc", "pymilvus")):
        return IndexWriteError(f"could not write the index at {loc} ({exc.strerror or type(exc).__name__}); "
                               "the previous version, if any, is unchanged: fix it and run the command again")
    failure = _failure(loc, exc)
    return type(failure)(f"{failure}; the previous version, if any, still serves")
