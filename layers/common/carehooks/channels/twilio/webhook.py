"""The Twilio webhook receiver: form bodies only, ``X-Twilio-Signature`` over the public URL, TwiML answer.

The signed URL is ``PUBLIC_BASE_URL`` + the route path (+ the query string as received), never the
URL API Gateway saw: behind a custom domain or stage the two differ, and Twilio signs what it called.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from carehooks.channels.content_type import media_type
from carehooks.channels.twilio import ingress, signature
from carehooks.config.settings import secret, secret_list
from carehooks.domain.models import QueuedEvent
from carehooks.observability import logger, metrics
from carehooks.web import responses
from carehooks.web.errors import (
    IngressError,
    InvalidSignatureError,
    NotConfiguredError,
    UnsupportedMediaTypeError,
)
from carehooks.web.request import WebhookRequest

ROUTE = "/webhooks/twilio"
SIGNATURE_HEADER = "x-twilio-signature"
FORM = "application/x-www-form-urlencoded"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class NoHandshakeError(IngressError):
    status = 405
    code = "bad_request"


def public_url(base_url: str, raw_query: str = "") -> str:
    """The URL Twilio called: ``PUBLIC_BASE_URL`` + route (+ ``?query``)."""
    url = base_url.rstrip("/") + ROUTE
    return f"{url}?{raw_query}" if raw_query else url


class TwilioReceiver:
    """``TWILIO_AUTH_TOKEN`` may hold the primary and secondary tokens, comma-separated."""

    name = "twilio"

    def handshake(self, request: WebhookRequest) -> dict[str, Any]:
        raise NoHandshakeError("Twilio webhooks are POSTs here")

    def verify(self, request: WebhookRequest) -> None:
        content_type = media_type(request)
        if content_type != FORM:
            raise UnsupportedMediaTypeError(f"content type {content_type or 'missing'}")
        tokens = secret_list("TWILIO_AUTH_TOKEN")
        if not tokens:
            raise NotConfiguredError("TWILIO_AUTH_TOKEN")
        base_url = secret("PUBLIC_BASE_URL")
        if not base_url:
            raise NotConfiguredError("PUBLIC_BASE_URL (Twilio signs the public URL)")
        url = public_url(base_url, request.raw_query)
        if not signature.verify(
            url, ingress.form_pairs(request.raw), request.header(SIGNATURE_HEADER), tokens
        ):
            raise InvalidSignatureError("X-Twilio-Signature missing or wrong")

    def split(self, request: WebhookRequest, received_at: datetime) -> list[QueuedEvent]:
        events = ingress.split(request.raw, received_at)
        if not events:
            metrics.add_metric(name="TwilioChannelIgnored", unit="Count", value=1)
            logger.info("Twilio webhook for a channel carehooks does not handle dropped")
        return events

    def accepted(self, count: int) -> dict[str, Any]:
        """An empty TwiML response: accepted, no inline reply (replies go out from a worker)."""
        return responses.text_response(200, EMPTY_TWIML, content_type="text/xml")
