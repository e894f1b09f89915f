"""One HTTP server: the JSON API under ``/api``, health at ``/healthz``, the web chat at ``/``.

Everything a client sends is untrusted: bodies are validated by pydantic and
bounded in size, errors are JSON with one readable ``error`` line (never a
traceback), and when an auth file is given every route but ``/healthz`` asks
for HTTP Basic credentials, the chat page and Gradio's own routes included.
A request that changes something is refused when a browser says it comes from
a page of another origin, and the chat's events can name no file but one
uploaded to this server (docs/SECURITY.md has the whole list).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import errno
import hashlib
import hmac
import json
import logging
import os
import re
import socket
import stat
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Path as PathParam, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect
from starlette.routing import Route

from . import store
from .core import MAX_K, MAX_QUERY_CHARS, Assistant
from .errors import AssistantError, IndexBusyError, InputError
from .indexing import BuildReport
from .ingest import MAX_FILE_BYTES
from .progress import Progress, ProgressFn
from .uploads import MAX_FILES, UPLOAD_SUFFIXES, add_files, release_temp, server_temp

log = logging.getLogger("policyqa.server")

MAX_API_BODY = 256 * 1024  # a question and a long history fit many times over
MAX_UPLOAD_BODY = 25 * 1024 * 1024  # the chat's upload route: files up to the ingest limit
MAX_CHAT_BODY = 4 * 1024 * 1024  # a chat event: the question, the conversation so far, the filters
MAX_CHAT_UPLOADS = 512 * 1024 * 1024  # the chat's uploads on disk at once (each goes when added, or after an hour)
MAX_HISTORY = 20
PER_CLIENT = 4  # requests one client may have running at once; the rest wait their turn
PER_CLIENT_UPLOADS = 1  # uploads one client may have running at once, apart from its other requests
CLIENT_WAIT_SECONDS = 30
LOGIN_FAILURES = 10  # wrong logins a client may make in LOGIN_WINDOW seconds; then it waits
LOGIN_WINDOW = 60.0
ORIGINS_ENV = "POLICYQA_ORIGINS"  # more origins whose pages may write, e.g. behind a proxy that rewrites Host
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MCP_PATH = "/mcp"  # the MCP server's one route (streamable HTTP): guarded as the API is
LOOPBACK = ("127.0.0.1", "localhost", "::1")
_GENERATION = re.compile(r"^gen-[0-9T]{15}-[0-9a-f]{6}$")

# Gradio routes the chat page and gradio_client use; every other route of Gradio's (run
# history, monitoring, proxy, vibe editing, …) answers 404.
_GRADIO_POSTS = re.compile(r"^/gradio_api/(queue/join|upload|cancel|reset|(run|call|api)/[\w-]+)/?$")
_GRADIO_GETS = re.compile(
    r"^/(gradio_api/(info|config|queue/data|upload_progress|heartbeat/[\w-]+|startup-events|theme\.css|"
    r"call/[\w-]+/[\w-]+|file=.+)|config|info|theme\.css|favicon\.ico|manifest\.json|robots\.txt|"
    r"(assets|static|svelte)/.+|pwa_icon(/\d+)?)?/?$"
)
_STREAMS = re.compile(r"^/gradio_api/(queue/data|heartbeat/[\w-]+)$")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|//)")

# Gradio's page runs inline scripts and its HTML component evaluates templates (new Function), so
# scripts need 'unsafe-inline' 'unsafe-eval'; what the policy still holds: no framing, no plugin,
# and no request, image or form to another site (a script that ran could not send anything out).
_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; media-src 'self' blob:; "
        "worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'")
# FastAPI's /docs and /redoc load Swagger UI and ReDoc from their CDN, in the reader's browser.
_CSP_DOCS = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
             "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
             "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
             "https://cdn.redoc.ly; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'self'; object-src 'none'")


class LiveAssistant:
    """The assistant on the newest generation of its index, switched without a restart."""

    def __init__(self, qa: Assistant) -> None:
        self._qa = qa
        self._lock = threading.Lock()

    def get(self) -> Assistant:
        with self._lock:
            self._qa = self._qa.reloaded()
            return self._qa

    def add(self, paths: list[Path], replace: bool = False, progress: ProgressFn | None = None) -> BuildReport:
        """Add files as a new generation; requests already running keep the one they started on."""
        # switch=False: the shared assistant must not change under concurrent requests;
        # the next get() moves to the new generation as a new object.
        return self.get().add(paths, switch=False, replace=replace, progress=progress or False)

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
    """``user:password`` per line (blank lines and ``#`` comments ignored).

    A password may be stored hashed, as ``policyqa hash-password`` prints it
    (``scrypt$…``). A file other users may read or write is refused: it holds the keys."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise AssistantError(f"cannot read the auth file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AssistantError(f"the auth file {path} can be read or changed by other users of this machine: "
                             f"run `chmod 600 {path}`")
    users: dict[str, str] = {}
    for n, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user or not password:
            raise AssistantError(f"{path}, line {n}: expected user:password")
        if password.startswith("scrypt$") and _parse_hash(password) is None:
            raise AssistantError(f"{path}, line {n}: a damaged scrypt$ hash; make it again with `policyqa hash-password`")
        users[user] = password
    if not users:
        raise AssistantError(f"the auth file {path} names no users")
    return users


_SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # about 30 ms and 16 MB a check; a check is cached once passed


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64), for an auth file line ``user:<this>``."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt)}${b64(digest)}"


def _parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        return int(n), int(r), int(p), base64.b64decode(salt, validate=True), base64.b64decode(digest, validate=True)
    except (ValueError, binascii.Error):
        return None


def _password_matches(password: str, stored: str) -> bool:
    if stored.startswith("scrypt$"):
        parsed = _parse_hash(stored)
        if parsed is None:
            return False
        n, r, p, salt, digest = parsed
        try:
            got = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(digest), maxmem=2**26)
        except ValueError:
            return False
        return hmac.compare_digest(got, digest)
    return hmac.compare_digest(password.encode(), stored.encode())


def plain_text_users(users: dict[str, str]) -> list[str]:
    return [u for u, stored in users.items() if not stored.startswith("scrypt$")]


class _Logins:
    """Checks Basic credentials; remembers passed ones (a keyed digest, in memory) so a hashed password
    is not re-derived on every request, and counts each client's wrong logins."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users
        # An unknown user's password is checked against a hash too, when the file holds hashes,
        # so the time taken does not tell which users exist.
        self._nobody = hash_password(os.urandom(8).hex()) if len(plain_text_users(users)) < len(users) else ""
        self._key = os.urandom(32)
        self._passed: set[bytes] = set()
        self._failures: dict[str, deque[float]] = {}

    def check(self, header: str | None) -> bool:
        if not header or not header.lower().startswith("basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        token = hmac.new(self._key, header.encode(), "sha256").digest()
        if token in self._passed:
            return True
        # Compared even for unknown users, so timing tells nothing about who exists.
        ok = _password_matches(password, self.users.get(user, self._nobody)) and user in self.users
        if ok:
            if len(self._passed) > 10_000:
                self._passed.clear()
            self._passed.add(token)
        return ok

    def locked_out(self, client: str) -> bool:
        times = self._failures.get(client)
        if not times:
            return False
        while times and times[0] < time.monotonic() - LOGIN_WINDOW:
            times.popleft()
        if not times:
            del self._failures[client]
        return len(times) >= LOGIN_FAILURES

    def failed(self, client: str) -> None:
        if len(self._failures) > 10_000:  # many addresses guessing: forget the oldest first
            self._failures.pop(next(iter(self._failures)))
        self._failures.setdefault(client, deque(maxlen=LOGIN_FAILURES)).append(time.monotonic())


def _is_api(path: str) -> bool:
    """The JSON API and the MCP route: per-client limits and the API's body bound, no chat rules."""
    return path.startswith("/api/") or path == MCP_PATH


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _same_origin(request: Request, allowed: frozenset[str]) -> bool:
    """Whether the page that sent the request (Origin, else Referer) is this server's own.

    A request with neither header is not from a browser's page (curl, scripts) and passes:
    browsers send Origin with every cross-origin POST, no-cors ones included."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return True
    parts = urlsplit(source)
    if not parts.scheme or not parts.netloc:  # "null": a sandboxed frame or a file:// page
        return False
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    host = (request.headers.get("host") or "").lower()
    return parts.netloc.lower() == host or origin in allowed


def _foreign_files(value: Any, root: str) -> list[str]:
    """The "path" of every file object in a chat event's JSON that is not an upload to this server."""
    found, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            path = item.get("path")
            if isinstance(path, str) and not _inside(path, root):
                found.append(path)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _inside(path: str, root: str) -> bool:
    if _SCHEME.match(path):  # a URL: Gradio would fetch it; this server reaches out to nothing
        return False
    real = os.path.realpath(path)
    return real == root or real.startswith(root + os.sep)


class GuardMiddleware:
    """Auth (when configured), same-origin writes, body-size limits, the chat's file rules, security
    headers, and a per-client cap on requests in flight.

    A plain ASGI middleware (not Starlette's BaseHTTPMiddleware, which hides a client's disconnect
    from the route): an upload whose sender gave up is stopped."""

    def __init__(self, app, users: dict[str, str] | None = None, upload_root: Callable[[], str] | None = None,
                 origins: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.logins = _Logins(users) if users is not None else None
        self.upload_root = upload_root  # Gradio's upload folder, when the chat is mounted
        self.origins = origins
        # client -> [its semaphore, requests holding or awaiting it]; touched only on the event
        # loop. An entry goes when its count reaches 0, so many distinct clients leave nothing behind.
        self._slots: dict[str, list] = {}
        self._upload_slots: dict[str, list] = {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "websocket":  # the page talks HTTP only (server-sent events)
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = _CSP_DOCS if scope["path"] in ("/docs", "/redoc") else _CSP

        started = False

        async def send_with_headers(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                                    ("Referrer-Policy", "same-origin"), ("Content-Security-Policy", csp)):
                    if name not in headers:
                        headers[name] = value
            await send(message)

        request = Request(scope, receive)
        refusal, receive = await self._screen(request, receive)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        path = scope["path"]
        if not _is_api(path):
            try:
                await self.app(scope, receive, send_with_headers)
            except asyncio.CancelledError:
                # A stopping server cancels the open pages' event streams; that ends them, it is no error.
                if not _STREAMS.match(path):
                    raise
            except RuntimeError as exc:
                # Gradio ends the stream of a session it does not know by raising inside the started
                # response: the client has its "session not found" already; end the stream, one line.
                if not (_STREAMS.match(path) and started):
                    raise
                log.warning("chat event stream ended: %s", exc)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        # A client's requests beyond PER_CLIENT wait here, before taking a worker thread, so one
        # busy client queues behind itself instead of starving the others. Its uploads have their
        # own slot: a slow file never keeps its searches waiting.
        client = request.client.host if request.client else "?"
        uploading = scope["method"] == "POST" and path == "/api/documents"
        table, size = (self._upload_slots, PER_CLIENT_UPLOADS) if uploading else (self._slots, PER_CLIENT)
        entry = table.setdefault(client, [asyncio.Semaphore(size), 0])
        entry[1] += 1
        try:
            slot = entry[0]
            try:
                await asyncio.wait_for(slot.acquire(), timeout=CLIENT_WAIT_SECONDS)
            except TimeoutError:
                busy = _error(429, "too many requests from this client at once; try again shortly")
                await busy(scope, receive, send_with_headers)
                return
            try:
                await self.app(scope, receive, send_with_headers)
            finally:
                slot.release()
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del table[client]

    async def _screen(self, request: Request, receive):
        """(a refusal or None, the receive to pass on: the body replayed when it had to be read here)."""
        path, method = request.url.path, request.method
        client = request.client.host if request.client else "?"
        if self.logins is not None and path != "/healthz":
            if self.logins.locked_out(client):
                return _error(429, f"too many wrong logins; wait {LOGIN_WINDOW:.0f} seconds"), receive
            header = request.headers.get("authorization")
            if not self.logins.check(header):
                if header:
                    self.logins.failed(client)
                return _error(401, "log in first (HTTP Basic credentials from the server's auth file)",
                              {"WWW-Authenticate": 'Basic realm="policyqa", charset="UTF-8"'}), receive
        if method in UNSAFE_METHODS and not _same_origin(request, self.origins):
            return _error(403, "refused: the request comes from a page of another site"), receive
        api = _is_api(path)
        uploading = method == "POST" and path == "/api/documents"
        if not api and path not in ("/healthz", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
            refused = self._refused_chat_route(path, method)
            if refused:
                return refused, receive
        gradio_upload = path.rstrip("/") == "/gradio_api/upload"
        limit = MAX_UPLOAD_BODY if uploading or gradio_upload else MAX_API_BODY if api else MAX_CHAT_BODY
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return _error(400, "the Content-Length header is not a number"), receive
            if int(length) > limit:
                return _error(413, f"the request body is {int(length)} bytes; the limit here is {limit}"), receive
        elif method in UNSAFE_METHODS and request.headers.get("transfer-encoding"):
            # A chunked body could be any size: every HTTP client sends a length for these.
            return _error(411, "send the request body with a Content-Length header"), receive
        if api or method != "POST" or self.upload_root is None:
            return None, receive
        # A chat event or upload: read here (bounded above), checked, then replayed to Gradio.
        try:
            body = await request.body()
        except ClientDisconnect:
            return _error(400, "the request was not received whole"), receive
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        check = self._check_upload if gradio_upload else self._check_event
        return await check(request, body), replay

    def _refused_chat_route(self, path: str, method: str) -> JSONResponse | None:
        """Only the routes the chat page and gradio_client use; no URL fetched for a client."""
        if method in ("GET", "HEAD"):
            if not _GRADIO_GETS.match(path):
                return _error(404, "not found")
            _, _, target = path.partition("/file=")
            if target and _SCHEME.match(target):
                return _error(404, "not found: this server serves its own files only")
            return None
        if method == "POST" and _GRADIO_POSTS.match(path):
            return None
        if method == "OPTIONS":
            return None  # CORS preflight: CORSMiddleware refuses other origins
        return _error(404 if method == "POST" else 405, "not found" if method == "POST" else "method not allowed")

    async def _check_event(self, request: Request, body: bytes) -> JSONResponse | None:
        """A chat event may name files uploaded to this server only (Gradio checks too: a second line)."""
        try:
            value = json.loads(body)
        except ValueError:
            return None  # Gradio answers a malformed body itself
        foreign = _foreign_files(value, self.upload_root())
        if foreign:
            log.warning("refused a chat event naming a file that was not uploaded here: %.200s", foreign[0])
            return _error(403, "refused: an event may only use files uploaded to this server")
        return None

    async def _check_upload(self, request: Request, body: bytes) -> JSONResponse | None:
        """The chat's upload route takes at most MAX_FILES document files, while there is room."""
        held = sum(f.stat().st_size for f in Path(self.upload_root()).rglob("*") if f.is_file())
        if held + len(body) > MAX_CHAT_UPLOADS:
            return _error(507, "the server holds too many uploaded files right now; add yours in an hour or so")

        async def chunks():
            yield body

        parser = MultiPartParser(request.headers, chunks(), max_files=MAX_FILES, max_fields=MAX_FILES)
        try:
            form = await parser.parse()
        except MultiPartException as exc:
            return _error(400, f"expected up to {MAX_FILES} files in multipart/form-data ({exc.message})")
        try:
            for _, item in form.multi_items():
                name = getattr(item, "filename", None)
                if name is not None and Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
                    return _error(415, f"{Path(name).name[:80]}: not a document file; use {', '.join(UPLOAD_SUFFIXES)}")
        finally:
            await form.close()
        return None

    @property
    def clients_tracked(self) -> int:
        """Clients with a request in flight or waiting (0 when the server is idle)."""
        return len(self._slots) + len(self._upload_slots)


class _GradioTracebacks:
    """Stands in for the ``traceback`` module inside Gradio's queue and routes, which print a
    traceback for every failed event: one refused by Gradio's own input checks (a malformed or
    refused value) becomes one log line, one raised in this package keeps its traceback."""

    package = str(Path(__file__).resolve().parent)

    def __getattr__(self, name: str) -> Any:
        return getattr(traceback, name)

    def print_exc(self, *args: Any, **kwargs: Any) -> None:
        exc = sys.exc_info()[1]
        frames = traceback.extract_tb(exc.__traceback__) if exc is not None else []
        if exc is None or any(f.filename.startswith(self.package) for f in frames):
            traceback.print_exc(*args, **kwargs)
        else:
            log.warning("chat event refused: %s: %.300s", type(exc).__name__, " ".join(str(exc).split()))


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


def create_app(qa: Assistant, *, users: dict[str, str] | None = None, chat: bool = True, read_only: bool = False,
               host: str | None = None) -> FastAPI:
    """The FastAPI app: JSON API, health, OpenAPI docs at /docs, MCP at /mcp, and (with ``chat``) the web chat at /.

    ``read_only``: nothing may add or remove documents. ``host``: the address served; on a loopback
    one, /mcp also refuses a Host header that is not a loopback name (a DNS-rebinding page's)."""
    live = LiveAssistant(qa)
    mcp = None  # set below, before the app starts

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        async with mcp.session_manager.run():  # the MCP route's task group
            yield
        if chat:  # after Gradio's own shutdown, which deletes the files it made
            release_temp()

    app = FastAPI(
        lifespan=lifespan,
        title="policyqa",
        version="0.1.0",
        description="Cited answers and passage search over a corpus of policy documents. "
        "Every citation is an exact span: document.text[start:end] == quote.",
    )
    app.state.live = live
    app.state.read_only = read_only
    upload_root = None
    if chat:
        # Before Gradio is imported: some of its modules read these once. Gradio's uploads and
        # cache go in this server's own temporary folder, removed when it stops and, after a
        # crash, when the next server starts (uploads.server_temp).
        os.environ["GRADIO_TEMP_DIR"] = str(server_temp() / "gradio")
        os.environ["GRADIO_EXAMPLES_CACHE"] = str(server_temp() / "examples")

        def upload_root() -> str:
            return os.path.realpath(os.environ["GRADIO_TEMP_DIR"])

    origins = frozenset(o.strip().lower().rstrip("/") for o in os.environ.get(ORIGINS_ENV, "").split(",") if o.strip())
    app.add_middleware(GuardMiddleware, users=users, upload_root=upload_root, origins=origins)
    # No origin but this server's own may read its answers: Gradio's routes otherwise answer any
    # http://localhost:* page with credentials; with this in the parent app Gradio leaves CORS to it.
    app.add_middleware(CORSMiddleware, allow_origins=sorted(origins), allow_credentials=False)

    def scrub(message: str) -> str:
        """A message without the server's folders: a client knows the index by its name only."""
        root = live.get().root
        return message.replace(str(root.parent) + os.sep, "").replace(str(root.parent), "")

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
        return _error(404 if unknown else 400, scrub(str(exc)))

    @app.exception_handler(ReadOnlyError)
    async def _read_only(request: Request, exc: ReadOnlyError) -> JSONResponse:
        return _error(403, str(exc))

    @app.exception_handler(_Gone)
    async def _gone(request: Request, exc: AssistantError) -> JSONResponse:
        return _error(410, str(exc))

    @app.exception_handler(IndexBusyError)
    async def _busy(request: Request, exc: IndexBusyError) -> JSONResponse:
        return _error(409, scrub(str(exc)))

    @app.exception_handler(AssistantError)
    async def _unavailable(request: Request, exc: AssistantError) -> JSONResponse:
        return _error(503, scrub(str(exc)))

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
        """An extractive answer with numbered citations, or ``answered: false`` with related passages.

        ``generation`` names the index generation the answer came from: fetch a cited document
        with ``GET /api/documents/{id}?generation=…`` to read the very text it quotes."""
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
        rerank: Annotated[bool, Query(description="order by the evidence the passages hold (default); false: "
                                                  "retrieval order, faster")] = True,
    ) -> dict[str, Any]:
        """The passages that best match ``q``, best first (``score`` is the retrieval score)."""
        hits = live.get().search(q, k=k, documents=doc, since=since, until=until, rerank=rerank)
        return {"query": q, "passages": [h.to_dict() for h in hits]}

    @app.get("/api/documents", tags=["documents"])
    def documents() -> dict[str, Any]:
        """Every document of the index, without its text."""
        return {"documents": [_summary(d) for d in live.get().documents()]}

    @app.get("/api/documents/{doc_id}", tags=["documents"],
             responses={404: {"model": ErrorBody}, 410: {"model": ErrorBody}})
    def document(
        doc_id: Annotated[str, PathParam(max_length=500)],
        generation: Annotated[str | None, Query(max_length=40, description="the generation an answer names")] = None,
    ) -> dict[str, Any]:
        """One document with its full text (citations' ``start``/``end`` index into it).

        With ``generation`` (an answer's), the text as that generation held it while the server
        keeps it (the newest two), else 410: the index has changed since that answer."""
        current = live.get()
        if generation is None or generation == current.path.name:
            return {**current.document(doc_id).to_dict(), "generation": current.path.name}
        return {**_document_at(current.root, generation, doc_id).to_dict(), "generation": generation}

    @app.post("/api/documents", tags=["documents"], responses={422: {"model": ErrorBody}, 413: {"model": ErrorBody}})
    async def upload(request: Request) -> Response:
        """Add files (multipart field ``files``; .txt .md .html .htm .pdf .docx): each is accepted or refused on its own.

        A file named like a document the index holds (same stem, other text) is refused unless the
        form has ``replace=true``; ``replaced`` lists the documents replaced.

        With ``Accept: application/x-ndjson`` the answer is a stream of JSON lines while the work
        runs: ``{"progress": {phase, label, done, total, unit}}`` as it moves, then one last line
        with the outcome and its ``status`` (200, or 422 when every file was refused)."""
        _writable(read_only)
        try:
            form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES + 1)
        except ClientDisconnect:  # gone before it finished sending: nobody to answer
            return _error(400, "the upload was not received whole")
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

        # A client that gives up stops its upload: the file being read is dropped at once.
        cancel = threading.Event()
        latest: list[Progress] = []  # the newest step alone, written by the worker thread

        def note(event: Progress) -> None:
            latest[:] = [event]

        work = asyncio.ensure_future(anyio.to_thread.run_sync(add_files, live, files, flag in ("true", "1", "yes"),
                                                              cancel, note))

        def outcome() -> tuple[dict[str, Any], int]:
            result = work.result()
            body = {"added": result.added, "replaced": result.replaced,
                    "refused": [{"file": n, "error": scrub(e)} for n, e in result.refused],
                    "documents": len(live.get().documents()), "generation": live.get().path.name}
            return body, 200 if result.added or not result.refused else 422

        if "application/x-ndjson" not in request.headers.get("accept", ""):
            while not (await asyncio.wait({work}, timeout=0.5))[0]:
                if await request.is_disconnected():
                    cancel.set()
            body, status = outcome()
            return JSONResponse(body, status_code=status)

        async def lines():
            sent = None
            try:
                while True:
                    done = (await asyncio.wait({work}, timeout=0.25))[0]
                    if latest and latest[0] is not sent:  # the newest step only: a burst is one line
                        sent = latest[0]
                        yield json.dumps({"progress": sent.to_dict()}) + "\n"
                    if done:
                        break
                    if await request.is_disconnected():
                        cancel.set()
                body, status = outcome()
                yield json.dumps({**body, "status": status}) + "\n"
            finally:
                if not work.done():  # the stream was dropped: stop reading
                    cancel.set()

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @app.delete("/api/documents/{doc_id}", tags=["documents"], responses={404: {"model": ErrorBody}})
    def delete(doc_id: Annotated[str, PathParam(max_length=500)]) -> dict[str, Any]:
        """Remove a document from the index (a new generation; running requests finish on the old one)."""
        _writable(read_only)
        live.get().document(doc_id)  # 404 for an unknown id
        report = live.remove([doc_id])
        return {"removed": doc_id, "documents": report.documents}

    # MCP over streamable HTTP, stateless (each POST is answered on its own, as JSON): the tools only
    # read, and no session outlives its request. Registered before the chat, which is mounted at /.
    from .mcp_server import build_server

    mcp = build_server(live.get, scrub)
    mcp_app = mcp.streamable_http_app(streamable_http_path=MCP_PATH, stateless_http=True, json_response=True,
                                      transport_security=_mcp_security(host, origins))
    (route,) = [r for r in mcp_app.routes if getattr(r, "path", None) == MCP_PATH]
    app.router.routes.append(Route(MCP_PATH, endpoint=_PostOnly(route.endpoint)))

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
        import gradio.queueing
        import gradio.routes

        from .webchat import CSS, HEAD, build_chat

        blocks = build_chat(live, read_only=read_only)
        blocks.queue(default_concurrency_limit=4, max_size=64)
        blocks.delete_cache = (600, 3600)  # Gradio's copies of uploads and answers go after an hour
        root = live.get().root
        blocked = [str(getattr(root, "path", None) or root)]  # a Milvus Lite index's data folder too
        gr.mount_gradio_app(app, blocks, path="/", css=CSS, head=HEAD, ssr_mode=False, footer_links=["api"],
                            max_file_size=MAX_FILE_BYTES, show_error=False, run_history=False,
                            blocked_paths=blocked)
        # Gradio checks that an event's files were uploaded to it only once `has_launched` is set,
        # which launch() does and mount_gradio_app does not: without it any path the process can
        # read could be named in an event and served back (issue 25).
        blocks.has_launched = True
        gradio.queueing.traceback = gradio.routes.traceback = _GradioTracebacks()  # type: ignore[assignment]
    return app


def _document_at(root: Path, generation: str, doc_id: str):
    """``doc_id`` as the generation ``generation`` of the index at ``root`` holds it."""
    if not _GENERATION.match(generation):
        raise InputError(f"generation must be a name such as gen-20250101T000000-abc123, not {generation[:40]!r}")
    try:
        docs = _generation_documents(root / generation) if isinstance(root, Path) else _version_documents(root, generation)
    except (OSError, ValueError, KeyError, AssistantError):  # pruned, or being pruned as we read
        raise _Gone(f"generation {generation} is no longer kept: the index has changed since that answer, "
                    f"and {doc_id} may have changed with it; ask again") from None
    if doc_id not in docs:
        raise InputError(f"unknown document id: {doc_id} (in generation {generation})")
    return docs[doc_id]


_GENERATIONS: dict[Path, dict] = {}  # the documents of the last generations asked for
_GENERATIONS_LOCK = threading.Lock()


def _cached_documents(key: Path, read) -> dict:
    """A generation's documents from the cache of the last ones asked for, else ``read()``."""
    with _GENERATIONS_LOCK:
        if key in _GENERATIONS:
            return _GENERATIONS[key]
    docs = read()
    with _GENERATIONS_LOCK:
        if len(_GENERATIONS) >= store.KEEP_GENERATIONS:
            _GENERATIONS.pop(next(iter(_GENERATIONS)))
        _GENERATIONS[key] = docs
    return docs


def _generation_documents(folder: Path) -> dict:
    if not (folder / store.MANIFEST).is_file():
        raise FileNotFoundError(folder)  # pruned: its cached documents are not served either

    def read() -> dict:
        store.read_manifest(folder)  # a whole generation, or an error
        return store.read_documents(folder)

    return _cached_documents(folder, read)


def _version_documents(location, generation: str) -> dict:
    """The documents of a kept version of a Milvus index (milvus_store.KEEP_VERSIONS)."""
    from . import milvus_store

    version = milvus_store.version_named(location, generation)
    if version is None:
        raise FileNotFoundError(generation)  # no longer kept
    return _cached_documents(Path(f"/milvus/{location}/{generation}"), lambda: milvus_store.read_documents(version))


class _Gone(AssistantError):
    """The generation an answer came from is no longer on disk."""


class ReadOnlyError(AssistantError):
    """A change asked of a server started with --read-only."""


def _writable(read_only: bool) -> None:
    if read_only:
        raise ReadOnlyError("this server is read-only (started with --read-only): documents cannot be added or removed here")


class _PostOnly:
    """The MCP route takes POST alone: a stateless server would hold a GET's event stream open
    forever with nothing to send, and the spec lets it answer 405 instead."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["method"] != "POST":
            refusal = _error(405, "use POST: this MCP endpoint is stateless and opens no event stream", {"Allow": "POST"})
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _mcp_security(host: str | None, origins: frozenset[str]):
    """The MCP SDK's Host/Origin check, on when serving a loopback address: a page that rebinds its
    own name to 127.0.0.1 is same-origin to the guard, but its Host header is not a loopback name."""
    from mcp.server.transport_security import TransportSecuritySettings

    if host not in LOOPBACK:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*"] + sorted(urlsplit(o).netloc for o in origins)
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts,
                                     allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*", *sorted(origins)])


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
          say: Callable[[str], None] = print, sock: socket.socket | None = None, read_only: bool = False) -> None:
    """Serve until stopped, on ``sock`` if given (already bound to host:port)."""
    import uvicorn

    sock = sock or listening_socket(host, port)
    app = create_app(qa, users=users, read_only=read_only, host=host)
    local = host in LOOPBACK
    where = "this machine only" if local else f"every network that reaches {host}"
    say(f"policyqa: serving {len(qa.documents())} documents at http://{host}:{port}/ "
        f"(API at /api, docs at /docs, MCP at /mcp); reachable from {where}; "
        + ("login required" if users else "no login (use --auth-file to require one)")
        + ("; read-only" if read_only else ""))
    if not local and not users and read_only:
        say(f"policyqa: warning: anyone who can reach {host}:{port} can read every document; "
            "give --auth-file to require a login")
    elif not local and not users:
        say(f"policyqa: warning: anyone who can reach {host}:{port} can read, add, replace and remove documents; "
            "give --auth-file to require a login")
    if users and plain_text_users(users):
        say("policyqa: warning: the auth file holds plain-text passwords; store them hashed "
            "(`policyqa hash-password` prints a line to put in their place)")
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=3)
    uvicorn.Server(config).run(sockets=[sock])
