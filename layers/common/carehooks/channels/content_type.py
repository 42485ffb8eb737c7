"""Content-type checks the webhook receivers share."""

from __future__ import annotations

from carehooks.web.errors import UnsupportedMediaTypeError
from carehooks.web.request import WebhookRequest


def media_type(request: WebhookRequest) -> str:
    """The request's media type without parameters (``application/json; charset=utf-8`` → ``application/json``)."""
    return (request.header("content-type") or "").split(";", 1)[0].strip().lower()


def require_json(request: WebhookRequest) -> None:
    """415 for a body declared as something other than JSON (no declaration is tolerated)."""
    declared = media_type(request)
    if declared and declared != "application/json":
        raise UnsupportedMediaTypeError(f"content type {declared}")
