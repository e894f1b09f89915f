"""The JSON API over real HTTP, against `policyqa serve` started in a subprocess with the real model."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import running_server

pytestmark = pytest.mark.e2e
QUESTION = "what obstacles block migrant citizenization?"
HUICHUAN = "004_89f843d6a7ca3e66"  # the seed article on Huichuan district


@pytest.fixture(scope="module")
def api(server_url):
    with httpx.Client(base_url=server_url, timeout=30) as client:
        yield client


def test_health_and_openapi(api):
    health = api.get("/healthz")
    assert health.status_code == 200
    assert health.json()["documents"] == 5 and health.json()["passages"] > 50
    spec = api.get("/openapi.json").json()
    assert {"/api/ask", "/api/search", "/api/documents", "/api/documents/{doc_id}", "/healthz"} <= set(spec["paths"])
    assert api.get("/docs").status_code == 200


def test_ask_returns_checkable_citations(api):
    r = api.post("/api/ask", json={"question": QUESTION})
    assert r.status_code == 200
    answer = r.json()
    assert answer["answered"] is True
    assert {"question", "answered", "text", "citations", "passages", "references"} <= set(answer)
    assert answer["citations"] and "[1]" in answer["text"]
    texts: dict[str, str] = {}
    for c in answer["citations"]:
        if c["doc_id"] not in texts:
            texts[c["doc_id"]] = api.get(f"/api/documents/{c['doc_id']}").json()["text"]
        assert texts[c["doc_id"]][c["start"] : c["end"]] == c["quote"]
    assert any("hard to settle down" in c["quote"] for c in answer["citations"])


def test_ask_abstains_with_related_passages(api):
    answer = api.post("/api/ask", json={"question": "What is the statutory minimum wage in Guangdong in 2024?"}).json()
    assert answer["answered"] is False
    assert answer["citations"] == [] and answer["passages"]
    assert "do not cover" in answer["text"].lower() or "not cover" in answer["text"].lower()


def test_ask_follow_up_uses_history(api):
    """"they" is read from the earlier turn sent over HTTP: every passage shown comes from the
    Huichuan article, which the question alone does not single out."""
    first = "How did Huichuan help returning migrant workers start businesses?"
    follow_up = {"question": "what loans did they get?", "k": 5}
    body = api.post("/api/ask", json={**follow_up, "history": [{"question": first}]}).json()
    shown = body["citations"] or body["passages"]
    assert {p["doc_id"] for p in shown[:3]} == {HUICHUAN}, shown
    assert "loan" in (shown[0].get("quote") or shown[0]["text"]).lower()
    alone = api.post("/api/ask", json=follow_up).json()
    assert {p["doc_id"] for p in (alone["citations"] or alone["passages"])[:3]} != {HUICHUAN}


def test_document_filter_limits_citations(api):
    docs = api.get("/api/documents").json()["documents"]
    assert len(docs) == 5 and all("text" not in d and d["characters"] > 0 for d in docs)
    only = docs[0]["doc_id"]
    answer = api.post("/api/ask", json={"question": QUESTION, "documents": [only]}).json()
    assert all(c["doc_id"] == only for c in answer["citations"])
    assert all(p["doc_id"] == only for p in answer["passages"])
    hits = api.get("/api/search", params={"q": "hukou reform", "k": 3, "doc": only}).json()["passages"]
    assert len(hits) == 3 and {h["doc_id"] for h in hits} == {only}


def test_search(api):
    body = api.get("/api/search", params={"q": "rural pension gap", "k": 4}).json()
    assert len(body["passages"]) == 4
    assert set(body["passages"][0]) == {"doc_id", "title", "section", "text", "start", "end", "score", "page"}
    # without reranking, the retrieval order: its scores fall; reranked, the same passages' evidence decides
    plain = api.get("/api/search", params={"q": "rural pension gap", "k": 4, "rerank": "false"}).json()["passages"]
    scores = [p["score"] for p in plain]
    assert scores == sorted(scores, reverse=True)
    wide = {(p["doc_id"], p["start"]) for p in api.get("/api/search", params={"q": "rural pension gap", "k": 20,
                                                                               "rerank": "false"}).json()["passages"]}
    assert {(p["doc_id"], p["start"]) for p in body["passages"]} <= wide


BAD_ASKS = {
    "empty question": {"question": ""},
    "blank question": {"question": "   \n "},
    "question too long": {"question": "x" * 2001},
    "k zero": {"question": QUESTION, "k": 0},
    "k too big": {"question": QUESTION, "k": 101},
    "k not a number": {"question": QUESTION, "k": "five"},
    "question not text": {"question": 42},
    "no question": {"k": 3},
    "unknown field": {"question": QUESTION, "mode": "llm"},
    "unknown document": {"question": QUESTION, "documents": ["no-such-doc"]},
    "documents not a list": {"question": QUESTION, "documents": "abc"},
    "history too long": {"question": QUESTION, "history": ["q"] * 21},
    "history of wrong type": {"question": QUESTION, "history": [{"answer": 3}]},
    "body is a list": [QUESTION],
}


def _assert_clean_error(r: httpx.Response, low: int = 400, high: int = 499) -> str:
    assert low <= r.status_code <= high, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    message = r.json()["error"]
    assert isinstance(message, str) and message and "Traceback" not in message
    return message


@pytest.mark.parametrize("body", BAD_ASKS.values(), ids=BAD_ASKS.keys())
def test_bad_ask_bodies_get_a_4xx_with_a_message(api, body):
    _assert_clean_error(api.post("/api/ask", json=body))


def test_specific_messages(api):
    assert "2000" in _assert_clean_error(api.post("/api/ask", json={"question": "x" * 2001}))
    assert "no-such-doc" in _assert_clean_error(api.post("/api/ask", json={"question": QUESTION, "documents": ["no-such-doc"]}))
    assert "JSON" in _assert_clean_error(api.post("/api/ask", content=b'{"question": ', headers={"content-type": "application/json"}))
    assert _assert_clean_error(api.get("/api/documents/no-such-doc"), 404, 404)


def test_malformed_and_oversized_requests(api):
    _assert_clean_error(api.post("/api/ask", content=b"\xff\xfe\x00garbage", headers={"content-type": "application/json"}))
    _assert_clean_error(api.post("/api/ask", content=b"question=hi", headers={"content-type": "application/x-www-form-urlencoded"}))
    big = json.dumps({"question": QUESTION, "history": ["y" * 1000] * 400}).encode()
    assert "limit" in _assert_clean_error(api.post("/api/ask", content=big, headers={"content-type": "application/json"}), 413, 413)
    _assert_clean_error(api.get("/api/search", params={"q": ""}))
    _assert_clean_error(api.get("/api/search", params={"q": "hukou", "k": 1000}))
    _assert_clean_error(api.get("/api/search", params={"q": "hukou", "k": "many"}))
    _assert_clean_error(api.get("/api/search"))


def test_wrong_methods_unknown_routes_and_unparsable_bodies_get_json_errors(api):
    for method, path, allow in (("GET", "/api/ask", "POST"), ("PUT", "/api/ask", "POST"),
                                ("DELETE", "/api/documents", "GET, POST"), ("POST", "/api/search", "GET")):
        r = api.request(method, path)
        assert "not allowed" in _assert_clean_error(r, 405, 405) and r.headers["allow"] == allow
    assert "no such route" in _assert_clean_error(api.get("/api/nothing-here"), 404, 404)
    # Not UTF-8 inside a JSON string; nested far too deep for the parser.
    _assert_clean_error(api.post("/api/ask", content=b'{"question":"huk\xff\xfeou"}', headers={"content-type": "application/json"}))
    _assert_clean_error(api.post("/api/ask", content=b"[" * 5000 + b"]" * 5000, headers={"content-type": "application/json"}))
    assert "empty list" in _assert_clean_error(api.post("/api/ask", json={"question": QUESTION, "documents": []}))
    assert "date" in _assert_clean_error(api.post("/api/ask", json={"question": QUESTION, "since": "2021-02-30"}))


def test_hostile_questions_are_answered_or_refused_cleanly(api):
    for q in ["<script>alert(1)</script>", "\x00\x01\x02", "💥" * 500, "'; DROP TABLE passages; --", "\u202e\u200b?"]:
        r = api.post("/api/ask", json={"question": q})
        assert r.status_code in (200, 400), (q, r.text)
        if r.status_code == 200:
            assert isinstance(r.json()["answered"], bool)


def test_eight_concurrent_clients_times_25_asks(server_url):
    questions = [
        QUESTION,
        "why do few migrant workers return to the countryside?",
        "what does the hukou system restrict?",
        "what is the minimum wage in Guangdong?",
        "how are rural pensions different from urban ones?",
    ]

    def client(n: int) -> list[int]:
        codes = []
        with httpx.Client(base_url=server_url, timeout=60) as c:
            for i in range(25):
                r = c.post("/api/ask", json={"question": questions[(n + i) % len(questions)]})
                codes.append(r.status_code if "answered" in r.json() else -1)
        return codes

    with ThreadPoolExecutor(8) as pool:
        results = [code for codes in pool.map(client, range(8)) for code in codes]
    assert len(results) == 200
    assert results.count(200) == 200, {c: results.count(c) for c in set(results)}


def test_login_covers_page_api_and_gradio_routes(real_index, tmp_path: Path):
    auth = tmp_path / "users.txt"
    auth.write_text("# who may log in\nofficial:correct horse\n")
    auth.chmod(0o600)
    with running_server(real_index, "--auth-file", str(auth)) as url:
        for path in ["/", "/api/documents", "/docs", "/openapi.json", "/gradio_api/info", "/config"]:
            r = httpx.get(url + path)
            assert r.status_code == 401, path
            assert r.headers["www-authenticate"].startswith("Basic")
        assert httpx.post(url + "/api/ask", json={"question": QUESTION}).status_code == 401
        assert httpx.get(url + "/api/documents", auth=("official", "wrong")).status_code == 401
        assert httpx.get(url + "/api/documents", auth=("nobody", "correct horse")).status_code == 401
        assert httpx.get(url + "/api/documents", auth=("official", "correct horse")).status_code == 200
        assert httpx.get(url + "/", auth=("official", "correct horse")).status_code == 200
        assert httpx.get(url + "/healthz").status_code == 200  # for probes; says nothing about content
        # The MCP route is under the same login.
        rpc = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        accept = {"accept": "application/json, text/event-stream"}
        assert httpx.post(url + "/mcp", json=rpc, headers=accept).status_code == 401
        listed = httpx.post(url + "/mcp", json=rpc, headers=accept, auth=("official", "correct horse"))
        assert listed.status_code == 200 and "ask" in {t["name"] for t in listed.json()["result"]["tools"]}


def _temp_folder(pid: int) -> Path:
    """The server's own temporary folder: the one whose lock file it holds open."""
    import os

    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if "/policyqa-serve-" in target and target.endswith("/.lock"):
            return Path(target).parent
    raise AssertionError("the server holds no temporary folder")


def test_upload_and_delete_documents(real_index, tmp_path: Path):
    import shutil

    from conftest import SERVERS

    index = tmp_path / "index"
    shutil.copytree(real_index, index)
    with running_server(index) as url, httpx.Client(base_url=url, timeout=60) as api:
        temp = _temp_folder(SERVERS[url].pid)
        good = ("broadband.txt", b"Rural broadband\n\nRural broadband reached most villages in 2023, narrowing the digital gap.\n")
        bad = ("../../etc/evil.pdf", b"not a pdf at all")
        r = api.post("/api/documents", files=[("files", good), ("files", bad)])
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["added"] == ["broadband"] and body["documents"] == 6
        assert body["refused"] == [{"file": "evil.pdf", "error": body["refused"][0]["error"]}]
        assert "PDF" in body["refused"][0]["error"] and "/" not in body["refused"][0]["error"]
        assert not list(tmp_path.rglob("evil.pdf"))  # the name never became a path
        hit = api.get("/api/search", params={"q": "rural broadband villages", "k": 1}).json()["passages"][0]
        assert hit["doc_id"] == "broadband"  # the running server moved to the new generation

        # Someone else's broadband.txt does not overwrite this one unless asked to.
        other = ("broadband.txt", b"Broadband\n\nA different note on mobile coverage in mountain counties.\n")
        clash = api.post("/api/documents", files=[("files", other)])
        assert clash.status_code == 422 and "already holds a different document named broadband" in clash.json()["refused"][0]["error"]
        assert "Rural broadband reached" in api.get("/api/documents/broadband").json()["text"]
        swapped = api.post("/api/documents", files=[("files", other)], data={"replace": "true"})
        assert swapped.status_code == 200 and swapped.json()["replaced"] == ["broadband"]
        assert "mountain counties" in api.get("/api/documents/broadband").json()["text"]

        only_bad = api.post("/api/documents", files=[("files", ("x.docx", b"PK\x03\x04broken"))])
        assert only_bad.status_code == 422 and only_bad.json()["added"] == []
        assert _assert_clean_error(api.post("/api/documents", files=[("files", ("f.txt", b"t"))] * 11))
        assert _assert_clean_error(api.post("/api/documents", content=b"x", headers={"content-type": "text/plain"}))

        assert api.delete("/api/documents/broadband").json() == {"removed": "broadband", "documents": 5}
        assert _assert_clean_error(api.delete("/api/documents/broadband"), 404, 404)
        assert api.get("/healthz").json()["documents"] == 5
        assert not list(temp.glob("upload-*"))  # each upload's staging went with it
    assert not temp.exists()  # and the server's whole temporary folder when it stopped


def test_gradio_client_sees_one_clean_endpoint(server_url):
    """The chat's own API, as gradio_client users see it: one named endpoint, /ask."""
    from gradio_client import Client

    client = Client(server_url, verbose=False)
    api = client.view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == {"/ask"}
    assert not api["unnamed_endpoints"]


def test_a_chunked_body_without_length_is_refused(api):
    def body():
        yield b'{"question": "'
        yield b"x" * 10
        yield b'"}'

    r = api.post("/api/ask", content=body(), headers={"content-type": "application/json"})
    assert r.status_code == 411 and "Content-Length" in r.json()["error"]
