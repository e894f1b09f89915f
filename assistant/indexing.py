"""Building an index: corpus → passages → vectors + BM25 → a new generation.

Documents whose content hash, the model and the chunk settings are unchanged
keep their passages and vectors from the live generation: only new or changed
documents are embedded, and an unchanged corpus writes nothing at all.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import store, vectors
from .chunking import ChunkSettings, chunk_document, embed_text
from .encoder import Encoder
from .errors import AssistantError
from .ingest import INGEST_VERSION, ParsedDocument, read_corpus
from .lexical import SETTINGS as LEXICAL_SETTINGS
from .lexical import LexicalIndex
from .types import Passage


@dataclass(frozen=True)
class BuildReport:
    index: Path
    documents: int
    passages: int
    embedded: int  # passages embedded in this build (the rest were reused)
    changed: bool  # False: the corpus matched the live generation, nothing was written
    seconds: float


def _compatible(manifest: dict, encoder: Encoder, settings: ChunkSettings) -> bool:
    return (
        manifest.get("model", {}).get("name") == encoder.name
        and manifest.get("model", {}).get("dim") == encoder.dim
        and manifest.get("chunking") == settings.to_dict()
        and manifest.get("ingest_version") == INGEST_VERSION
    )


def _previous(root: Path, encoder: Encoder, settings: ChunkSettings):
    """(manifest, passages by doc, vectors by doc) of the live generation, if reusable."""
    try:
        gen = store.resolve_generation(root)
        manifest = store.read_manifest(gen)
        if not _compatible(manifest, encoder, settings):
            return None
        documents = store.read_documents(gen)
        passages = store.read_passages(gen, documents)
        matrix = vectors.all_vectors(vectors.load(gen / "vectors.faiss"))
    except (AssistantError, OSError, ValueError, KeyError, RuntimeError):
        return None  # nothing usable: build from scratch
    if len(matrix) != len(passages):
        return None
    by_doc: dict[str, list[int]] = {}
    for row, p in enumerate(passages):
        by_doc.setdefault(p.doc_id, []).append(row)
    return manifest, passages, matrix, by_doc


def build_index(
    corpus: str | Path | Sequence[ParsedDocument],
    index: str | Path,
    encoder: Encoder,
    settings: ChunkSettings | None = None,
    *,
    progress: bool = False,
    corpus_label: str | None = None,
) -> BuildReport:
    """Build (or bring up to date) the index at ``index`` from ``corpus``."""
    t0 = time.perf_counter()
    settings = settings or ChunkSettings()
    root = Path(index)
    parsed = read_corpus(corpus) if isinstance(corpus, (str, Path)) else list(corpus)
    if not parsed:
        raise AssistantError("the corpus has no documents")
    label = corpus_label if corpus_label is not None else (str(corpus) if isinstance(corpus, (str, Path)) else "")

    with store.new_generation(root) as writer:
        prev = _previous(root, encoder, settings)
        hashes = {p.document.doc_id: p.content_hash for p in parsed}
        if prev and {d: v["hash"] for d, v in prev[0]["documents"].items()} == hashes:
            n = prev[0]["counts"]["passages"]
            return BuildReport(root, len(parsed), n, 0, False, time.perf_counter() - t0)

        passages: list[Passage] = []
        rows: list[np.ndarray | None] = []  # reused vector, or None to embed
        for doc in parsed:
            old = prev and prev[0]["documents"].get(doc.document.doc_id)
            if old and old["hash"] == doc.content_hash:
                _, old_passages, matrix, by_doc = prev
                for r in by_doc.get(doc.document.doc_id, []):
                    passages.append(old_passages[r])
                    rows.append(matrix[r])
            else:
                new = chunk_document(doc, encoder.count_tokens, encoder.max_tokens, settings)
                passages.extend(new)
                rows.extend([None] * len(new))
        if not passages:
            raise AssistantError("the corpus has no text to index (every document was empty after cleaning)")

        texts = [embed_text(p.title, p.section, p.text, settings) for p in passages]
        todo = [i for i, r in enumerate(rows) if r is None]
        matrix = np.zeros((len(passages), encoder.dim), dtype=np.float32)
        if todo:
            matrix[todo] = encoder.encode([texts[i] for i in todo], progress=progress)
        for i, r in enumerate(rows):
            if r is not None:
                matrix[i] = r

        tmp = writer.tmp
        store.write_jsonl(tmp / "documents.jsonl", (p.document.to_dict() for p in parsed))
        store.write_jsonl(
            tmp / "passages.jsonl",
            ({"doc_id": p.doc_id, "section": p.section, "start": p.start, "end": p.end} for p in passages),
        )
        vectors.save(vectors.build(matrix), tmp / "vectors.faiss")
        (tmp / "bm25").mkdir()
        LexicalIndex.build(texts).save(tmp / "bm25")

        per_doc: dict[str, dict] = {}
        for p in parsed:
            per_doc[p.document.doc_id] = {"hash": p.content_hash, "source": p.document.source, "passages": 0}
        for p in passages:
            per_doc[p.doc_id]["passages"] += 1
        writer.commit(
            {
                "model": {"name": encoder.name, "dim": encoder.dim, "max_tokens": encoder.max_tokens},
                "chunking": settings.to_dict(),
                "ingest_version": INGEST_VERSION,
                "lexical": LEXICAL_SETTINGS,
                "corpus": label,
                "counts": {"documents": len(parsed), "passages": len(passages)},
                "documents": per_doc,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )
    return BuildReport(root, len(parsed), len(passages), len(todo), True, time.perf_counter() - t0)
