"""The receive flow of every webhook function: verify on raw bytes, split, enqueue, then answer.

Nothing slow happens here: no rules, no platform calls, no table writes. The platform gets its answer
as soon as SQS has accepted every event, and a 5xx when it has not, so the platform retries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from carehooks import http
from carehooks.domain.models import QueuedEvent
from carehooks.ingress.errors import (
    IngressError,
    MalformedBodyError,
    NotConfiguredError,
    PayloadTooLargeError,
)
from carehooks.ingress.queue import EventQueue
from carehooks.observability import logger, metrics

# Public messages: fixed text per error code, so internal details never leak to callers.
PUBLIC_MESSAGES = {
    "malformed_body": "The request body is not a valid webhook payload.",
    "payload_too_large": "The request body is too large.",
    "unsupported_media_type": "The request content type is not supported.",
    "invalid_signature": "The request signature is missing or invalid.",
    "forbidden": "Verification failed.",
    "not_configured": "The webhook is not configured.",
    "enqueue_failed": "The event could not be accepted; please retry.",
    "bad_request": "Bad request.",
}


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    path: str
    raw: bytes
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    raw_query: str = ""  # exactly as sent: Twilio signs the URL byte for byte

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> WebhookRequest:
        try:
            raw = http.raw_body(event)
        except http.RequestBodyError as exc:
            raise MalformedBodyError(str(exc)) from exc
        return cls(
            method=http.method(event) or "POST",
            path=str(event.get("rawPath") or ""),
            raw=raw,
            headers={str(k).lower(): str(v) for k, v in http.mapping(event, "headers").items()},
            query=http.query(event),
            raw_query=str(event.get("rawQueryString") or ""),
        )


class Receiver(Protocol):
    """What one platform's webhook needs to provide."""

    name: str

    def handshake(self, request: WebhookRequest) -> dict[str, Any]:
        """Answer a GET (verification handshake / CRC)."""
        ...

    def verify(self, request: WebhookRequest) -> None:
        """Raise InvalidSignatureError / ForbiddenError / NotConfiguredError unless authentic."""
        ...

    def split(self, request: WebhookRequest, received_at: datetime) -> list[QueuedEvent]:
        """One queued event per customer event; MalformedBodyError for bodies of the wrong shape."""
        ...

    def accepted(self, count: int) -> dict[str, Any]:
        """The success answer (200 JSON for most, empty TwiML for Twilio)."""
        ...


def receive(
    event: dict[str, Any],
    receiver: Receiver,
    queue: EventQueue,
    now: Callable[[], datetime],
    max_body_bytes: int,
) -> dict[str, Any]:
    """Handle one webhook request end to end and return the API Gateway response."""
    try:
        request = WebhookRequest.from_event(event)
        if len(request.raw) > max_body_bytes:
            raise PayloadTooLargeError(f"{len(request.raw)} bytes")
        if request.method == "GET":
            return receiver.handshake(request)
        receiver.verify(request)
        events = _split(receiver, request, now())
        if events:
            queue.send(events)
    except NotConfiguredError as exc:
        logger.error(
            "webhook secret not configured; rejecting",
            extra={"platform": receiver.name, "detail": exc.detail},
        )
        metrics.add_metric(name="WebhookNotConfigured", unit="Count", value=1)
        return _error(exc)
    except IngressError as exc:
        level = logger.error if exc.status >= 500 else logger.warning
        level("webhook rejected", extra={"platform": receiver.name, "code": exc.code, "detail": exc.detail})
        metrics.add_metric(name=f"WebhookRejected_{exc.code}", unit="Count", value=1)
        return _error(exc)
    metrics.add_metric(name="WebhookEventsEnqueued", unit="Count", value=len(events))
    logger.info("webhook accepted", extra={"platform": receiver.name, "events": len(events)})
    return receiver.accepted(len(events))


# What splitting (pure, on a verified body) raises on a shape its checks did not foresee.
_SHAPE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError, RecursionError)


def _split(receiver: Receiver, request: WebhookRequest, received_at: datetime) -> list[QueuedEvent]:
    """``receiver.split``; a body it cannot walk is malformed (400: a retry cannot help), never a 500."""
    try:
        return receiver.split(request, received_at)
    except IngressError:
        raise
    except _SHAPE_ERRORS as exc:
        logger.error(
            "webhook body of an unforeseen shape",
            extra={"platform": receiver.name, "error": type(exc).__name__},
        )
        raise MalformedBodyError(f"unforeseen shape: {type(exc).__name__}") from exc


def _error(exc: IngressError) -> dict[str, Any]:
    return http.error_response(exc.status, exc.code, PUBLIC_MESSAGES.get(exc.code, "Bad request."))
