"""Files sent by people over the web (the chat's upload box, ``POST /api/documents``).

Untrusted: a file's name never becomes a path of ours (it is reduced to a safe base
name inside a fresh staging folder), its size is bounded before it is read, its type
is checked by content by the same readers a build uses, and each file is accepted or
refused on its own, with one line saying why. The good ones are added in one new
index generation.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import AssistantError
from .indexing import BuildReport
from .ingest import MAX_FILE_BYTES, read_file

MAX_FILES = 10
_UNSAFE = re.compile(r"[^\w.-]+")


def safe_name(name: str) -> str:
    """A file name that stays inside the folder it is written to: no path, no dot-files, bounded."""
    stem, dot, suffix = Path(str(name).replace("\\", "/")).name.rpartition(".")
    stem = _UNSAFE.sub("_", stem if dot else suffix).strip("._")[:80] or "document"
    suffix = _UNSAFE.sub("", suffix).lower()[:10] if dot else ""
    return f"{stem}.{suffix}" if suffix else stem


@dataclass
class UploadResult:
    added: list[str] = field(default_factory=list)  # document ids
    refused: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)
    report: BuildReport | None = None

    def lines(self) -> list[str]:
        out = []
        if self.report is not None:
            out.append(f"✓ added {', '.join(self.added)}: the index now holds {self.report.documents} documents "
                       f"({self.report.embedded} passages embedded).")
        out += [f"✗ {name}: {reason}" for name, reason in self.refused]
        return out


def add_files(live, files: list[tuple[str, bytes | Path]]) -> UploadResult:
    """Check each (name, content or temporary file) on its own; add the good ones in one generation."""
    result = UploadResult()
    if len(files) > MAX_FILES:
        result.refused.append(("(upload)", f"{len(files)} files at once; the limit is {MAX_FILES}"))
        return result
    staging = Path(tempfile.mkdtemp(prefix="policyqa-upload-"))
    good: list[Path] = []
    try:
        for name, data in files:
            shown = safe_name(name)
            dest = staging / shown
            try:
                size = data.stat().st_size if isinstance(data, Path) else len(data)
                if size > MAX_FILE_BYTES:
                    raise AssistantError(f"over the {MAX_FILE_BYTES // 2**20} MB limit")
                if isinstance(data, Path):
                    data = data.read_bytes()
                if dest.exists():  # an earlier file of this upload: keep it, refuse this one
                    raise AssistantError("another file of this upload has the same name")
                dest.write_bytes(data)
                try:
                    read_file(dest)  # type by content, text extracted: refused here, not mid-build
                except AssistantError:
                    dest.unlink()
                    raise
            except AssistantError as exc:
                # The reader's message names our staging path; the sender knows the file by its name.
                result.refused.append((shown, str(exc).replace(f"{dest}: ", "").replace(str(staging) + "/", "")))
                continue
            good.append(dest)
        if good:
            try:
                result.report = live.add(good)
            except AssistantError as exc:
                result.refused.append(("(upload)", f"nothing added: {str(exc).replace(str(staging) + '/', '')}"))
            else:
                result.added = [p.stem for p in good]
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result
