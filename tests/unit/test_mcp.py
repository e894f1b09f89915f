"""The MCP server, through the SDK's own client in-process (fake encoder), and its HTTP route
behind the server's guard (TestClient): tools, resources, refusals, Origin/Host checks, read-only."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from mcp import Client

from assistant import Assistant
from assistant.errors import AssistantError
from assistant.mcp_server import build_server

SEED = "002_39880fb65be5e4c4"


@pytest.fixture
def qa(fake_index, encoder):
    return Assistant.load(fake_index, encoder=encoder)


async def test_three_read_only_tools_whose_descriptions_say_to_quote_and_to_admit_no_answer(qa):
    async with Client(build_server(lambda: qa)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == {"search", "ask", "document"}
        assert all(t.annotations.read_only_hint and not t.annotations.open_world_hint for t in tools.values())
        ask = tools["ask"].description
        assert "word for word" in ask and "If `answered` is false" in ask and "do not cover" in ask
        assert set(tools["ask"].input_schema["properties"]) >= {"question", "history"}
        assert set(tools["search"].input_schema["properties"]) == {"question", "k", "documents", "since", "until"}
        assert "When `answered` is false" in client.instructions and "quote the cited sentences" in client.instructions


async def test_search_ask_and_document_give_spans_that_index_into_the_text(qa):
    async with Client(build_server(lambda: qa)) as client:
        found = await client.call_tool("search", {"question": "Huichuan micro loan", "k": 3, "since": "2018"})
        assert not found.is_error
        passages = found.structured_content["passages"]
        assert len(passages) == 3
        assert set(passages[0]) >= {"doc_id", "title", "section", "start", "end", "text", "score"}
        texts = {}
        for p in passages:
            doc = (await client.call_tool("document", {"doc_id": p["doc_id"]})).structured_content
            assert {"title", "authors", "date", "passages", "added", "generation"} <= set(doc)
            texts[p["doc_id"]] = doc["text"]
            assert doc["text"][p["start"]:p["end"]] == p["text"]
        answer = (await client.call_tool("ask", {"question": "what obstacles block migrant citizenization?",
                                                 "history": ["who are the migrant workers?"]})).structured_content
        assert {"text", "citations", "answered", "references", "passages", "generation"} <= set(answer)
        for c in answer["citations"]:
            text = texts.get(c["doc_id"]) or qa.document(c["doc_id"]).text
            assert text[c["start"]:c["end"]] == c["quote"]
        assert json.loads(found.content[0].text) == found.structured_content  # the same, for clients reading text


@pytest.mark.parametrize("tool, arguments, call", [
    ("ask", {"question": "   "}, lambda qa: qa.ask("   ")),
    ("search", {"question": "hukou", "k": 0}, lambda qa: qa.search("hukou", k=0)),
    ("search", {"question": "hukou", "since": "2021-02-30"}, lambda qa: qa.search("hukou", since="2021-02-30")),
    ("search", {"question": "hukou", "documents": ["nope"]}, lambda qa: qa.search("hukou", documents=["nope"])),
    ("document", {"doc_id": "nope"}, lambda qa: qa.document("nope")),
])
async def test_a_refusal_is_a_tool_error_with_the_same_line_as_the_cli(qa, tool, arguments, call):
    with pytest.raises(AssistantError) as expected:
        call(qa)
    async with Client(build_server(lambda: qa)) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error and [c.text for c in result.content] == [str(expected.value)]


async def test_a_crash_is_a_generic_tool_error_without_its_details(qa, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("/srv/secret/path exploded")

    monkeypatch.setattr(qa, "search", broken)
    async with Client(build_server(lambda: qa)) as client:
        result = await client.call_tool("search", {"question": "hukou"})
    assert result.is_error and result.content[0].text == "Error executing tool search"


async def test_the_document_list_is_a_resource(qa, tmp_path):
    note = tmp_path / "broadband.txt"
    note.write_text("Rural broadband\n\nRural broadband reached most villages in 2023.\n")
    qa.add([note])
    async with Client(build_server(lambda: qa)) as client:
        listed = (await client.list_resources()).resources
        assert [str(r.uri) for r in listed] == ["policyqa://documents"]
        rows = json.loads((await client.read_resource("policyqa://documents")).contents[0].text)["documents"]
        assert len(rows) == 6 and {r["doc_id"]: r["added"] for r in rows}["broadband"] is True
        assert all("text" not in r and r["characters"] > 0 and r["passages"] > 0 for r in rows)
        one = json.loads((await client.read_resource(f"policyqa://documents/{SEED}")).contents[0].text)
        assert one["text"] == qa.document(SEED).text


# ------------------------------------------------------------------ /mcp behind the server's guard

RPC = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
MCP_HEADERS = {"accept": "application/json, text/event-stream"}


def served(qa, **options):
    from assistant.server import create_app

    return TestClient(create_app(qa, chat=False, **options), base_url="http://127.0.0.1:7860")


def test_mcp_route_answers_posts_and_refuses_other_sites_rebinding_and_get(qa):
    with served(qa, host="127.0.0.1") as http:
        listed = http.post("/mcp", json=RPC, headers=MCP_HEADERS)
        assert listed.status_code == 200, listed.text
        assert {t["name"] for t in listed.json()["result"]["tools"]} == {"search", "ask", "document"}
        foreign = http.post("/mcp", json=RPC, headers={**MCP_HEADERS, "origin": "http://localhost:8001"})
        assert foreign.status_code == 403 and "another site" in foreign.json()["error"]
        rebound = http.post("/mcp", json=RPC, headers={**MCP_HEADERS, "host": "evil.example:7860",
                                                       "origin": "http://evil.example:7860"})
        assert rebound.status_code == 421  # same-origin to the guard, but not a name of this machine
        get = http.get("/mcp", headers={"accept": "text/event-stream"})
        assert get.status_code == 405 and get.headers["allow"] == "POST"
        big = http.post("/mcp", content=b"x" * (300 * 1024), headers={**MCP_HEADERS, "content-type": "application/json"})
        assert big.status_code == 413  # the API's body limit, not the chat's


def test_a_read_only_server_refuses_uploads_and_removals(qa):
    with served(qa, read_only=True) as http:
        up = http.post("/api/documents", files=[("files", ("n.txt", b"Note\n\nA note.\n"))])
        gone = http.delete(f"/api/documents/{SEED}")
        assert up.status_code == gone.status_code == 403 and "read-only" in up.json()["error"]
        assert http.get("/healthz").json()["documents"] == 5
