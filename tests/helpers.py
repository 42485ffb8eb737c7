"""Helpers shared by the tests: API Gateway events, signatures, fixtures from events/, loading handlers."""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"

META_SECRET = "test_app_secret"
META_VERIFY_TOKEN = "verify-me"


def event_bytes(path: str) -> bytes:
    """The raw bytes of a sample body under events/ (as the platform would send them)."""
    return (EVENTS / path).read_bytes().rstrip(b"\n")


def event_json(path: str) -> Any:
    return json.loads(event_bytes(path))


def http_event(
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload v2) event."""
    raw = body.encode() if isinstance(body, str) else body
    encoded: str | None
    if raw is None:
        encoded = None
    elif base64_body:
        encoded = base64.b64encode(raw).decode()
    else:
        encoded = raw.decode("utf-8")
    from urllib.parse import urlencode

    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": {k.lower(): v for k, v in (headers or {}).items()},
        "queryStringParameters": query or None,
        "requestContext": {
            "http": {"method": method, "path": path, "sourceIp": "203.0.113.9"},
            "requestId": "req-1",
            "stage": "$default",
        },
        "body": encoded,
        "isBase64Encoded": base64_body,
    }


def meta_signature(raw: bytes, secret: str = META_SECRET) -> str:
    from carehooks.channels.meta.signature import sign

    return sign(raw, secret)


def load_handler(function_dir: str) -> ModuleType:
    """Import functions/<dir>/app.py under a unique module name (each function has its own app.py)."""
    name = f"fn_{function_dir}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / function_dir / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class FakeContext:
    function_name = "test-function"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:test-function"
    memory_limit_in_mb = 256
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/test"
    log_stream_name = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 5000
