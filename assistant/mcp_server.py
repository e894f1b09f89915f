"""The assistant for AI assistants: an MCP server (Model Context Protocol, ``mcp`` SDK 2.x).

Tools ``search``, ``ask`` and ``document``, and the document list as a resource. The same
server runs over stdio (``policyqa mcp``) and, inside ``policyqa serve``, over streamable
HTTP at ``/mcp`` (server.py mounts it behind the same guard as the API). It only reads:
nothing here changes the index.

A refused request (an empty question, an unknown document id, a bad date) comes back as a
tool error with the one line the CLI and the API give; anything else as the SDK's generic
"Error executing tool …", its traceback in the server's log only.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from . import catalog
from .core import MAX_K, MAX_QUERY_CHARS, Assistant
from .errors import AssistantError

INSTRUCTIONS = """\
This server answers questions from a fixed collection of policy documents, with exact quotes.

- Use `ask` for a question. Its answer is made of sentences quoted word for word from the
  documents. Each sentence carries a marker [n], and `citations[n-1]` gives its document, title,
  section, character span and `quote`.
- When you pass an answer on, quote the cited sentences exactly as given and name their sources
  (title, and section when there is one). Do not reword a quote and present it as the documents'.
- When `answered` is false, the documents do not answer the question. Say so plainly. Do not
  answer from your own knowledge as if it came from the documents. The `passages` of such an
  answer are related reading, not an answer.
- Use `search` to read the passages that best match a query, and `document` for a document's
  whole text. Every `start`/`end` indexes into that text: text[start:end] is the passage or quote.
- The resource policyqa://documents lists the documents held (id, title, authors, date).
"""

_READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

Question = Annotated[str, Field(description="the question or query, in plain language", max_length=MAX_QUERY_CHARS)]
K = Annotated[int, Field(description=f"how many passages to draw on (1-{MAX_K})")]
Documents = Annotated[list[str] | None, Field(description="only these document ids (see policyqa://documents)")]
Since = Annotated[str | None, Field(description="only documents dated on or after this date: 2021, 2021-06 or 2021-06-30")]
Until = Annotated[str | None, Field(description="only documents dated on or before this date")]


def build_server(get_qa: Callable[[], Assistant], scrub: Callable[[str], str] = lambda message: message) -> MCPServer:
    """The MCP server over the assistant ``get_qa()`` returns for each call (the newest generation).

    ``scrub`` takes the server's folders out of error messages (a remote client knows the index by name)."""
    # MCPServer's constructor calls logging.basicConfig, which would put a Rich handler on the root
    # logger and restyle every log line of the process that hosts it; a handler already there stops that.
    root = logging.getLogger()
    placeholder = None if root.handlers else logging.NullHandler()
    if placeholder is not None:
        root.addHandler(placeholder)
    try:
        mcp = MCPServer("policyqa", title="Policy documents: cited answers", instructions=INSTRUCTIONS,
                        version="0.1.0", log_level="WARNING")
    finally:
        if placeholder is not None:
            root.removeHandler(placeholder)

    async def run(fn: Callable[[Assistant], Any]) -> Any:
        """``fn(assistant)`` on a worker thread (answers take CPU). A refusal is a tool error with the
        assistant's own line (a raised ToolError would get the SDK's "Error executing tool …" before it)."""
        try:
            return await anyio.to_thread.run_sync(lambda: fn(get_qa()))
        except AssistantError as exc:
            return CallToolResult(content=[TextContent(type="text", text=scrub(str(exc)))], is_error=True)

    @mcp.tool(annotations=_READ_ONLY)
    async def search(question: Question, k: K = 5, documents: Documents = None, since: Since = None,
                     until: Until = None) -> dict[str, Any]:
        """The passages of the documents that best match the question, best first.

        Each passage has doc_id, title, section, start, end, text and score (text is the document's
        text[start:end], exactly). Passages are for reading; to answer a question with quoted
        evidence use `ask`. If you quote a passage, quote its text exactly and name its title."""
        return await run(lambda qa: {"query": question, "passages": [
            h.to_dict() for h in qa.search(question, k=k, documents=documents, since=since, until=until)]})

    @mcp.tool(annotations=_READ_ONLY)
    async def ask(
        question: Question,
        history: Annotated[list[Annotated[str, Field(max_length=MAX_QUERY_CHARS)]] | None, Field(
            description="the earlier questions of this conversation, oldest first, so a follow-up "
                        "such as 'and their children?' is read in their light", max_length=20)] = None,
        k: K = 5, documents: Documents = None, since: Since = None, until: Until = None,
    ) -> dict[str, Any]:
        """Answer a question with sentences quoted from the documents, or say that they do not answer it.

        Returns the Answer: `text` (quoted sentences with markers [1], [2] …), `citations` (for each
        marker: n, doc_id, title, section, start, end, the exact `quote` and, in a PDF, its `page` and `page_label`), `answered`,
        `confidence` (0-1; below 0.5 it refuses), `references` (each cited document once:
        title, authors, date), `passages` and `generation`. Quote the citations word for word
        and name their sources when you use them. If `answered` is false, tell the user the
        documents do not cover the question; do not answer it from elsewhere as if the
        documents did."""
        return await run(lambda qa: qa.ask(question, history or [], k=k, documents=documents, since=since,
                                           until=until).to_dict())

    @mcp.tool(annotations=_READ_ONLY)
    async def document(doc_id: Annotated[str, Field(description="a document id, as search, ask and "
                                                                "policyqa://documents give it", max_length=500)]) -> dict[str, Any]:
        """One document: its metadata (title, authors, date, source, passages, added) and its whole text.

        Citations' and passages' start/end index into `text`."""
        return await run(lambda qa: catalog.full(qa, doc_id))

    @mcp.resource("policyqa://documents", name="documents", title="The documents held",
                  description="Every document of the index: doc_id, title, authors, date, source, passages, "
                              "characters, and whether it was added (uploaded) or came with the corpus.",
                  mime_type="application/json")
    async def documents_resource() -> str:
        rows = await anyio.to_thread.run_sync(lambda: catalog.summaries(get_qa()))
        return json.dumps({"documents": rows}, ensure_ascii=False)

    @mcp.resource("policyqa://documents/{doc_id}", name="document", title="One document with its text",
                  mime_type="application/json")
    async def document_resource(doc_id: str) -> str:
        try:
            doc = await anyio.to_thread.run_sync(lambda: catalog.full(get_qa(), doc_id))
        except AssistantError as exc:
            raise ResourceNotFoundError(scrub(str(exc))) from None
        return json.dumps(doc, ensure_ascii=False)

    return mcp


def serve_stdio(qa: Assistant) -> None:
    """Serve MCP on stdin/stdout until the client closes them."""
    lock = threading.Lock()
    current = [qa]

    def get() -> Assistant:
        with lock:  # moves to a newer generation when `policyqa add` or a server has written one
            current[0] = current[0].reloaded()
            return current[0]

    build_server(get).run("stdio")

