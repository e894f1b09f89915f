"""The server's guard middleware on its own: per-client cap, and no state left behind."""

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from assistant import server


def _app_with_a_slow_route():
    state = {"running": 0, "peak": 0}
    release = asyncio.Event()

    async def slow(request):
        state["running"] += 1
        state["peak"] = max(state["peak"], state["running"])
        await release.wait()
        state["running"] -= 1
        return JSONResponse({"ok": True})

    inner = Starlette(routes=[Route("/api/slow", slow)])
    return server.GuardMiddleware(inner, users=None), state, release


async def test_one_client_runs_at_most_per_client_requests_and_the_guard_forgets_it_after():
    guard, state, release = _app_with_a_slow_route()
    transport = httpx.ASGITransport(app=guard, client=("10.0.0.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        calls = [asyncio.create_task(client.get("/api/slow")) for _ in range(server.PER_CLIENT + 2)]
        for _ in range(50):  # until the first PER_CLIENT are inside the route
            await asyncio.sleep(0.01)
            if state["running"] == server.PER_CLIENT:
                break
        assert state["running"] == server.PER_CLIENT
        assert guard.clients_tracked == 1
        release.set()
        responses = await asyncio.gather(*calls)
    assert [r.status_code for r in responses] == [200] * (server.PER_CLIENT + 2)
    assert state["peak"] == server.PER_CLIENT
    assert guard.clients_tracked == 0  # nothing kept per client once its requests are done


async def test_many_distinct_clients_leave_no_entries():
    guard, _, release = _app_with_a_slow_route()
    release.set()
    for n in range(200):
        transport = httpx.ASGITransport(app=guard, client=(f"10.0.{n // 250}.{n % 250}", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/api/slow")).status_code == 200
    assert guard.clients_tracked == 0


async def test_wrong_logins_are_limited_per_client():
    inner = Starlette(routes=[Route("/api/x", lambda request: JSONResponse({"ok": True}))])
    guard = server.GuardMiddleware(inner, users={"official": "correct horse"})

    def client(host: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=guard, client=(host, 5000)), base_url="http://test")

    async with client("10.0.0.9") as guesser, client("10.0.0.10") as other:
        codes = [(await guesser.get("/api/x", auth=("official", f"guess{n}"))).status_code
                 for n in range(server.LOGIN_FAILURES + 1)]
        assert codes == [401] * server.LOGIN_FAILURES + [429]
        assert (await guesser.get("/api/x", auth=("official", "correct horse"))).status_code == 429  # waits it out
        assert (await other.get("/api/x", auth=("official", "correct horse"))).status_code == 200
        assert (await other.get("/api/x")).status_code == 401  # no credentials at all is not a guess


@pytest.mark.parametrize(("headers", "same"), [
    ({}, True),  # curl, scripts: no page sent it
    ({"origin": "http://127.0.0.1:7860"}, True),
    ({"referer": "http://127.0.0.1:7860/"}, True),
    ({"origin": "http://localhost:8001"}, False),
    ({"origin": "http://127.0.0.1:7861"}, False),  # another port is another origin
    ({"origin": "null"}, False),  # a sandboxed frame or a file:// page
    ({"referer": "https://evil.example/x"}, False),
    ({"origin": "https://qa.example.org"}, True),  # named in POLICYQA_ORIGINS (behind a proxy)
])
def test_same_origin(headers, same):
    from starlette.requests import Request

    scope = {"type": "http", "method": "POST", "path": "/api/documents", "query_string": b"",
             "headers": [(b"host", b"127.0.0.1:7860")] + [(k.encode(), v.encode()) for k, v in headers.items()]}
    assert server._same_origin(Request(scope), frozenset({"https://qa.example.org"})) is same
