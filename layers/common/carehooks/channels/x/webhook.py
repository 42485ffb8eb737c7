"""The X webhook receiver: the CRC challenge, ``x-twitter-webhooks-signature``, and splitting."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from carehooks.channels.content_type import require_json
from carehooks.channels.x import ingress, signature
from carehooks.config.settings import secret_list
from carehooks.domain.models import QueuedEvent
from carehooks.observability import logger, metrics
from carehooks.web import responses
from carehooks.web.errors import IngressError, InvalidSignatureError, NotConfiguredError
from carehooks.web.request import WebhookRequest

SIGNATURE_HEADER = "x-twitter-webhooks-signature"
# What X sends as a crc_token (base64, URL-safe, UUID-like): never the start of a JSON object.
CRC_TOKEN = re.compile(r"[A-Za-z0-9+/=_\-.~:]{1,256}")


class MissingCrcTokenError(IngressError):
    status = 400
    code = "bad_request"


class XReceiver:
    """``X_CONSUMER_SECRET`` may hold several comma-separated secrets (rotation); the CRC uses the first."""

    name = "x"

    def _secrets(self) -> list[str]:
        secrets = secret_list("X_CONSUMER_SECRET")
        if not secrets:
            raise NotConfiguredError("X_CONSUMER_SECRET")
        return secrets

    def handshake(self, request: WebhookRequest) -> dict[str, Any]:
        """Answer the CRC challenge: ``{"response_token": "sha256=<base64 HMAC>"}``.

        The answer is the same HMAC that signs a POST body, and anyone can send a GET: answering any
        ``crc_token`` would sign any body an attacker chose. X's tokens are short and URL-safe; a
        token that could be a JSON body (braces, quotes, spaces) is refused, so no answer is ever a
        valid signature of an event body.
        """
        token = request.query.get("crc_token", "")
        if not token:
            raise MissingCrcTokenError("crc_token missing")
        if not CRC_TOKEN.fullmatch(token):
            raise MissingCrcTokenError("crc_token is not a token X would send")
        return responses.json_response(
            200, {"response_token": signature.crc_response_token(token, self._secrets()[0])}
        )

    def verify(self, request: WebhookRequest) -> None:
        require_json(request)
        if not signature.verify(request.raw, request.header(SIGNATURE_HEADER), self._secrets()):
            raise InvalidSignatureError("x-twitter-webhooks-signature missing or wrong")

    def split(self, request: WebhookRequest, received_at: datetime) -> list[QueuedEvent]:
        body = ingress.parse_body(request.raw)
        events = ingress.split_body(body, received_at)
        ignored = ingress.ignored_kinds(body)
        if ignored:
            metrics.add_metric(name="XActivityIgnored", unit="Count", value=len(ignored))
            logger.info("X activity that is not a customer event dropped", extra={"kinds": ignored})
        return events

    def accepted(self, count: int) -> dict[str, Any]:
        return responses.json_response(200, {"ok": True, "events": count})
