"""The stack's HTTP server: the template's HTTP API, the ``/_local/`` routes and the platform sandbox.

A stdlib ``ThreadingHTTPServer`` (one thread per connection, HTTP/1.1 keep-alive), so concurrent
requests run concurrently; each API request becomes one function invocation in a worker process.
What ``http.server`` refuses itself (a request line over 64 KiB, too many or too long headers, a
malformed request line or body length, a method it does not know) is answered with the JSON error body
too, ``{"error": {"code", "message"}}``, never its HTML error page. A method API Gateway does not serve
(``TRACE``, ``CONNECT``, ``QUERY``, any other) is a 405 with ``Allow``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from infra.local import apigw
from infra.local.apigw import Response, Router
from infra.local.auth import AuthError, LocalJwt
from infra.local.bus import LocalBus
from infra.local.clock import Clock
from infra.local.conversations import ConversationReader
from infra.local.mail import MailFolder
from infra.local.model import TemplateModel
from infra.local.queues import DeadLetterWatch
from infra.local.runtime import Runtime
from infra.local.sandbox import PLATFORMS, FailureRule, Sandbox
from infra.local.schedules import Scheduler
from infra.local.settings import LocalSettings

API_GATEWAY_TIMEOUT = 30.0
# The methods an HTTP API route can have (ANY stands for these).
API_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
LOCAL_ROUTES: list[tuple[str, str, str]] = [
    ("GET", "/_local/conversations", "stored conversations, newest first (?status=open&limit=50)"),
    ("GET", "/_local/conversations/{id}", "one conversation with its messages"),
    ("GET", "/_local/outbox", "outbound platform calls, oldest first (DELETE clears)"),
    (
        "POST",
        "/_local/outbox/fail",
        'make the next sandbox calls fail: {"channel","status","body","times"?,"match"?}',
    ),
    ("GET", "/_local/mail", "emails sent, oldest first (DELETE clears)"),
    ("GET", "/_local/dlq", "what the dead-letter queues hold, with the last failure"),
    ("GET", "/_local/clock", "the shared clock"),
    ("POST", "/_local/clock", '{"advance_seconds": N} or {"set": "<ISO 8601>"} or {"reset": true}'),
    ("POST", "/_local/run/{LogicalId}", "run a scheduled function now"),
    ("POST", "/_local/token", '{"sub", "email"?, "name"?} -> {"token"} for the JWT routes'),
    ("GET", "/_local/health", "liveness"),
    ("GET", "/_local/events", "domain events the bus received, oldest first (DELETE clears)"),
]


class StackParts(Protocol):
    """The parts of the running stack the handlers reach, declared here so the server does not import
    the module that starts it (``infra.local.stack.Stack`` implements this)."""

    settings: LocalSettings
    clock: Clock
    model: TemplateModel
    runtime: Runtime
    router: Router
    jwt: LocalJwt
    sandbox: Sandbox
    mail: MailFolder
    dlq: DeadLetterWatch
    conversations: ConversationReader
    scheduler: Scheduler
    bus: LocalBus

    def say(self, text: str) -> None: ...


def _json(status: int, payload: Any) -> Response:
    return Response(status, [("Content-Type", "application/json")], json.dumps(payload).encode())


def _bad(text: str) -> Response:
    return _json(400, {"error": text})


def error_response(status: int, message: str | None = None) -> Response:
    """The JSON answer for an error the HTTP server itself gives: ``{"error": {"code", "message"}}``."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code = re.sub(r"[^a-z0-9]+", "_", phrase.lower()).strip("_")
    return _json(status, {"error": {"code": code, "message": message or phrase}})


class BodyLengthError(ValueError):
    """The request's body length cannot be read (a bad Content-Length or chunk size)."""


@dataclass
class Request:
    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str

    def header(self, name: str) -> str:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), "")

    def json(self) -> Any:
        if not self.body.strip():
            return {}
        return json.loads(self.body)


class StackServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], stack: StackParts) -> None:
        self.stack = stack
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "carehooks-local"
    sys_version = ""
    server: StackServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the stack logs API requests and invocations itself."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """``http.server``'s own refusals, answered as JSON (the base class writes an HTML page)."""
        response = error_response(code, message)
        self.close_connection = True
        # A request line it could not parse leaves the HTTP/0.9 default, which has no status line or
        # headers: answer such a request as HTTP/1.0, so the client reads a status and a JSON body.
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        self.send_response(code)
        self.send_header("Connection", "close")
        for key, value in response.headers:
            self.send_header(key, value)
        body = b"" if code < 200 or code in (204, 205, 304) else response.body
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _read_body(self) -> bytes:
        try:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                chunks: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                    if size < 0:
                        raise BodyLengthError("negative chunk size")
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as exc:
            raise BodyLengthError(str(exc)) from exc
        if length < 0:
            raise BodyLengthError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        started = time.monotonic()
        try:
            body = self._read_body()
        except BodyLengthError:
            self.send_error(
                HTTPStatus.BAD_REQUEST, "the body length (Content-Length or chunk size) is invalid"
            )
            return
        parts = urlsplit(self.path)
        request = Request(
            method=self.command.upper(),
            raw_path=parts.path or "/",
            raw_query=parts.query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        stack = self.server.stack
        try:
            if request.raw_path == "/_local" or request.raw_path.startswith("/_local/"):
                response = local_route(stack, request)
            elif request.raw_path.startswith("/_sandbox/"):
                response = sandbox_route(stack, request, self.headers.get("Host") or "")
            else:
                response = api_route(stack, request)
                stack.say(
                    f"{request.method} {request.raw_path} -> {response.status} "
                    f"({(time.monotonic() - started) * 1000:.0f} ms)"
                )
        except Exception as exc:  # a bug in the stack itself: answer, log, keep serving
            stack.say(f"ERROR in the local stack while serving {request.method} {request.raw_path}: {exc!r}")
            import traceback

            traceback.print_exc()
            response = apigw.INTERNAL_ERROR
        self._send(response, head=request.method == "HEAD")

    def _send(self, response: Response, head: bool = False) -> None:
        self.send_response(response.status)
        for key, value in response.headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def _not_allowed(self) -> None:
        self.close_connection = True
        response = error_response(HTTPStatus.METHOD_NOT_ALLOWED, f"{self.command} is not served here")
        self._send(
            Response(response.status, [*response.headers, ("Allow", ", ".join(API_METHODS))], response.body)
        )

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def __getattr__(self, name: str) -> Any:
        # http.server looks up do_<METHOD> and answers 501 without one: every other method is a 405.
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)


# -- the template's HTTP API ------------------------------------------------------------------------
def api_route(stack: StackParts, request: Request) -> Response:
    """One API request: route, authorize, invoke, map back, as API Gateway would."""
    if len(request.body) > apigw.MAX_PAYLOAD:
        return apigw.TOO_LARGE
    found = stack.router.match(request.method, request.raw_path)
    if found is None:
        return apigw.NOT_FOUND
    route, params = found
    authorizer_context: dict[str, Any] | None = None
    if route.authorizer is not None or route.unsupported_auth:
        lowered = {k.lower(): v for k, v in request.headers}
        try:
            authorizer_context = stack.jwt.authorize(route, lowered)
        except AuthError as exc:
            stack.say(f"{request.method} {request.raw_path}: {'403' if exc.forbidden else '401'} ({exc})")
            return apigw.FORBIDDEN if exc.forbidden else apigw.UNAUTHORIZED
    event = apigw.build_event(
        route,
        params,
        request.method,
        request.raw_path,
        request.raw_query,
        request.headers,
        request.body,
        request.source_ip,
        stack.clock.now(),
        authorizer_context,
    )
    function = stack.model.functions[route.function]
    limit = min(float(function.timeout), API_GATEWAY_TIMEOUT)
    outcome = stack.runtime.invoke(
        route.function, event, source=f"{request.method} {request.raw_path}", timeout=limit
    )
    if not outcome.ok:
        timed_out = (outcome.error or {}).get("errorType") == "Sandbox.Timedout"
        if timed_out and function.timeout > API_GATEWAY_TIMEOUT:
            return apigw.SERVICE_UNAVAILABLE
        return apigw.INTERNAL_ERROR
    response = apigw.map_result(outcome.result)
    if response.status >= 500 and response is apigw.INTERNAL_ERROR:
        stack.say(f"{route.function} returned a response API Gateway cannot map: {outcome.result!r:.300}")
    return Response(
        response.status,
        [*response.headers, ("Apigw-Requestid", event["requestContext"]["requestId"])],
        response.body,
    )


# -- the platform sandbox ---------------------------------------------------------------------------
def sandbox_route(stack: StackParts, request: Request, host: str) -> Response:
    match = re.fullmatch(r"/_sandbox/([a-z]+)(/.*)?", request.raw_path)
    if not match or match.group(1) not in PLATFORMS:
        return _json(404, {"error": "unknown sandbox", "sandboxes": list(PLATFORMS)})
    channel, rest = match.group(1), match.group(2) or "/"
    url = f"http://{host or stack.settings.host}{request.raw_path}" + (
        f"?{request.raw_query}" if request.raw_query else ""
    )
    response = stack.sandbox.handle(
        channel, request.method, rest, url, request.header("content-type"), request.body
    )
    stack.say(f"OUTBOX {channel} {request.method} {rest} -> {response.status}")
    return response


# -- /_local/ ---------------------------------------------------------------------------------------
def local_route(stack: StackParts, request: Request) -> Response:
    path = request.raw_path.rstrip("/") or "/"
    method = request.method
    query = {k: v[-1] for k, v in parse_qs(request.raw_query).items()}
    try:
        handler = _LOCAL.get((method, path))
        if handler is not None:
            return handler(stack, request, query)
        if method == "POST" and path.startswith("/_local/run/"):
            return run_route(stack, path.removeprefix("/_local/run/"))
        if method == "GET" and path.startswith("/_local/conversations/"):
            found = stack.conversations.get(path.removeprefix("/_local/conversations/"))
            return _json(200, found) if found is not None else _json(404, {"message": "Not Found"})
    except json.JSONDecodeError:
        return _bad("the body is not JSON")
    return _json(404, {"message": "Not Found", "local_routes": [f"{m} {p}" for m, p, _ in LOCAL_ROUTES]})


def run_route(stack: StackParts, name: str) -> Response:
    outcome = stack.scheduler.run_now(name)
    if outcome is None:
        known = sorted({s.function for s in stack.scheduler.schedules})
        return _json(404, {"ok": False, "error": f"no scheduled function {name!r}; scheduled: {known}"})
    if outcome.ok:
        return _json(200, {"ok": True})
    return _json(500, {"ok": False, "error": outcome.error_text})


def _clock_post(stack: StackParts, request: Request, _: dict[str, str]) -> Response:
    body = request.json()
    if not isinstance(body, dict):
        return _bad('send {"advance_seconds": N} or {"set": "<ISO 8601>"}')
    if "advance_seconds" in body:
        try:
            seconds = float(body["advance_seconds"])
        except (TypeError, ValueError):
            return _bad("advance_seconds must be a number")
        stack.clock.advance(timedelta(seconds=seconds))
    elif "set" in body:
        try:
            stack.clock.set(str(body["set"]))
        except ValueError:
            return _bad("set must be an ISO 8601 date-time")
    elif body.get("reset"):
        stack.clock.reset()
    else:
        return _bad('send {"advance_seconds": N} or {"set": "<ISO 8601>"}')
    stack.scheduler.wake()
    now = stack.clock.now()
    stack.say(f"CLOCK now {stack.clock.iso(now)} (offset {stack.clock.offset.total_seconds():+.0f} s)")
    return _json(200, {"now": stack.clock.iso(now)})


def _token(stack: StackParts, request: Request, _: dict[str, str]) -> Response:
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("sub"), str) or not body["sub"]:
        return _bad('send {"sub": "<agent id>", "email"?: ..., "name"?: ...}')
    return _json(200, {"token": stack.jwt.mint(body)})


def _fail(stack: StackParts, request: Request, _: dict[str, str]) -> Response:
    body = request.json()
    if not isinstance(body, dict) or body.get("channel") not in (*PLATFORMS, "*"):
        return _bad(f'send {{"channel": one of {list(PLATFORMS)}, "status": 400, "body": {{...}}}}')
    try:
        rule = FailureRule(
            channel=str(body["channel"]),
            status=int(body.get("status", 500)),
            body=body.get("body", {"error": {"message": "sandbox failure", "code": 2}}),
            times=int(body.get("times", 1)),
            match=str(body.get("match", "")),
        )
    except (TypeError, ValueError):
        return _bad("status and times must be integers")
    stack.sandbox.fail_next(rule)
    return _json(200, {"ok": True})


def _conversations(stack: StackParts, _: Request, query: dict[str, str]) -> Response:
    status = query.get("status") or None
    try:
        limit = max(1, min(int(query.get("limit", "50")), 500))
    except ValueError:
        return _bad("limit must be an integer")
    return _json(200, stack.conversations.list(status, limit))


def _index(stack: StackParts, _: Request, __: dict[str, str]) -> Response:
    return _json(
        200,
        {
            "routes": [f"{r.key}" for r in stack.model.routes()],
            "local": [f"{m} {p}" for m, p, _ in LOCAL_ROUTES],
        },
    )


def _ok(stack: StackParts, _: Request, __: dict[str, str]) -> Response:
    return _json(200, {"ok": True})


def _cleared(action: Callable[[], None]) -> Response:
    action()
    return _json(200, {"ok": True})


_LocalHandler = Callable[[StackParts, Request, dict[str, str]], Response]
_LOCAL: dict[tuple[str, str], _LocalHandler] = {
    ("GET", "/_local"): _index,
    ("GET", "/_local/health"): _ok,
    ("GET", "/_local/outbox"): lambda s, _r, _q: _json(200, {"items": s.sandbox.items()}),
    ("DELETE", "/_local/outbox"): lambda s, _r, _q: _cleared(s.sandbox.clear),
    ("POST", "/_local/outbox/fail"): _fail,
    ("GET", "/_local/mail"): lambda s, _r, _q: _json(200, {"items": s.mail.items()}),
    ("DELETE", "/_local/mail"): lambda s, _r, _q: _cleared(s.mail.clear),
    ("GET", "/_local/dlq"): lambda s, _r, _q: _json(200, {"items": s.dlq.items()}),
    ("GET", "/_local/clock"): lambda s, _r, _q: _json(200, {"now": s.clock.iso(s.clock.now())}),
    ("POST", "/_local/clock"): _clock_post,
    ("POST", "/_local/token"): _token,
    ("GET", "/_local/conversations"): _conversations,
    ("GET", "/_local/events"): lambda s, _r, _q: _json(200, {"items": s.bus.items()}),
    ("DELETE", "/_local/events"): lambda s, _r, _q: _cleared(s.bus.clear),
}


def serve(stack: StackParts) -> tuple[StackServer, threading.Thread]:
    """Bind and serve in a background thread."""
    server = StackServer((stack.settings.host, stack.settings.port), stack)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="http", daemon=True
    )
    thread.start()
    return server, thread
