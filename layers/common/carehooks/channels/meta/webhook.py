"""The Meta webhook receiver: the ``hub.*`` handshake, ``X-Hub-Signature-256``, and batch splitting."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from carehooks.channels.content_type import require_json
from carehooks.channels.meta import ingress, signature
from carehooks.config.settings import secret, secret_list
from carehooks.domain.models import QueuedEvent
from carehooks.observability import logger
from carehooks.web import responses
from carehooks.web.errors import ForbiddenError, InvalidSignatureError, NotConfiguredError
from carehooks.web.request import WebhookRequest

SIGNATURE_HEADER = "x-hub-signature-256"


class MetaReceiver:
    """Messenger, Instagram and WhatsApp Cloud API share this one callback and app secret.

    ``META_APP_SECRET`` may hold several comma-separated secrets (e.g. an Instagram-Login app beside a
    Facebook-Login app, or during rotation).
    """

    name = "meta"

    def handshake(self, request: WebhookRequest) -> dict[str, Any]:
        expected = secret("META_VERIFY_TOKEN")
        if not expected:
            logger.error("META_VERIFY_TOKEN is not configured; refusing the handshake")
            raise ForbiddenError("verify token not configured")
        mode = request.query.get("hub.mode", "")
        token = request.query.get("hub.verify_token", "")
        challenge = request.query.get("hub.challenge", "")
        if mode != "subscribe" or not challenge or not hmac.compare_digest(token.encode(), expected.encode()):
            raise ForbiddenError("handshake token mismatch")
        return responses.text_response(200, challenge)

    def verify(self, request: WebhookRequest) -> None:
        require_json(request)
        secrets = secret_list("META_APP_SECRET")
        if not secrets:
            raise NotConfiguredError("META_APP_SECRET")
        if not signature.verify(request.raw, request.header(SIGNATURE_HEADER), secrets):
            raise InvalidSignatureError("X-Hub-Signature-256 missing or wrong")

    def split(self, request: WebhookRequest, received_at: datetime) -> list[QueuedEvent]:
        return ingress.split(request.raw, received_at)

    def accepted(self, count: int) -> dict[str, Any]:
        return responses.json_response(200, {"ok": True, "events": count})
