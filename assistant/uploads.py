"""Files sent by people over the web (the chat's upload box, ``POST /api/documents``).

Untrusted: a file's name never becomes a path of ours (it is reduced to a safe base
name inside a fresh staging folder), only document formats are taken (a corpus
.jsonl, which holds any number of documents under any ids, is for ``policyqa build``),
its size is bounded before it is read, its type is checked by content by the same
readers a build uses (in a child process with a time limit), and each file is
accepted or refused on its own, with one line saying why. The good ones are added
in one new index generation.

Every temporary file of a server lives in its own folder (``server_temp``), deleted
when the server stops and, if it was killed, when the next one starts.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import AssistantError
from .indexing import BuildReport
from .ingest import MAX_FILE_BYTES, SUFFIXES, read_file
from .progress import Progress, ProgressFn, silent

MAX_FILES = 10
UPLOAD_SUFFIXES = SUFFIXES  # .txt .md .html .htm .pdf .docx: one document each
TEMP_PREFIX = "policyqa-serve-"
_UNSAFE = re.compile(r"[^\w.-]+")
_temp: Path | None = None
_temp_lock = threading.Lock()


def server_temp() -> Path:
    """This process's folder for temporary files: uploads being checked, Gradio's uploads and
    cache, answers to download. Made on first use and locked (flock) while the process lives;
    the folders of servers that are gone, even by kill -9, are deleted first."""
    global _temp
    with _temp_lock:
        if _temp is None:
            sweep_temp()
            folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
            fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)  # held until the process ends: the fd is never closed
            _temp = folder
            atexit.register(shutil.rmtree, folder, True)
        return _temp


def release_temp() -> None:
    """Delete this process's temporary folder (a server stopping; uvicorn ends a process by
    re-raising SIGTERM, which skips atexit)."""
    global _temp
    with _temp_lock:
        if _temp is not None:
            shutil.rmtree(_temp, ignore_errors=True)
            _temp = None  # its lock goes with the process, or with the next folder's


def sweep_temp(base: Path | None = None) -> list[Path]:
    """Delete the temporary folders of servers that no longer run; returns them."""
    base = base or Path(tempfile.gettempdir())
    gone = []
    for folder in base.glob(TEMP_PREFIX + "*"):
        try:
            fd = os.open(folder / ".lock", os.O_RDWR)
        except FileNotFoundError:
            # Not locked yet: a server making it this instant, or one killed before it could.
            try:
                if time.time() - folder.stat().st_mtime > 60:
                    shutil.rmtree(folder, ignore_errors=True)
                    gone.append(folder)
            except OSError:
                pass
            continue
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its server is running
        else:
            shutil.rmtree(folder, ignore_errors=True)
            gone.append(folder)
        finally:
            os.close(fd)
    return gone


def safe_name(name: str) -> str:
    """A file name that stays inside the folder it is written to: no path, no dot-files, bounded."""
    stem, dot, suffix = Path(str(name).replace("\\", "/")).name.rpartition(".")
    stem = _UNSAFE.sub("_", stem if dot else suffix).strip("._")[:80] or "document"
    suffix = _UNSAFE.sub("", suffix).lower()[:10] if dot else ""
    return f"{stem}.{suffix}" if suffix else stem


@dataclass
class UploadResult:
    added: list[str] = field(default_factory=list)  # document ids (replaced ones included)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)
    report: BuildReport | None = None

    @property
    def replaced(self) -> list[str]:
        return list(self.report.replaced) if self.report is not None else []

    def lines(self) -> list[str]:
        out = []
        if self.report is not None:
            replaced = f" (replacing the earlier {', '.join(self.replaced)})" if self.replaced else ""
            out.append(f"✓ added {', '.join(self.added)}{replaced}: the index now holds {self.report.documents} documents "
                       f"({self.report.embedded} passages embedded).")
        out += [f"✗ {name}: {reason}" for name, reason in self.refused]
        return out


def add_files(live, files: list[tuple[str, bytes | Path]], replace: bool = False,
              cancel: threading.Event | None = None, progress: ProgressFn | None = None) -> UploadResult:
    """Check each (name, content or temporary file) on its own; add the good ones in one generation.

    A file whose id (its safe name's stem) the index holds for different text is refused unless
    ``replace``: someone else's document of the same name is not overwritten by accident. When
    ``cancel`` is set (the sender went away) the file being read is dropped and nothing is added.
    ``progress`` hears of each file checked, then of the steps of the add."""
    report = progress or silent
    result = UploadResult()
    if len(files) > MAX_FILES:
        result.refused.append(("(upload)", f"{len(files)} files at once; the limit is {MAX_FILES}"))
        return result
    staging = Path(tempfile.mkdtemp(prefix="upload-", dir=server_temp()))
    good: list[Path] = []
    held = {d: info.get("hash") for d, info in live.get().manifest.get("documents", {}).items()}
    try:
        for n, (name, data) in enumerate(files):
            report(Progress("checking", n, len(files), "file"))
            shown = safe_name(name)
            dest = staging / shown
            try:
                if Path(shown).suffix.lower() not in UPLOAD_SUFFIXES:
                    raise AssistantError(f"not a document file; use {', '.join(UPLOAD_SUFFIXES)}"
                                         + (" (a corpus .jsonl is built with `policyqa build`)" if shown.endswith(".jsonl") else ""))
                size = data.stat().st_size if isinstance(data, Path) else len(data)
                if size > MAX_FILE_BYTES:
                    raise AssistantError(f"over the {MAX_FILE_BYTES // 2**20} MB limit")
                if isinstance(data, Path):
                    data = data.read_bytes()
                if dest.exists():  # an earlier file of this upload: keep it, refuse this one
                    raise AssistantError("another file of this upload has the same name")
                dest.write_bytes(data)
                try:
                    parsed = read_file(dest, cancel=cancel)  # type by content, text extracted: refused here, not mid-build
                    taken = [p.document.doc_id for p in parsed if held.get(p.document.doc_id, p.content_hash) != p.content_hash]
                    if taken and not replace:
                        raise AssistantError(f"the index already holds a different document named {taken[0]}: rename "
                                             "the file (or replace that document: replace=true in the API)")
                except AssistantError:
                    dest.unlink()
                    raise
            except AssistantError as exc:
                # The reader's message names our staging path; the sender knows the file by its name.
                result.refused.append((shown, str(exc).replace(f"{dest}: ", "").replace(str(staging) + "/", "")))
                continue
            good.append(dest)
        report(Progress("checking", len(files), len(files), "file"))
        if good and cancel is not None and cancel.is_set():
            result.refused.append(("(upload)", "nothing added: the upload was cancelled"))
        elif good:
            try:
                result.report = live.add(good, replace=replace, progress=report)
            except AssistantError as exc:
                result.refused.append(("(upload)", f"nothing added: {str(exc).replace(str(staging) + '/', '')}"))
            else:
                result.added = [p.stem for p in good]
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result
