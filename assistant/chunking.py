"""Documents into Passages: whole sentences, inside the model's window, exact spans.

LangChain's recursive splitter does the packing (paragraphs first, then
sentences, then clauses), measured in the model's own wordpieces. Its chunks
keep their separators, so each chunk is a contiguous piece of the section and
its span is found by a forward search.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from .ingest import ParsedDocument
from .sentences import SENTENCE_BREAK
from .types import Passage

# Paragraphs, lines, sentences, clauses, words. A break followed by a lower-case
# letter is a sentence running on across a page break, not a boundary.
SEPARATORS = [r"\n[ \t]*\n\s*+(?![a-z])", r"\n\s*+(?![a-z])", SENTENCE_BREAK, r"(?<=[;:,])[ \t]+", r"[ \t]+"]


@dataclass(frozen=True)
class ChunkSettings:
    """Recorded in the manifest: an index built with other settings is rebuilt."""

    # Chosen with benchmarks/tune_retrieval.py on the "tune" questions (BENCHMARKS.md).
    chunk_tokens: int = 160  # target wordpieces of passage text
    overlap_tokens: int = 0
    context_prefix: bool = False  # embed "title — section" before the text (measured: hurts)

    def to_dict(self) -> dict:
        return asdict(self)


def context_line(title: str, section: str) -> str:
    """The "title — section" line that can precede a passage (either part may be empty)."""
    return " — ".join(part for part in (title, section) if part)


def embed_text(title: str, section: str, text: str, settings: ChunkSettings) -> str:
    """What the embedding model and BM25 see for a passage."""
    context = context_line(title, section)
    if not settings.context_prefix or not context:
        return text
    return f"{context}\n{text}"


def own_title(title: str, doc_id: str) -> str:
    """The title a document really has: "" when it fell back to its id (an untitled BEIR record)."""
    return "" if title == doc_id else title


def chunk_document(
    parsed: ParsedDocument,
    count_tokens: Callable[[Sequence[str]], list[int]],
    max_tokens: int,
    settings: ChunkSettings,
) -> list[Passage]:
    """Split every section of a document into passages that fit the window."""
    doc = parsed.document
    passages: list[Passage] = []
    for section in parsed.sections:
        prefix = embed_text(own_title(doc.title, doc.doc_id), section.title, "", settings)
        prefix_tokens = count_tokens([prefix])[0] - 2 if prefix else 0
        budget = max(16, min(settings.chunk_tokens, max_tokens - 2 - prefix_tokens))
        from langchain_text_splitters import RecursiveCharacterTextSplitter  # only builds pay its import

        splitter = RecursiveCharacterTextSplitter(
            separators=SEPARATORS,
            is_separator_regex=True,
            keep_separator="end",
            chunk_size=budget,
            chunk_overlap=min(settings.overlap_tokens, budget // 2),
            length_function=lambda s: count_tokens([s])[0] - 2,
            strip_whitespace=True,
        )
        body = doc.text[section.start : section.end]
        cursor = 0
        for chunk in splitter.split_text(body):
            at = body.find(chunk, cursor)
            if at < 0:  # cannot happen with kept separators; guard the invariant anyway
                raise RuntimeError(f"chunk not found in {doc.doc_id} section {section.title!r}")
            start = section.start + at
            passages.append(
                Passage(
                    doc_id=doc.doc_id,
                    title=doc.title,
                    section=section.title,
                    text=chunk,
                    start=start,
                    end=start + len(chunk),
                )
            )
            cursor = at + 1
    return passages
