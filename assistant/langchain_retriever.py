"""A LangChain retriever over an ``Assistant``: ``qa.as_langchain_retriever(k=5, **filters)``.

Each LangChain ``Document`` is one passage; its metadata carries what a
citation needs (doc_id, title, section, start, end, score, page), so a chain
built on it can still point at the exact span.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field


class PolicyRetriever(BaseRetriever):
    """Hybrid (dense + BM25) passage search of a policyqa index, for LangChain chains."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    assistant: Any = Field(description="a loaded assistant.Assistant")
    k: int = Field(default=5, ge=1, le=100)
    documents: Sequence[str] | None = None
    since: str | None = None
    until: str | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[LCDocument]:
        k = kwargs.get("k", self.k)
        hits = self.assistant.search(query, k=k, documents=self.documents, since=self.since, until=self.until)
        return [
            LCDocument(
                page_content=p.text,
                metadata={
                    "doc_id": p.doc_id, "title": p.title, "section": p.section, "start": p.start,
                    "end": p.end, "score": p.score, "page": p.page,
                },
            )
            for p in hits
        ]
