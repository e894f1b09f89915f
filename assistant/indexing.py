"""Building an index: corpus → passages and sentences → vectors + BM25 → a new generation.

Documents whose content hash, the model and the chunk settings are unchanged
keep their passages and vectors from the live generation: only new or changed
documents are embedded, and an unchanged corpus writes nothing at all.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import replace as replace_field
from pathlib import Path

import numpy as np

from . import locations, store, vectors
from .chunking import ChunkSettings, chunk_document, context_line, embed_text, own_title
from .encoder import Encoder, has_onnx, onnx_folder
from .errors import AssistantError, DocumentExistsError, IndexCorruptError, IndexIncompatibleError, IndexMissingError, InputError
from .ingest import INGEST_VERSION, ParsedDocument, is_beir, read_corpus, read_paths
from .lexical import SETTINGS as LEXICAL_SETTINGS
from .lexical import LexicalIndex, matching_text
from .locations import MilvusLocation
from .progress import Progress, ProgressFn, reporting, silent
from .sentences import split_spans
from .types import Document, Passage


@dataclass(frozen=True)
class BuildReport:
    index: Path
    documents: int
    passages: int
    embedded: int  # passages embedded in this build (the rest were reused)
    changed: bool  # False: the corpus matched the live generation, nothing was written
    seconds: float
    replaced: tuple[str, ...] = ()  # ids of documents an add replaced (their text had changed)


@dataclass
class _DocPart:
    """One document's passages, sentences and vectors (reused or still to embed)."""

    passages: list[Passage]
    sentences: list[tuple[int, int, int]]  # (passage index within the doc, start, end)
    passage_vectors: np.ndarray | None = None
    sentence_vectors: np.ndarray | None = None


def compatible(manifest: dict, encoder: Encoder, settings: ChunkSettings) -> bool:
    """Whether an index with this manifest was built with this model, these chunk settings and
    this ingest version (otherwise it is rebuilt, not updated)."""
    return (
        manifest.get("model", {}).get("name") == encoder.name
        and manifest.get("model", {}).get("dim") == encoder.dim
        and manifest.get("chunking") == settings.to_dict()
        and manifest.get("ingest_version") == INGEST_VERSION
    )


def _live_manifest(root: Path, encoder: Encoder, settings: ChunkSettings) -> tuple[Path, dict] | None:
    """The live generation and its manifest, if it was built with this model and these settings."""
    try:
        gen = store.resolve_generation(root)
        manifest = store.read_manifest(gen)
    except AssistantError:
        return None
    return (gen, manifest) if compatible(manifest, encoder, settings) else None


def _previous_parts(gen: Path) -> dict[str, _DocPart] | None:
    """The live generation's passages, sentences and vectors by document, or None if unreadable."""
    try:
        loaded = store.read_generation(gen)
        pvecs = vectors.all_vectors(vectors.load(gen / "vectors.faiss"))
    except (AssistantError, OSError, ValueError, KeyError, RuntimeError):
        return None  # nothing usable: build from scratch
    if len(pvecs) != len(loaded.passages) or len(loaded.sentence_vectors) != len(loaded.sentences):
        return None
    parts: dict[str, _DocPart] = {}
    first_row: dict[str, int] = {}
    for row, p in enumerate(loaded.passages):
        part = parts.setdefault(p.doc_id, _DocPart([], []))
        first_row.setdefault(p.doc_id, row)
        part.passages.append(p)
    srows: dict[str, list[int]] = {}
    for srow, (prow, s, e) in enumerate(loaded.sentences):
        doc_id = loaded.passages[prow].doc_id
        parts[doc_id].sentences.append((prow - first_row[doc_id], s, e))
        srows.setdefault(doc_id, []).append(srow)
    for doc_id, part in parts.items():
        a = first_row[doc_id]
        part.passage_vectors = pvecs[a : a + len(part.passages)]
        part.sentence_vectors = np.asarray(loaded.sentence_vectors[srows.get(doc_id, [])], dtype=np.float32)
    return parts


def _new_part(doc: ParsedDocument, encoder: Encoder, settings: ChunkSettings) -> _DocPart:
    passages = chunk_document(doc, encoder.count_tokens, encoder.max_tokens, settings)
    text = doc.document.text
    sentences = [(i, s, e) for i, p in enumerate(passages) for s, e in split_spans(text, p.start, p.end)]
    return _DocPart(passages, sentences)


def _head(p: Passage, settings: ChunkSettings) -> str:
    """The "title — section" line embedded with a passage when the settings say so (BEIR corpora), else ""."""
    return context_line(own_title(p.title, p.doc_id), p.section) if settings.context_prefix else ""


def _own_texts(part: _DocPart, settings: ChunkSettings) -> list[str]:
    """Per passage, the text embedded for it besides its sentences: its head line when it has
    sentences (often ""), its whole seen text when it has none."""
    has = {i for i, _, _ in part.sentences}
    return [_head(p, settings) if i in has else _seen_text(p, settings) for i, p in enumerate(part.passages)]


def weighted_means(n: int, owner: np.ndarray, weight: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Row i: the ``weight``-weighted sum of the rows of ``vectors`` whose ``owner`` is i, scaled
    to unit length (zeros where i owns none)."""
    out = np.zeros((n, vectors.shape[1]), dtype=np.float32)
    if len(owner):
        np.add.at(out, owner, np.asarray(vectors, dtype=np.float32) * weight[:, None])
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)


def _passage_vectors(part: _DocPart, own: list[str], vector_of: Callable[[str], np.ndarray], dim: int) -> np.ndarray:
    """Each passage's vector: the length-weighted mean of its sentences' vectors and of its
    ``own`` text's (see ``_own_texts``), which alone makes the vector of a passage without sentences.

    Embedding each passage as well as its sentences cost 1.75x the model time. With the mean (and
    BM25's weight retuned on the "tune" questions, 0.4 -> 0.3) hit@1 rose on every question set
    not tuned on but the held-out one, which stayed at 0.778: blind 0.700 -> 0.800, blind2 0.767 ->
    0.833, blind3 0.825 -> 0.850, the unseen blind4 0.800 -> 0.825 (BENCHMARKS.md).
    """
    extra = [(i, text) for i, text in enumerate(own) if text]
    owner = np.array([i for i, _, _ in part.sentences] + [i for i, _ in extra], dtype=np.int64)
    weight = np.array([e - s for _, s, e in part.sentences] + [len(t) for _, t in extra], dtype=np.float32)
    rows = [np.asarray(part.sentence_vectors, dtype=np.float32).reshape(-1, dim)]
    rows += [vector_of(t)[None, :] for _, t in extra]
    return weighted_means(len(part.passages), owner, weight, np.concatenate(rows))


def _seen_text(p: Passage, settings: ChunkSettings) -> str:
    """A passage as the embedding model and BM25 see it."""
    return embed_text(own_title(p.title, p.doc_id), p.section, p.text, settings)


def _ensure_query_model(root: Path, encoder: Encoder) -> None:
    """Export the model to ONNX beside the index once, so questions need no torch."""
    export = getattr(encoder, "export_onnx", None)
    if export is None or has_onnx(onnx_folder(root)):
        return
    try:
        export(onnx_folder(root))
    except ImportError as exc:  # the index still works, questions just start slower
        print(f"policyqa: no fast query model exported ({exc}); run `make setup`", file=sys.stderr)


def _embed(texts: list[str], encoder: Encoder, report: ProgressFn) -> np.ndarray:
    """``encoder.encode(texts)``, reporting each batch as the encoder finishes it."""
    if not texts:
        return np.zeros((0, encoder.dim), np.float32)
    done = 0

    def embedded(n: int) -> None:
        nonlocal done
        done += n
        report(Progress("embedding", done, len(texts), "text"))

    report(Progress("embedding", 0, len(texts), "text"))
    out = encoder.encode([matching_text(t) for t in texts], progress=embedded)
    if done < len(texts):  # an encoder that does not report its batches
        report(Progress("embedding", len(texts), len(texts), "text"))
    return out


@dataclass(frozen=True)
class _Entry:
    """One document of the next generation: parsed, or carried over unchanged from the live one."""

    doc: ParsedDocument
    added: bool  # brought in by `add`, not by the corpus: a corpus build keeps it


@dataclass(frozen=True)
class _Plan:
    entries: list[_Entry]
    excluded: list[str]  # corpus documents the user removed: a corpus build leaves them out


def _carried(gen: Path, manifest: dict) -> dict[str, ParsedDocument]:
    """The live generation's documents as ParsedDocuments whose parts will be reused as they are."""
    if not isinstance(gen, Path):  # a Milvus version: its rows stay where they are, only ids and hashes matter
        return {d: ParsedDocument(Document(d, "", (), "", str(v.get("source", "")), ""), (), v["hash"])
                for d, v in manifest["documents"].items()}
    docs = store.read_documents(gen)
    return {d: ParsedDocument(docs[d], (), v["hash"]) for d, v in manifest["documents"].items() if d in docs}


def corpus_plan(parsed: Sequence[ParsedDocument], manifest: dict | None, carried: dict[str, ParsedDocument] | None) -> _Plan:
    """A corpus build: the corpus's documents (but those the user removed) plus those the user added."""
    excluded = list(manifest.get("excluded", [])) if manifest else []
    entries = [_Entry(p, False) for p in parsed if p.document.doc_id not in excluded]
    ids = {e.doc.document.doc_id for e in entries}
    for doc_id, info in (manifest or {}).get("documents", {}).items():
        if info.get("added") and doc_id not in ids and carried and doc_id in carried:
            entries.append(_Entry(carried[doc_id], True))
    return _Plan(entries, excluded)


def corpus_is_current(parsed: Sequence[ParsedDocument], manifest: dict) -> bool:
    """Whether a corpus build would change nothing (decided from the manifest alone)."""
    excluded = set(manifest.get("excluded", []))
    want = {p.document.doc_id: p.content_hash for p in parsed if p.document.doc_id not in excluded}
    have = {d: v["hash"] for d, v in manifest.get("documents", {}).items() if not v.get("added")}
    return want == have


def build_index(
    corpus: str | Path | Sequence[ParsedDocument],
    index: str | Path,
    encoder: Encoder,
    settings: ChunkSettings | None = None,
    *,
    progress: bool | ProgressFn = False,
) -> BuildReport:
    """Build (or bring up to date) the index at ``index`` from ``corpus``, keeping added documents.

    ``progress``: True for the console's bar (or lines), or a callback that gets ``Progress`` events."""
    with reporting(progress) as report:
        parsed = read_corpus(corpus, report) if isinstance(corpus, (str, Path)) else list(corpus)
        if not parsed:
            raise AssistantError("the corpus has no documents")
        return _build(parsed, _where(index), encoder, settings or default_settings(corpus), report)


def _build(parsed: list[ParsedDocument], index: Path, encoder: Encoder, settings: ChunkSettings,
           report: ProgressFn) -> BuildReport:

    def plan(live: tuple[Path, dict] | None) -> _Plan | None:
        if live and corpus_is_current(parsed, live[1]):
            return None  # decided from the manifest alone: a no-op build reads no vectors
        return corpus_plan(parsed, live[1] if live else None, _carried(*live) if live else None)

    return _update(index, encoder, settings, plan, report, require_live=False)


def default_settings(corpus: str | Path | Sequence[ParsedDocument]) -> ChunkSettings:
    """The chunk settings a corpus is built with when the caller names none.

    A BEIR record is a titled abstract whose title is part of its content, so its passages are
    embedded and BM25-indexed as "title + text", as BEIR's published baselines do. Files keep
    the title out: on the policy documents, whose title heads dozens of passages, it hurt.
    """
    if isinstance(corpus, (str, Path)) and is_beir(corpus):
        return ChunkSettings(context_prefix=True)
    return ChunkSettings()


def add_documents(
    paths: Sequence[str | Path], index: str | Path, encoder: Encoder, *, progress: bool | ProgressFn = False,
    replace: bool = False,
) -> BuildReport:
    """Add the documents of ``paths``: only they are embedded.

    A document whose id (its file's stem) the index already holds with other text is refused,
    unless ``replace``: two files named report.txt from two folders must not silently become
    one. The same file added again changes nothing.
    """
    if not paths:
        raise InputError("no files to add")
    with reporting(progress) as report:
        # Every file is read (and refused, all problems in one error) before anything is written.
        new = {doc.document.doc_id: doc for doc in read_paths(paths, report)}
        return _add(new, _where(index), encoder, replace, report)


def _add(new: dict[str, ParsedDocument], index: Path, encoder: Encoder, replace: bool,
         report: ProgressFn) -> BuildReport:
    replaced: list[str] = []

    def plan(live: tuple[Path, dict] | None) -> _Plan | None:
        gen, manifest = live  # type: ignore[misc]
        docs = manifest["documents"]
        clash = sorted(d for d, p in new.items() if d in docs and docs[d].get("hash") != p.content_hash)
        if clash and not replace:
            raise DocumentExistsError(
                f"the index already holds a different document with the id {', '.join(clash)}: rename the file, "
                "or replace it (policyqa add --replace; replace=True)")
        replaced[:] = clash
        if all(docs.get(d, {}).get("hash") == p.content_hash for d, p in new.items()):
            return None
        carried = _carried(gen, manifest)
        entries = [_Entry(carried[d], bool(info.get("added"))) for d, info in docs.items() if d not in new]
        entries += [_Entry(p, True) for p in new.values()]
        return _Plan(entries, [d for d in manifest.get("excluded", []) if d not in new])

    built = _update(index, encoder, _settings_of(index), plan, report, require_live=True)
    return replace_field(built, replaced=tuple(replaced))


def remove_documents(doc_ids: Sequence[str], index: str | Path, encoder: Encoder) -> BuildReport:
    """Remove documents by id; a corpus build will not bring removed corpus documents back."""
    if not doc_ids:
        raise InputError("no document ids to remove")

    def plan(live: tuple[Path, dict] | None) -> _Plan | None:
        gen, manifest = live  # type: ignore[misc]
        docs = manifest["documents"]
        unknown = [d for d in doc_ids if d not in docs]
        if unknown:
            raise InputError(f"unknown document id: {', '.join(unknown)} (see `policyqa list`)")
        if set(doc_ids) >= set(docs):
            raise InputError("that would remove every document; delete the index folder instead")
        carried = _carried(gen, manifest)
        entries = [_Entry(carried[d], bool(info.get("added"))) for d, info in docs.items() if d not in doc_ids]
        excluded = set(manifest.get("excluded", [])) | {d for d in doc_ids if not docs[d].get("added")}
        return _Plan(entries, sorted(excluded))

    return _update(_where(index), encoder, _settings_of(index), plan, silent, require_live=True)


def _where(index: str | Path | MilvusLocation) -> Path | MilvusLocation:
    where = locations.parse(index)
    return where if isinstance(where, MilvusLocation) else Path(where)


def _settings_of(index: str | Path | MilvusLocation) -> ChunkSettings:
    """The chunk settings the live generation was built with (add and remove keep them)."""
    where = _where(index)
    if isinstance(where, MilvusLocation):
        from . import milvus_store

        manifest = milvus_store.read_manifest(milvus_store.live_version(where))
    else:
        manifest = store.read_manifest(store.resolve_generation(where))
    try:
        return ChunkSettings(**manifest["chunking"])
    except (KeyError, TypeError):
        raise IndexCorruptError(f"the index at {index} is damaged (its manifest has no valid chunking settings): "
                                f"rebuild it with `policyqa build --index {index}`") from None


def _embed_parts(parts: list[_DocPart], parsed: Sequence[ParsedDocument], settings: ChunkSettings, encoder: Encoder,
                 report: ProgressFn) -> int:
    """Embed what is new: the sentences, and only those passages that have none; the passages embedded."""
    todo = [part for part in parts if part.passage_vectors is None]
    texts_by_doc = {p.document.doc_id: p.document.text for p in parsed}
    sentence_texts, own_texts = [], []
    for part in todo:
        doc_text = texts_by_doc[part.passages[0].doc_id] if part.passages else ""
        sentence_texts.append([doc_text[s:e] for _, s, e in part.sentences])
        own_texts.append(_own_texts(part, settings))
    # Each distinct text once (the same sentence can recur).
    every = (t for texts in (*sentence_texts, *own_texts) for t in texts if t)
    row = {text: i for i, text in enumerate(dict.fromkeys(every))}
    unique = _embed(list(row), encoder, report)
    for part, sentences_of, own in zip(todo, sentence_texts, own_texts, strict=True):
        part.sentence_vectors = unique[[row[t] for t in sentences_of]].reshape(-1, encoder.dim)
        part.passage_vectors = _passage_vectors(part, own, lambda t: unique[row[t]], encoder.dim)
    return sum(len(part.passages) for part in todo)


def _update(
    root: Path,
    encoder: Encoder,
    settings: ChunkSettings,
    make_plan,
    report: ProgressFn,
    *,
    require_live: bool,
) -> BuildReport:
    """Under the writer lock: plan the next generation from the live one, embed what is new, commit."""
    if isinstance(root, MilvusLocation):
        return _update_milvus(root, encoder, settings, make_plan, report, require_live=require_live)
    t0 = time.perf_counter()
    with store.new_generation(root) as writer:
        report(Progress("planning"))
        _ensure_query_model(root, encoder)
        live = _live_manifest(root, encoder, settings)
        if require_live and live is None:
            store.read_manifest(store.resolve_generation(root))  # says what is wrong, if anything is
            raise IndexIncompatibleError(
                f"the index at {root} was built with another model or settings: rebuild it with "
                f"`policyqa build --index {root}` first"
            )
        plan = make_plan(live)
        if plan is None:
            manifest = live[1]
            return BuildReport(root, manifest["counts"]["documents"], manifest["counts"]["passages"], 0, False,
                               time.perf_counter() - t0)
        parsed = [e.doc for e in plan.entries]
        old_hashes = {d: v["hash"] for d, v in live[1]["documents"].items()} if live else {}
        previous = _previous_parts(live[0]) if live else None
        parts: list[_DocPart] = []
        for n, doc in enumerate(parsed):
            report(Progress("chunking", n, len(parsed), "document"))
            doc_id = doc.document.doc_id
            reuse = previous and old_hashes.get(doc_id) == doc.content_hash and doc_id in previous
            if not reuse and not doc.sections:  # carried over, but its stored parts are unreadable
                raise store.corrupt(root, f"the stored passages of {doc_id!r} cannot be read")
            parts.append(previous[doc_id] if reuse else _new_part(doc, encoder, settings))
        report(Progress("chunking", len(parsed), len(parsed), "document"))
        if not any(part.passages for part in parts):
            raise AssistantError("the corpus has no text to index (every document was empty after cleaning)")

        embedded = _embed_parts(parts, parsed, settings, encoder, report)

        passages = [p for part in parts for p in part.passages]
        pvecs = np.concatenate([part.passage_vectors for part in parts]).astype(np.float32)
        svecs = np.concatenate([part.sentence_vectors for part in parts]).astype(np.float32).reshape(-1, encoder.dim)
        sentences, base = [], 0
        for part in parts:
            sentences += [(base + i, s, e) for i, s, e in part.sentences]
            base += len(part.passages)

        tmp = writer.tmp
        steps = 5

        def wrote(n: int) -> None:
            report(Progress("writing", n, steps, "part"))

        wrote(0)
        store.write_jsonl(tmp / "documents.jsonl", (p.document.to_dict() for p in parsed))
        store.write_jsonl(
            tmp / "passages.jsonl",
            ({"doc_id": p.doc_id, "section": p.section, "start": p.start, "end": p.end} for p in passages),
        )
        store.write_jsonl(tmp / "sentences.jsonl", ({"passage": r, "start": s, "end": e} for r, s, e in sentences))
        wrote(1)
        np.save(tmp / "sentence_vectors.npy", svecs, allow_pickle=False)
        wrote(2)
        vectors.save(vectors.build(pvecs), tmp / "vectors.faiss")
        wrote(3)
        (tmp / "bm25").mkdir()
        LexicalIndex.build([_seen_text(p, settings) for p in passages]).save(tmp / "bm25")
        wrote(4)
        (tmp / "bm25_documents").mkdir()
        LexicalIndex.build([own_title(p.document.title, p.document.doc_id) + "\n" + p.document.text for p in parsed]).save(tmp / "bm25_documents")
        wrote(5)

        per_doc: dict[str, dict] = {
            e.doc.document.doc_id: {"hash": e.doc.content_hash, "source": e.doc.document.source, "passages": 0,
                                    "added": e.added}
            for e in plan.entries
        }
        for p in passages:
            per_doc[p.doc_id]["passages"] += 1
        writer.commit(
            {
                "model": {"name": encoder.name, "dim": encoder.dim, "max_tokens": encoder.max_tokens},
                "chunking": settings.to_dict(),
                "ingest_version": INGEST_VERSION,
                "lexical": LEXICAL_SETTINGS,
                "counts": {"documents": len(parsed), "passages": len(passages), "sentences": len(sentences)},
                "documents": per_doc,
                "excluded": plan.excluded,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )
    return BuildReport(root, len(parsed), len(passages), embedded, True, time.perf_counter() - t0)


def _update_milvus(
    loc: MilvusLocation,
    encoder: Encoder,
    settings: ChunkSettings,
    make_plan,
    report: ProgressFn,
    *,
    require_live: bool,
) -> BuildReport:
    """The same steps on a Milvus index, under its writer's lease: only new documents' rows are
    written (a document that did not change keeps its rows, shared by every version holding it),
    then the version's manifest, then the switch."""
    from . import milvus_store

    t0 = time.perf_counter()
    model = {"name": encoder.name, "dim": encoder.dim, "max_tokens": encoder.max_tokens}
    with milvus_store.writing(loc) as writer:
        report(Progress("planning"))
        _ensure_query_model(loc.local_root, encoder)
        live = writer.live()
        if live is not None and not compatible(live[1], encoder, settings):
            if require_live:
                raise IndexIncompatibleError(
                    f"the index at {loc} was built with another model or settings: rebuild it with "
                    f"`policyqa build --index {loc}` first")
            live = None
        elif live is None and require_live:
            raise IndexMissingError(f"no index at {loc}: build one with `policyqa build --index {loc}`")
        plan = make_plan(live)
        if plan is None:
            manifest = live[1]
            return BuildReport(loc, manifest["counts"]["documents"], manifest["counts"]["passages"], 0, False,
                               time.perf_counter() - t0)
        parsed = [e.doc for e in plan.entries]
        hint = live[1]["counts"]["passages"] if live else sum(len(p.document.text) for p in parsed) // 1000
        mode = writer.prepare(encoder.dim, model, hint)
        bits = {"model": model, "chunking": settings.to_dict(), "ingest_version": INGEST_VERSION}
        existing = writer.existing_keys()
        held = {info["key"]: info for info in (live[1]["documents"].values() if live else ())}
        per_doc: dict[str, dict] = {}
        fresh: list[tuple[ParsedDocument, str, _DocPart]] = []
        for n, e in enumerate(plan.entries):
            report(Progress("chunking", n, len(parsed), "document"))
            doc_id = e.doc.document.doc_id
            key = milvus_store.document_key(doc_id, e.doc.content_hash, bits)
            info = {"hash": e.doc.content_hash, "source": e.doc.document.source, "added": e.added, "key": key}
            if key in existing:
                counts = held.get(key) or writer.counts(key)
                per_doc[doc_id] = {**info, "passages": counts["passages"], "sentences": counts["sentences"]}
                continue
            if not e.doc.sections:  # carried over, but its rows are gone
                raise IndexCorruptError(f"the index at {loc} is damaged (the rows of {doc_id!r} are missing): "
                                        f"rebuild it with `policyqa build --index {loc}`")
            part = _new_part(e.doc, encoder, settings)
            fresh.append((e.doc, key, part))
            per_doc[doc_id] = {**info, "passages": len(part.passages), "sentences": len(part.sentences)}
        report(Progress("chunking", len(parsed), len(parsed), "document"))
        passages = sum(v["passages"] for v in per_doc.values())
        if not passages:
            raise AssistantError("the corpus has no text to index (every document was empty after cleaning)")
        embedded = _embed_parts([part for _, _, part in fresh], [doc for doc, _, _ in fresh], settings, encoder, report)
        new = [milvus_store.NewPart(doc.document, key, part.passages, part.sentences,
                                    np.asarray(part.passage_vectors, dtype=np.float32),
                                    np.asarray(part.sentence_vectors, dtype=np.float32).reshape(-1, encoder.dim),
                                    [_seen_text(p, settings) for p in part.passages] if mode == "milvus" else [])
               for doc, key, part in fresh]
        next_id = writer.write(new, writer.next_free_id(live[1] if live else None), report)
        name = f"gen-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"
        writer.commit(
            {
                "model": model,
                "chunking": settings.to_dict(),
                "ingest_version": INGEST_VERSION,
                "lexical": LEXICAL_SETTINGS,
                "lexical_mode": mode,
                "counts": {"documents": len(parsed), "passages": passages,
                           "sentences": sum(v["sentences"] for v in per_doc.values())},
                "documents": per_doc,
                "excluded": plan.excluded,
                "next_id": next_id,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
            name,
        )
    return BuildReport(loc, len(parsed), passages, embedded, True, time.perf_counter() - t0)
