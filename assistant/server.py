"""One HTTP server: the JSON API under ``/api``, health at ``/healthz``, the web chat at ``/``.

Everything a client sends is untrusted: bodies are validated by pydantic and
bounded in size, errors are JSON with one readable ``error`` line (never a
traceback), and when an auth file is given every route but ``/healthz`` asks
for HTTP Basic credentials, the chat page and Gradio's own routes included.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import errno
import hmac
import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Path as PathParam, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.middleware.base import BaseHTTPMiddleware

from .core import MAX_K, MAX_QUERY_CHARS, Assistant
from .errors import AssistantError, IndexBusyError, InputError
from .indexing import BuildReport
from .ingest import MAX_FILE_BYTES
from .uploads import MAX_FILES, add_files

log = logging.getLogger("policyqa.server")

MAX_API_BODY = 256 * 1024  # a question and a long history fit many times over
MAX_UPLOAD_BODY = 25 * 1024 * 1024  # the chat's upload route: files up to the ingest limit
MAX_HISTORY = 20
PER_CLIENT = 4  # requests one client may have running at once; the rest wait their turn
CLIENT_WAIT_SECONDS = 30


class LiveAssistant:
    """The assistant on the newest generation of its index, switched without a restart."""

    def __init__(self, qa: Assistant) -> None:
        self._qa = qa
        self._lock = threading.Lock()

    def get(self) -> Assistant:
        with self._lock:
            self._qa = self._qa.reloaded()
            return self._qa

    def add(self, paths: list[Path], replace: bool = False) -> BuildReport:
        """Add files as a new generation; requests already running keep the one they started on."""
        # switch=False: the shared assistant must not change under concurrent requests;
        # the next get() moves to the new generation as a new object.
        return self.get().add(paths, switch=False, replace=replace)

    def remove(self, doc_ids: list[str]) -> BuildReport:
        return self.get().remove(doc_ids, switch=False)


# ------------------------------------------------------------------ request and response bodies


class Turn(BaseModel):
    """One earlier turn of the conversation (only the question is needed to resolve a follow-up)."""

    model_config = ConfigDict(extra="ignore")
    question: str = Field(max_length=MAX_QUERY_CHARS)
    answer: str | None = Field(default=None, max_length=50_000)


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="the question, in plain language")
    history: list[Turn | Annotated[str, Field(max_length=MAX_QUERY_CHARS)]] = Field(
        default_factory=list, max_length=MAX_HISTORY, description="earlier turns, oldest first"
    )
    k: int = Field(default=5, ge=1, le=MAX_K, description="passages to draw on")
    documents: list[Annotated[str, Field(max_length=500)]] | None = Field(
        default=None, max_length=1000, description="search only these document ids"
    )
    since: str | None = Field(default=None, max_length=10, description="only documents dated on or after (2021, 2021-06, 2021-06-30)")
    until: str | None = Field(default=None, max_length=10, description="only documents dated on or before")


class ErrorBody(BaseModel):
    error: str


# ------------------------------------------------------------------ auth and limits


def read_auth_file(path: str | Path) -> dict[str, str]:
    """``user:password`` per line (blank lines and ``#`` comments ignored)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise AssistantError(f"cannot read the auth file {path}: {exc}") from None
    users: dict[str, str] = {}
    for n, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user or not password:
            raise AssistantError(f"{path}, line {n}: expected user:password")
        users[user] = password
    if not users:
        raise AssistantError(f"the auth file {path} names no users")
    return users


def _authorized(header: str | None, users: dict[str, str]) -> bool:
    if not header or not header.lower().startswith("basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected = users.get(user, "")
    # Compare in constant time, and compare even for unknown users, so timing tells nothing.
    return hmac.compare_digest(password.encode(), expected.encode()) and user in users


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class GuardMiddleware(BaseHTTPMiddleware):
    """Auth (when configured), body-size limits and a per-client cap on requests in flight."""

    def __init__(self, app, users: dict[str, str] | None) -> None:
        super().__init__(app)
        self.users = users
        # client -> [its semaphore, requests holding or awaiting it]; touched only on the event
        # loop. An entry goes when its count reaches 0, so many distinct clients leave nothing behind.
        self._slots: dict[str, list] = {}

    async def dispatch(self, request: Request, call_next):
        path = request.url.path
        if self.users is not None and path != "/healthz" and not _authorized(request.headers.get("authorization"), self.users):
            return _error(401, "log in first (HTTP Basic credentials from the server's auth file)",
                          {"WWW-Authenticate": 'Basic realm="policyqa", charset="UTF-8"'})
        uploading = request.method == "POST" and path == "/api/documents"
        limit = MAX_API_BODY if path.startswith("/api/") and not uploading else MAX_UPLOAD_BODY
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return _error(400, "the Content-Length header is not a number")
            if int(length) > limit:
                return _error(413, f"the request body is {int(length)} bytes; the limit here is {limit}")
        elif request.method in ("POST", "PUT", "PATCH", "DELETE") and path.startswith("/api/"):
            # A chunked body could be any size: every HTTP client sends a length for these.
            if request.headers.get("transfer-encoding"):
                return _error(411, "send the request body with a Content-Length header")
        if not path.startswith("/api/"):
            return await call_next(request)
        # A client's requests beyond PER_CLIENT wait here, before taking a worker thread,
        # so one busy client queues behind itself instead of starving the others.
        client = request.client.host if request.client else "?"
        entry = self._slots.setdefault(client, [asyncio.Semaphore(PER_CLIENT), 0])
        entry[1] += 1
        try:
            slot = entry[0]
            try:
                await asyncio.wait_for(slot.acquire(), timeout=CLIENT_WAIT_SECONDS)
            except TimeoutError:
                return _error(429, "too many requests from this client at once; try again shortly")
            try:
                return await call_next(request)
            finally:
                slot.release()
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._slots[client]

    @property
    def clients_tracked(self) -> int:
        """Clients with a request in flight or waiting (0 when the server is idle)."""
        return len(self._slots)


# ------------------------------------------------------------------ the app


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path"))
        msg = err.get("msg", "invalid")
        if err.get("type") == "json_invalid":
            where, msg = "", "the body is not valid JSON"
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts) or "invalid request"


def create_app(qa: Assistant, *, users: dict[str, str] | None = None, chat: bool = True) -> FastAPI:
    """The FastAPI app: JSON API, health, OpenAPI docs at /docs, and (with ``chat``) the web chat at /."""
    live = LiveAssistant(qa)
    app = FastAPI(
        title="policyqa",
        version="0.1.0",
        description="Cited answers and passage search over a corpus of policy documents. "
        "Every citation is an exact span: document.text[start:end] == quote.",
    )
    app.state.live = live
    app.add_middleware(GuardMiddleware, users=users)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_message(exc))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        # FastAPI's own errors (no such route, a body it cannot parse) in the API's one shape.
        message = {404: "not found", 405: "method not allowed"}.get(exc.status_code, str(exc.detail))
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):
            message = "the body is not valid JSON (or not UTF-8)"
        return _error(exc.status_code, message, dict(exc.headers) if exc.headers else None)

    @app.exception_handler(InputError)
    async def _bad_input(request: Request, exc: InputError) -> JSONResponse:
        unknown = str(exc).startswith("unknown document id") and request.method in ("GET", "DELETE")
        return _error(404 if unknown else 400, str(exc))

    @app.exception_handler(IndexBusyError)
    async def _busy(request: Request, exc: IndexBusyError) -> JSONResponse:
        return _error(409, str(exc))

    @app.exception_handler(AssistantError)
    async def _unavailable(request: Request, exc: AssistantError) -> JSONResponse:
        return _error(503, str(exc))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return _error(500, "internal error (logged on the server)")

    responses: dict[int | str, dict[str, Any]] = {
        400: {"model": ErrorBody}, 413: {"model": ErrorBody}, 422: {"model": ErrorBody}, 429: {"model": ErrorBody},
    }

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, Any]:
        current = live.get()
        return {"status": "ok", "documents": len(current.documents()), "passages": len(current.passages),
                "index": current.path.name}

    @app.post("/api/ask", tags=["answers"], responses=responses)
    def ask(body: AskRequest) -> dict[str, Any]:
        """An extractive answer with numbered citations, or ``answered: false`` with related passages."""
        history = [t.question if isinstance(t, Turn) else t for t in body.history]
        return live.get().ask(body.question, history, k=body.k, documents=body.documents,
                              since=body.since, until=body.until).to_dict()

    @app.get("/api/search", tags=["search"], responses=responses)
    def search(
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="the query")],
        k: Annotated[int, Query(ge=1, le=MAX_K)] = 5,
        doc: Annotated[list[str] | None, Query(max_length=1000, description="limit to these document ids")] = None,
        since: Annotated[str | None, Query(max_length=10, description="documents dated on or after")] = None,
        until: Annotated[str | None, Query(max_length=10, description="documents dated on or before")] = None,
    ) -> dict[str, Any]:
        """The passages that best match ``q``, best first."""
        hits = live.get().search(q, k=k, documents=doc, since=since, until=until)
        return {"query": q, "passages": [h.to_dict() for h in hits]}

    @app.get("/api/documents", tags=["documents"])
    def documents() -> dict[str, Any]:
        """Every document of the index, without its text."""
        return {"documents": [_summary(d) for d in live.get().documents()]}

    @app.get("/api/documents/{doc_id}", tags=["documents"], responses={404: {"model": ErrorBody}})
    def document(doc_id: Annotated[str, PathParam(max_length=500)]) -> dict[str, Any]:
        """One document with its full text (citations' ``start``/``end`` index into it)."""
        return live.get().document(doc_id).to_dict()

    @app.post("/api/documents", tags=["documents"], responses={422: {"model": ErrorBody}, 413: {"model": ErrorBody}})
    async def upload(request: Request) -> JSONResponse:
        """Add files (multipart field ``files``; .txt .md .html .pdf .docx): each is accepted or refused on its own.

        A file named like a document the index holds (same stem, other text) is refused unless the
        form has ``replace=true``; ``replaced`` lists the documents replaced."""
        try:
            form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES + 1)
        except (HTTPException, MultiPartException) as exc:  # malformed, or over the file count
            raise InputError(f"expected multipart/form-data with up to {MAX_FILES} files in the field 'files' ({exc})") from None
        uploads = [f for f in form.getlist("files") if hasattr(f, "read")]
        if not uploads:
            raise InputError("no files: send them as multipart/form-data in the field 'files'")
        files = [(f.filename or "document", await f.read()) for f in uploads]
        flag = str(form.get("replace", "false")).strip().lower()
        if flag not in ("true", "false", "1", "0", "yes", "no", ""):
            raise InputError(f"replace must be true or false, not {flag[:20]!r}")
        import anyio

        result = await anyio.to_thread.run_sync(add_files, live, files, flag in ("true", "1", "yes"))
        body = {"added": result.added, "replaced": result.replaced,
                "refused": [{"file": n, "error": e} for n, e in result.refused],
                "documents": len(live.get().documents())}
        return JSONResponse(body, status_code=200 if result.added or not result.refused else 422)

    @app.delete("/api/documents/{doc_id}", tags=["documents"], responses={404: {"model": ErrorBody}})
    def delete(doc_id: Annotated[str, PathParam(max_length=500)]) -> dict[str, Any]:
        """Remove a document from the index (a new generation; running requests finish on the old one)."""
        live.get().document(doc_id)  # 404 for an unknown id
        report = live.remove([doc_id])
        return {"removed": doc_id, "documents": report.documents}

    @app.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], include_in_schema=False)
    def no_route(request: Request, rest: str) -> JSONResponse:
        """Anything else under /api/: 405 for a route used with the wrong method, else 404, both as
        JSON (registered last; without it the web chat mounted at / answers with its own page)."""
        path = request.url.path
        allowed = sorted({m for r in app.routes if isinstance(r, APIRoute) and r.endpoint is not no_route
                          and r.path_regex.match(path) for m in r.methods or ()})
        if allowed:
            return _error(405, f"{request.method} is not allowed here; use {', '.join(allowed)}", {"Allow": ", ".join(allowed)})
        return _error(404, f"no such route: {path} (the API is described at /docs)")

    if chat:
        import gradio as gr

        from .webchat import CSS, HEAD, build_chat

        blocks = build_chat(live)
        blocks.queue(default_concurrency_limit=4, max_size=64)
        gr.mount_gradio_app(app, blocks, path="/", css=CSS, head=HEAD, ssr_mode=False, footer_links=["api"],
                            max_file_size=MAX_FILE_BYTES)
    return app


def _summary(doc) -> dict[str, Any]:
    d = doc.to_dict()
    d["characters"] = len(d.pop("text"))
    return d


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, or an AssistantError saying why not (a busy port, an
    address this machine does not have), before anything claims to be serving."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise AssistantError(f"cannot listen on {host}:{port}: not an address of this machine ({exc.strerror})") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        hint = "; another program is using it: choose another --port" if exc.errno == errno.EADDRINUSE else ""
        raise AssistantError(f"cannot listen on {host}:{port}: {exc.strerror}{hint}") from None
    return sock


def serve(qa: Assistant, host: str, port: int, users: dict[str, str] | None,
          say: Callable[[str], None] = print, sock: socket.socket | None = None) -> None:
    """Serve until stopped, on ``sock`` if given (already bound to host:port)."""
    import uvicorn

    sock = sock or listening_socket(host, port)
    app = create_app(qa, users=users)
    where = "this machine only" if host in ("127.0.0.1", "localhost", "::1") else f"every network that reaches {host}"
    say(f"policyqa: serving {len(qa.documents())} documents at http://{host}:{port}/ "
        f"(API at /api, docs at /docs); reachable from {where}; "
        + ("login required" if users else "no login (use --auth-file to require one)"))
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=3)
    uvicorn.Server(config).run(sockets=[sock])
