"""The Telegram webhook receiver: ``X-Telegram-Bot-Api-Secret-Token`` (constant time), then splitting.

A button tap (``callback_query``) is answered in the webhook response itself
(``{"method": "answerCallbackQuery", ...}``, which the Bot API runs), so the customer's client stops
its spinner at once without an outbound call from the webhook.
"""

from __future__ import annotations

import hashlib
import hmac
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from carehooks.channels.content_type import require_json
from carehooks.channels.telegram import ingress
from carehooks.config.settings import secret, secret_list
from carehooks.domain.models import QueuedEvent
from carehooks.observability import logger, metrics
from carehooks.web import responses
from carehooks.web.errors import IngressError, InvalidSignatureError, NotConfiguredError
from carehooks.web.request import WebhookRequest

SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 (a header name, not a secret)

# The callback query of the update being answered: set by split() on every POST, read by accepted().
_callback_query_id: ContextVar[str | None] = ContextVar("telegram_callback_query_id", default=None)


class NoHandshakeError(IngressError):
    status = 405
    code = "bad_request"


def bot_id() -> str:
    """The bot's id: the part of ``TELEGRAM_BOT_TOKEN`` before ``:``.

    Without a bot token (a receive-only deployment) a stable stand-in derived from the first
    configured secret token is used, so update ids are still scoped per bot.
    """
    token = secret("TELEGRAM_BOT_TOKEN")
    if token and ":" in token:
        return token.split(":", 1)[0]
    secrets = secret_list("TELEGRAM_SECRET_TOKEN")
    return "st-" + hashlib.sha256(secrets[0].encode()).hexdigest()[:16] if secrets else "unknown"


class TelegramReceiver:
    """``TELEGRAM_SECRET_TOKEN`` is the ``secret_token`` given to ``setWebhook`` (comma-separated for rotation)."""

    name = "telegram"

    def handshake(self, request: WebhookRequest) -> dict[str, Any]:
        # Telegram has no handshake (setWebhook is an API call); a GET is not a Telegram request.
        raise NoHandshakeError("GET is not used by Telegram")

    def verify(self, request: WebhookRequest) -> None:
        require_json(request)
        secrets = secret_list("TELEGRAM_SECRET_TOKEN")
        if not secrets:
            raise NotConfiguredError("TELEGRAM_SECRET_TOKEN")
        given = (request.header(SECRET_HEADER) or "").encode()
        # compare_digest on every configured secret (no early exit on the first match's position).
        matches = [hmac.compare_digest(given, s.encode()) for s in secrets]
        if not given or not any(matches):
            raise InvalidSignatureError("X-Telegram-Bot-Api-Secret-Token missing or wrong")

    def split(self, request: WebhookRequest, received_at: datetime) -> list[QueuedEvent]:
        events = ingress.split(request.raw, bot_id(), received_at)
        tapped = events[0].payload.get("callback_query") if events else None
        _callback_query_id.set(str(tapped["id"]) if isinstance(tapped, dict) and tapped.get("id") else None)
        if not events:
            kind = ingress.update_kind(ingress.parse_update(request.raw))
            metrics.add_metric(name="TelegramUpdateIgnored", unit="Count", value=1)
            logger.info("Telegram update that is not a customer event dropped", extra={"kind": kind})
        return events

    def accepted(self, count: int) -> dict[str, Any]:
        callback_query_id = _callback_query_id.get()
        if callback_query_id:
            return responses.json_response(
                200, {"method": "answerCallbackQuery", "callback_query_id": callback_query_id}
            )
        return responses.json_response(200, {"ok": True, "events": count})
