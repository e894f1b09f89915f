"""What the index holds, document by document, as every shell shows it (list, the chat's
Documents tab, the MCP server)."""

from __future__ import annotations

from typing import Any

from .core import Assistant


def summaries(qa: Assistant) -> list[dict[str, Any]]:
    """Each document without its text: doc_id, title, authors, date, source, pages, passages,
    characters, and ``added`` (uploaded or added later) or not (it came with the corpus)."""
    return [_row(qa, d.doc_id) for d in qa.documents()]


def full(qa: Assistant, doc_id: str) -> dict[str, Any]:
    """One document with its text (``InputError`` for an unknown id) and the generation it is from."""
    return {**_row(qa, doc_id), "text": qa.document(doc_id).text, "generation": qa.path.name}


def _row(qa: Assistant, doc_id: str) -> dict[str, Any]:
    d = qa.document(doc_id).to_dict()
    info = qa.manifest["documents"].get(doc_id, {})
    d["characters"] = len(d.pop("text"))
    return {**d, "passages": info.get("passages", 0), "added": bool(info.get("added"))}
