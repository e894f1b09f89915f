"""The index folder: plain files, written as whole generations, checked on load.

Layout::

    INDEX/
      CURRENT              the name of the live generation (one line)
      .lock                held by a writer while it writes
      gen-<time>-<rand>/   one complete index
        manifest.json      format, model, chunking, per-document hashes, file sizes
        documents.jsonl    one Document per line
        passages.jsonl     one Passage per line, in vector order
        sentences.jsonl    every sentence span of every passage: {passage, start, end}
        sentence_vectors.npy  one unit vector per sentence (float32, no pickle)
        vectors.faiss      FAISS index of the passages' unit vectors (inner product)
        bm25/              bm25s's own files over passages (arrays as .npy, vocabulary as JSON)
        bm25_documents/    the same over whole documents

A writer builds a generation in a hidden temporary folder, renames it into
place and then swaps CURRENT with an atomic rename, so a reader (or a crash at
any moment) sees the old index or the new one, never a mix. No pickle: every
file is JSON, .npy without objects, or FAISS's own format.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import IndexBusyError, IndexCorruptError, IndexIncompatibleError, IndexMissingError, IndexWriteError
from .types import Document, Passage

FORMAT = "policyqa-index"
# 2: passage vectors are the mean of their sentences' vectors (1: embedded on their own).
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
KEEP_GENERATIONS = 2  # the live one and the one before it, for readers still on it


def _rebuild_hint(root: Path) -> str:
    return f"rebuild it with `policyqa build --index {root}`"


def corrupt(path: Path, detail: object) -> IndexCorruptError:
    """The one message for a damaged index: what is wrong, and how to rebuild it."""
    root = path.parent if (path.parent / CURRENT).exists() else path
    return IndexCorruptError(f"the index at {root} is damaged ({detail}): {_rebuild_hint(root)}")


# ---------------------------------------------------------------- reading


def resolve_generation(path: str | Path) -> Path:
    """The folder holding manifest.json: ``path`` itself, or the generation CURRENT names."""
    path = Path(path)
    if (path / MANIFEST).is_file():
        return path
    pointer = path / CURRENT
    if not pointer.is_file():
        if path.exists() and not path.is_dir():
            raise IndexMissingError(f"{path} is a file, not an index folder")
        raise IndexMissingError(f"no index at {path}: build one with `policyqa build --index {path}`")
    name = pointer.read_text(encoding="utf-8").strip()
    gen = path / name
    if not name or "/" in name or not (gen / MANIFEST).is_file():
        raise IndexCorruptError(f"the index at {path} is damaged (CURRENT names a missing generation {name!r}): {_rebuild_hint(path)}")
    return gen


def read_manifest(gen: Path) -> dict[str, Any]:
    root = gen.parent if (gen.parent / CURRENT).exists() else gen
    try:
        manifest = json.loads((gen / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexMissingError(f"no index at {gen}: build one with `policyqa build --index {gen}`") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"the index at {root} is damaged (manifest.json: {exc}): {_rebuild_hint(root)}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexCorruptError(f"{gen} is not a policyqa index (manifest.json has no format {FORMAT!r}): {_rebuild_hint(root)}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexIncompatibleError(
            f"the index at {root} has format version {manifest.get('format_version')}, this program reads "
            f"version {FORMAT_VERSION}: {_rebuild_hint(root)}"
        )
    # Sizes catch truncated or half-copied files before any parser sees them.
    for name, size in manifest.get("files", {}).items():
        f = gen / name
        if not f.is_file() or f.stat().st_size != size:
            raise IndexCorruptError(f"the index at {root} is damaged ({name} is missing or has the wrong size): {_rebuild_hint(root)}")
    return manifest


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def read_documents(gen: Path) -> dict[str, Document]:
    return {d["doc_id"]: Document.from_dict(d) for d in read_jsonl(gen / "documents.jsonl")}


def read_passages(gen: Path, documents: dict[str, Document]) -> list[Passage]:
    """Passages store only spans and section; text and title come from their document."""
    out = []
    for rec in read_jsonl(gen / "passages.jsonl"):
        doc = documents[rec["doc_id"]]
        start, end = int(rec["start"]), int(rec["end"])
        out.append(Passage(doc.doc_id, doc.title, rec["section"], doc.text[start:end], start, end,
                           page=doc.page_at(start)))
    return out


@dataclass(frozen=True)
class LoadedGeneration:
    """The plain-file parts of a generation (FAISS and BM25 are loaded by their modules)."""

    documents: dict[str, Document]
    passages: list[Passage]
    sentences: list[tuple[int, int, int]]  # (passage row, start, end)
    sentence_vectors: np.ndarray  # a view of the memory-mapped file


def read_generation(gen: Path) -> LoadedGeneration:
    documents = read_documents(gen)
    passages = read_passages(gen, documents)
    sentences = [(int(r["passage"]), int(r["start"]), int(r["end"])) for r in read_jsonl(gen / "sentences.jsonl")]
    # Mapped, not read; a plain-array view of the map, since memmap's subclass slows each slice.
    svecs = np.load(gen / "sentence_vectors.npy", mmap_mode="r", allow_pickle=False).view(np.ndarray)
    if len(svecs) != len(sentences) or any(not 0 <= r < len(passages) for r, _, _ in sentences):
        raise ValueError(f"{len(svecs)} sentence vectors for {len(sentences)} sentences")
    return LoadedGeneration(documents, passages, sentences, svecs)


# ---------------------------------------------------------------- writing


@contextlib.contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """One writer at a time; a second gets a clear error instead of waiting or corrupting."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusyError(f"the index at {root} is being updated by another process; try again when it finishes") from None
        yield
    finally:
        os.close(fd)  # closing releases the lock; so does the process dying


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for sub, _dirs, files in os.walk(path):
        for name in files:
            with open(os.path.join(sub, name), "rb") as f:
                os.fsync(f.fileno())
        _fsync_dir(Path(sub))


def write_jsonl(path: Path, records: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


@dataclass
class GenerationWriter:
    """A generation being written in a temporary folder; ``commit`` makes it live."""

    root: Path
    tmp: Path

    def commit(self, manifest: dict[str, Any]) -> Path:
        manifest = dict(manifest)
        manifest["format"] = FORMAT
        manifest["format_version"] = FORMAT_VERSION
        manifest["files"] = {
            str(p.relative_to(self.tmp)): p.stat().st_size for p in sorted(self.tmp.rglob("*")) if p.is_file()
        }
        (self.tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        _fsync_tree(self.tmp)
        name = self.tmp.name.removeprefix(".tmp-")
        gen = self.root / name
        os.rename(self.tmp, gen)
        pointer_tmp = self.root / f".{CURRENT}.{name}"
        pointer_tmp.write_text(name + "\n", encoding="utf-8")
        with open(pointer_tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(pointer_tmp, self.root / CURRENT)  # the atomic switch
        _fsync_dir(self.root)
        _prune(self.root, keep=name)
        return gen


@contextlib.contextmanager
def new_generation(root: str | Path) -> Iterator[GenerationWriter]:
    """Lock the index, give a temporary folder to fill, clean it up if anything fails.

    A disk error (full disk, read-only folder, no permission) becomes one IndexWriteError
    that says the previous index is untouched: nothing is switched until the commit.
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise IndexMissingError(f"{root} is a file, not an index folder")
    if (root / MANIFEST).is_file():
        raise IndexIncompatibleError(f"{root} is a single generation folder; build into its parent index folder instead")
    tmp = None
    try:
        with writer_lock(root):
            for stale in root.glob(".tmp-gen-*"):  # left by a writer that crashed
                shutil.rmtree(stale, ignore_errors=True)
            name = f"gen-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"
            tmp = root / f".tmp-{name}"
            tmp.mkdir()
            try:
                yield GenerationWriter(root, tmp)
            finally:
                # Gone after a commit (renamed into place); otherwise a failed or abandoned write.
                shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise IndexWriteError(
            f"could not write the index at {root} ({reason}); the previous index, if any, is unchanged: "
            "free some space or fix the folder's permissions, then run the command again"
        ) from exc


def _prune(root: Path, keep: str) -> None:
    """Delete generations older than the last KEEP_GENERATIONS (readers hold open files, not names)."""
    # Oldest first by when each was written: names order only to the second, and several writes
    # within one second must not prune the generation that was live a moment ago.
    gens = sorted((p for p in root.glob("gen-*") if p.is_dir()), key=lambda p: (p.stat().st_mtime_ns, p.name))
    old = [p for p in gens if p.name != keep][: max(0, len(gens) - KEEP_GENERATIONS)]
    for p in old:
        shutil.rmtree(p, ignore_errors=True)
