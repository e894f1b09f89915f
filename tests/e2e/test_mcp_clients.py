"""`policyqa mcp` over stdio (a subprocess, as a desktop client starts it) and /mcp of a running
`policyqa serve`, each driven by the MCP SDK's own client, with the real model."""

from __future__ import annotations

import os
import sys

import pytest
from conftest import ROOT
from mcp import Client
from mcp.client.stdio import StdioServerParameters

pytestmark = pytest.mark.e2e
QUESTION = "what obstacles block migrant citizenization?"


async def check_cited_answer(client: Client) -> None:
    """``ask`` answers QUESTION with citations whose quotes are the documents' text at their spans."""
    result = await client.call_tool("ask", {"question": QUESTION})
    assert not result.is_error, result.content
    answer = result.structured_content
    assert answer["answered"] is True and answer["citations"] and "[1]" in answer["text"]
    assert answer["references"] and answer["generation"].startswith("gen-")
    for c in answer["citations"]:
        doc = (await client.call_tool("document", {"doc_id": c["doc_id"]})).structured_content
        assert doc["text"][c["start"]:c["end"]] == c["quote"]


async def test_policyqa_mcp_over_stdio(real_index):
    server = StdioServerParameters(command=sys.executable, args=["-m", "assistant.cli", "mcp", "--index", str(real_index)],
                                   cwd=str(ROOT), env={**os.environ, "HF_HUB_OFFLINE": "1"})
    async with Client(server) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"search", "ask", "document"} <= names
        await check_cited_answer(client)
        abstained = (await client.call_tool("ask", {"question": "What is the statutory minimum wage in Guangdong in 2024?"}))
        assert abstained.structured_content["answered"] is False and not abstained.structured_content["citations"]
        refused = await client.call_tool("document", {"doc_id": "no-such-document"})
        assert refused.is_error and refused.content[0].text == "unknown document id: no-such-document"


async def test_mcp_at_the_running_servers_mcp_route(server_url):
    async with Client(server_url + "/mcp") as client:
        assert {"search", "ask", "document"} <= {t.name for t in (await client.list_tools()).tools}
        await check_cited_answer(client)
        hits = (await client.call_tool("search", {"question": "rural pension gap", "k": 2})).structured_content
        assert len(hits["passages"]) == 2
