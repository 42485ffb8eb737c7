"""The receive flow of every webhook function: verify on raw bytes, split, enqueue, then answer.

Nothing slow happens here: no rules, no platform calls, no table writes. The platform gets its answer
as soon as SQS has accepted every event, and a 5xx when it has not, so the platform retries.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from carehooks.domain.models import QueuedEvent
from carehooks.ingress.queue import EventQueue
from carehooks.observability import logger, metrics
from carehooks.web.errors import (
    IngressError,
    MalformedBodyError,
    NotConfiguredError,
    PayloadTooLargeError,
    error_response,
)
from carehooks.web.request import WebhookRequest


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
        return error_response(exc)
    except IngressError as exc:
        level = logger.error if exc.status >= 500 else logger.warning
        level("webhook rejected", extra={"platform": receiver.name, "code": exc.code, "detail": exc.detail})
        metrics.add_metric(name=f"WebhookRejected_{exc.code}", unit="Count", value=1)
        return error_response(exc)
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
