"""API Gateway (payload v2) answers: JSON and text."""

from __future__ import annotations

import json
from typing import Any


def json_text(body: Any) -> str:
    """``body`` as compact JSON, the form every answer uses."""
    return json.dumps(body, separators=(",", ":"))


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json_text(body),
    }


def text_response(status: int, body: str, content_type: str = "text/plain") -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": content_type}, "body": body}
