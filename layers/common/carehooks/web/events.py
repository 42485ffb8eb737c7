"""Reading API Gateway HTTP API (payload v2) events: the raw body, headers, query and method."""

from __future__ import annotations

import base64
import binascii
from typing import Any


class RequestBodyError(ValueError):
    """The body could not be decoded (bad base64, or text that is not Unicode)."""


def raw_body(event: dict[str, Any]) -> bytes:
    """The exact bytes the platform sent (base64-decoded when API Gateway says so)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise RequestBodyError("body is not valid base64") from exc
    if isinstance(body, str):
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates: no platform sent these bytes
            raise RequestBodyError("body is not valid UTF-8 text") from exc
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    raise RequestBodyError("body is not text")


def header(event: dict[str, Any], name: str) -> str | None:
    """A header by case-insensitive name."""
    wanted = name.lower()
    for key, value in mapping(event, "headers").items():
        if str(key).lower() == wanted:
            return str(value)
    return None


def mapping(event: dict[str, Any], name: str) -> dict[str, Any]:
    """A map of the event (``headers``, ``queryStringParameters``); empty when absent or not a map."""
    value = event.get(name)
    return value if isinstance(value, dict) else {}


def query(event: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in mapping(event, "queryStringParameters").items()}


def method(event: dict[str, Any]) -> str:
    context = mapping(event, "requestContext")
    http = context.get("http") if isinstance(context.get("http"), dict) else {}
    return str((http or {}).get("method", "")).upper()
