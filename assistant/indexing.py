"""Building an index: corpus → passages and sentences → vectors + BM25 → a new generation.

Documents whose content hash, the model and the chunk settings are unchanged
keep their passages and vectors from the live generation: only new or changed
documents are embedded, and an unchanged corpus writes nothing at all.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import store, vectors
from .chunking import ChunkSettings, chunk_document, embed_text
from .encoder import Encoder, has_onnx, onnx_folder
from .errors import AssistantError
from .ingest import INGEST_VERSION, ParsedDocument, read_corpus
from .lexical import SETTINGS as LEXICAL_SETTINGS
from .lexical import LexicalIndex
from .sentences import split_spans
from .types import Passage


@dataclass(frozen=True)
class BuildReport:
    index: Path
    documents: int
    passages: int
    embedded: int  # passages embedded in this build (the rest were reused)
    changed: bool  # False: the corpus matched the live generation, nothing was written
    seconds: float


@dataclass
class _DocPart:
    """One document's passages, sentences and vectors (reused or still to embed)."""

    passages: list[Passage]
    sentences: list[tuple[int, int, int]]  # (passage index within the doc, start, end)
    passage_vectors: np.ndarray | None = None
    sentence_vectors: np.ndarray | None = None


def _compatible(manifest: dict, encoder: Encoder, settings: ChunkSettings) -> bool:
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
    return (gen, manifest) if _compatible(manifest, encoder, settings) else None


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


def _ensure_query_model(root: Path, encoder: Encoder) -> None:
    """Export the model to ONNX beside the index once, so questions need no torch."""
    export = getattr(encoder, "export_onnx", None)
    if export is None or has_onnx(onnx_folder(root)):
        return
    try:
        export(onnx_folder(root))
    except ImportError as exc:  # the index still works, questions just start slower
        print(f"policyqa: no fast query model exported ({exc}); run `make setup`", file=sys.stderr)


def build_index(
    corpus: str | Path | Sequence[ParsedDocument],
    index: str | Path,
    encoder: Encoder,
    settings: ChunkSettings | None = None,
    *,
    progress: bool = False,
) -> BuildReport:
    """Build (or bring up to date) the index at ``index`` from ``corpus``."""
    t0 = time.perf_counter()
    settings = settings or ChunkSettings()
    root = Path(index)
    parsed = read_corpus(corpus) if isinstance(corpus, (str, Path)) else list(corpus)
    if not parsed:
        raise AssistantError("the corpus has no documents")

    with store.new_generation(root) as writer:
        _ensure_query_model(root, encoder)
        live = _live_manifest(root, encoder, settings)
        old_hashes = {d: v["hash"] for d, v in live[1]["documents"].items()} if live else {}
        hashes = {p.document.doc_id: p.content_hash for p in parsed}
        if old_hashes == hashes:
            # Decided from the manifest alone: a no-op build reads no vectors.
            return BuildReport(root, len(parsed), live[1]["counts"]["passages"], 0, False, time.perf_counter() - t0)

        previous = _previous_parts(live[0]) if live else None
        parts: list[_DocPart] = []
        for doc in parsed:
            doc_id = doc.document.doc_id
            reuse = previous and old_hashes.get(doc_id) == doc.content_hash and doc_id in previous
            parts.append(previous[doc_id] if reuse else _new_part(doc, encoder, settings))
        if not any(part.passages for part in parts):
            raise AssistantError("the corpus has no text to index (every document was empty after cleaning)")

        # Embed what is new: passages and sentences in one call, so one progress bar covers both.
        todo = [part for part in parts if part.passage_vectors is None]
        texts_by_doc = {p.document.doc_id: p.document.text for p in parsed}
        batch: list[str] = []
        for part in todo:
            batch += [embed_text(p.title, p.section, p.text, settings) for p in part.passages]
            doc_text = texts_by_doc[part.passages[0].doc_id] if part.passages else ""
            batch += [doc_text[s:e] for _, s, e in part.sentences]
        encoded = encoder.encode(batch, progress=progress) if batch else np.zeros((0, encoder.dim), np.float32)
        at = 0
        for part in todo:
            n_p, n_s = len(part.passages), len(part.sentences)
            part.passage_vectors = encoded[at : at + n_p]
            part.sentence_vectors = encoded[at + n_p : at + n_p + n_s]
            at += n_p + n_s
        embedded = sum(len(part.passages) for part in todo)

        passages = [p for part in parts for p in part.passages]
        pvecs = np.concatenate([part.passage_vectors for part in parts]).astype(np.float32)
        svecs = np.concatenate([part.sentence_vectors for part in parts]).astype(np.float32).reshape(-1, encoder.dim)
        sentences, base = [], 0
        for part in parts:
            sentences += [(base + i, s, e) for i, s, e in part.sentences]
            base += len(part.passages)

        tmp = writer.tmp
        store.write_jsonl(tmp / "documents.jsonl", (p.document.to_dict() for p in parsed))
        store.write_jsonl(
            tmp / "passages.jsonl",
            ({"doc_id": p.doc_id, "section": p.section, "start": p.start, "end": p.end} for p in passages),
        )
        store.write_jsonl(tmp / "sentences.jsonl", ({"passage": r, "start": s, "end": e} for r, s, e in sentences))
        np.save(tmp / "sentence_vectors.npy", svecs, allow_pickle=False)
        vectors.save(vectors.build(pvecs), tmp / "vectors.faiss")
        (tmp / "bm25").mkdir()
        LexicalIndex.build([embed_text(p.title, p.section, p.text, settings) for p in passages]).save(tmp / "bm25")
        (tmp / "bm25_documents").mkdir()
        LexicalIndex.build([p.document.title + "\n" + p.document.text for p in parsed]).save(tmp / "bm25_documents")

        per_doc: dict[str, dict] = {
            p.document.doc_id: {"hash": p.content_hash, "source": p.document.source, "passages": 0} for p in parsed
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
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )
    return BuildReport(root, len(parsed), len(passages), embedded, True, time.perf_counter() - t0)
