"""GET /api/documents/{id}?generation=…: the text an answer quoted, while the server keeps it (issue 25)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from assistant import Assistant, store
from assistant.server import create_app

SEED = "002_39880fb65be5e4c4"


@pytest.fixture
def client(fake_index, encoder):
    with TestClient(create_app(Assistant.load(fake_index, encoder=encoder), chat=False)) as c:
        yield c


def test_an_answer_names_its_generation_and_its_text_stays_fetchable(client, fake_index):
    answer = client.post("/api/ask", json={"question": "what barriers does the hukou system put on labor mobility?"}).json()
    first = answer["generation"]
    assert first == client.get("/healthz").json()["index"]
    original = client.get(f"/api/documents/{SEED}").json()
    assert original["generation"] == first

    def replace(text: str) -> None:
        r = client.post("/api/documents", files=[("files", (f"{SEED}.txt", text.encode()))], data={"replace": "true"})
        assert r.status_code == 200 and r.json()["replaced"] == [SEED]

    replace("Preface\n\nA new first paragraph moves every offset of the article after it.\n\n" + original["text"])
    assert client.get(f"/api/documents/{SEED}").json()["text"] != original["text"]
    then = client.get(f"/api/documents/{SEED}", params={"generation": first})
    assert then.status_code == 200 and then.json()["text"] == original["text"] and then.json()["generation"] == first
    for c in answer["citations"]:  # every quote still checks against the generation it names
        got = client.get(f"/api/documents/{c['doc_id']}", params={"generation": first}).json()
        assert got["text"][c["start"]:c["end"]] == c["quote"]

    replace(original["text"] + "\n\nA closing note.\n")  # the store keeps the newest two generations
    gone = client.get(f"/api/documents/{SEED}", params={"generation": first})
    assert gone.status_code == 410 and "has changed since that answer" in gone.json()["error"]
    assert client.get(f"/api/documents/{SEED}", params={"generation": "../../etc"}).status_code == 400
    latest = client.get("/healthz").json()["index"]
    assert client.get("/api/documents/nope", params={"generation": latest}).status_code == 404


def test_error_messages_name_no_server_folder(client, fake_index):
    with store.writer_lock(fake_index):  # another writer at work
        r = client.delete(f"/api/documents/{SEED}")
    assert r.status_code == 409 and "being updated" in r.json()["error"]
    assert str(fake_index.parent) not in r.json()["error"]
