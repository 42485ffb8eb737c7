"""API Gateway HTTP API (payload format 2.0), locally: route matching, the event, the response.

The event follows what API Gateway sends: ``rawPath`` and ``rawQueryString`` as received, lower-cased
headers with repeated values joined by commas, the ``cookie`` header moved to ``cookies``,
``queryStringParameters`` and ``pathParameters`` decoded (absent when empty), a body that is
base64-encoded unless its content type is text (so form posts arrive with ``isBase64Encoded: true``,
as Twilio's do on AWS), and the request context with the JWT claims when the route has an authorizer.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from infra.local.model import Route
from infra.local.resolver import ACCOUNT_ID

MAX_PAYLOAD = 10 * 1024 * 1024
_TEXT_TYPES = {
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-javascript",
    "application/graphql",
}


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def message(status: int, text: str) -> Response:
    """API Gateway's own JSON answers (``{"message": "Not Found"}`` …)."""
    return Response(status, [("Content-Type", "application/json")], json.dumps({"message": text}).encode())


NOT_FOUND = message(404, "Not Found")
UNAUTHORIZED = message(401, "Unauthorized")
FORBIDDEN = message(403, "Forbidden")
INTERNAL_ERROR = message(500, "Internal Server Error")
SERVICE_UNAVAILABLE = message(503, "Service Unavailable")
TOO_LARGE = message(413, "Request Entity Too Large")


class _Matcher:
    def __init__(self, route: Route) -> None:
        self.route = route
        self.names: list[str] = []
        if route.path == "$default":
            self.regex = re.compile(r".*")
            self.rank: tuple[int, ...] = (3, 0, 0, 0, 0)
            return
        parts: list[str] = []
        literal = params = greedy = 0
        for segment in route.path.strip("/").split("/") if route.path != "/" else []:
            match = re.fullmatch(r"\{([A-Za-z0-9_.-]+)(\+?)\}", segment)
            if match and match.group(2):
                self.names.append(match.group(1))
                parts.append("(.+)")
                greedy += 1
            elif match:
                self.names.append(match.group(1))
                parts.append("([^/]+)")
                params += 1
            else:
                parts.append(re.escape(segment))
                literal += 1
        self.regex = re.compile("/" + "/".join(parts))
        # Most specific first: no greedy variable, fewer variables, more literal segments, a method.
        self.rank = (0 if not greedy else 2, params, -literal, int(route.method == "ANY"), 0)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.route.method not in ("ANY", method):
            return None
        found = self.regex.fullmatch(path)
        if not found:
            return None
        return {name: unquote(value) for name, value in zip(self.names, found.groups(), strict=True)}


class Router:
    """The HTTP API's routes; ``match`` picks the most specific one like API Gateway."""

    def __init__(self, routes: list[Route]) -> None:
        self._matchers = sorted((_Matcher(r) for r in routes), key=lambda m: m.rank)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for matcher in self._matchers:
            params = matcher.match(method, path)
            if params is not None:
                return matcher.route, params
        return None


def is_text(content_type: str | None, content_encoding: str | None) -> bool:
    """Whether API Gateway would pass the body as text rather than base64."""
    if content_encoding or not content_type:
        return False
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime.startswith("text/") or mime in _TEXT_TYPES or mime.endswith(("+json", "+xml"))


def _joined(pairs: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in pairs:
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


def build_event(
    route: Route,
    path_parameters: dict[str, str],
    method: str,
    raw_path: str,
    raw_query: str,
    header_pairs: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    now: datetime,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The payload-2.0 event API Gateway would send for this request."""
    headers: list[tuple[str, str]] = []
    cookies: list[str] = []
    for key, value in header_pairs:
        name = key.lower()
        if name == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        else:
            headers.append((name, value))
    joined = _joined(headers)
    request_id = base64.b32encode(uuid.uuid4().bytes).decode().rstrip("=")[:16]
    joined.setdefault("x-forwarded-for", source_ip)
    joined.setdefault("x-forwarded-proto", "http")
    joined["x-amzn-trace-id"] = f"Root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]}"
    host = joined.get("host", "127.0.0.1")
    joined.setdefault("x-forwarded-port", host.rsplit(":", 1)[1] if ":" in host else "80")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": joined,
    }
    if cookies:
        event["cookies"] = cookies
    query = parse_qsl(raw_query, keep_blank_values=True)
    if query:
        event["queryStringParameters"] = _joined(query)
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": "local",
        "domainName": host.split(":", 1)[0],
        "domainPrefix": host.split(".", 1)[0].split(":", 1)[0],
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": joined.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route.key,
        "stage": "$default",
        "time": now.astimezone(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    event["requestContext"] = context
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        if is_text(joined.get("content-type"), joined.get("content-encoding")):
            try:
                event["body"] = body.decode("utf-8")
                event["isBase64Encoded"] = False
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(body).decode()
                event["isBase64Encoded"] = True
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


def map_result(result: Any) -> Response:
    """The HTTP response API Gateway makes of a function's result (payload format 2.0).

    A result with ``statusCode`` is taken as a response; any other JSON value is the body of a 200
    ``application/json`` response, as API Gateway infers it.
    """
    if not isinstance(result, dict) or "statusCode" not in result:
        body = b"" if result is None else json.dumps(result).encode()
        return Response(200, [("Content-Type", "application/json")], body)
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        return INTERNAL_ERROR
    if not 100 <= status <= 599:
        return INTERNAL_ERROR
    headers = [(str(k), _header_value(v)) for k, v in (result.get("headers") or {}).items()]
    headers = [(k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")]
    for cookie in result.get("cookies") or []:
        headers.append(("Set-Cookie", str(cookie)))
    raw = result.get("body")
    if raw is None:
        body = b""
    elif result.get("isBase64Encoded"):
        try:
            body = base64.b64decode(str(raw), validate=True)
        except (binascii.Error, ValueError):
            return INTERNAL_ERROR
    elif isinstance(raw, str):
        body = raw.encode("utf-8")
    else:
        body = json.dumps(raw).encode()
    return Response(status, headers, body)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
