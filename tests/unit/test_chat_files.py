"""The chat's second line against server files: Gradio's own check, with ours switched off.

Gradio checks that an event's files were uploaded to it only once ``blocks.has_launched`` is set,
which ``mount_gradio_app`` never does (issue 25). The server sets it; this proves it holds alone.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from assistant import Assistant, server

SECRET = "LAND-REGISTRY-PASSWORD-7731"


@pytest.fixture
def chat_client(fake_index, encoder, monkeypatch):
    async def no_check(self, request, body):  # our own check off: only Gradio's stands
        return None

    monkeypatch.setattr(server.GuardMiddleware, "_check_event", no_check)
    with TestClient(server.create_app(Assistant.load(fake_index, encoder=encoder))) as client:
        yield client


def _completed(client: TestClient, session: str) -> str:
    text = ""
    with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            text += line + "\n"
            if "process_completed" in line:
                return text
    return text


def test_gradio_refuses_a_server_file_in_the_chat_history_and_in_add(chat_client, tmp_path):
    secret = tmp_path / "notes.txt"
    secret.write_text(f"Notes\n\n{SECRET} opens the land registry; it is kept on this server only.\n")
    file = {"path": str(secret), "orig_name": "notes.txt", "meta": {"_type": "gradio.FileData"}}
    config = chat_client.get("/config").json()
    types = {c["id"]: c["type"] for c in config["components"]}
    for name in ("ask", "add"):
        dep = next(d for d in config["dependencies"] if d["api_name"] == name)
        kinds = [types[i] for i in dep["inputs"]]
        data = {"textbox": "what obstacles block migrant citizenization?", "state": [], "dropdown": [],
                "chatbot": [{"role": "user", "content": [{"type": "file", "file": file}]}], "file": [file]}
        session = f"s-{name}"
        r = chat_client.post("/gradio_api/queue/join", json={
            "data": [data[k] for k in kinds], "fn_index": dep["id"], "session_hash": session,
            "trigger_id": dep["targets"][0][0]})
        assert r.status_code == 200
        events = _completed(chat_client, session)
        assert '"success":false' in events, events[-500:]
        assert SECRET not in events and "/gradio_api/file=" not in events
    found = chat_client.get("/api/search", params={"q": f"{SECRET} land registry", "k": 3}).json()["passages"]
    assert all(SECRET not in p["text"] for p in found)


def test_the_chat_uploads_held_on_disk_are_bounded(chat_client, monkeypatch):
    note = ("files", ("note.txt", b"Leases keep the option to return.\n" * 10))
    assert chat_client.post("/gradio_api/upload", files=[note]).status_code == 200
    monkeypatch.setattr(server, "MAX_CHAT_UPLOADS", 500)
    r = chat_client.post("/gradio_api/upload", files=[note])
    assert r.status_code == 507 and "too many uploaded files" in r.json()["error"]
