"""Telegram client: ``POST {TELEGRAM_API_URL}/bot{TELEGRAM_BOT_TOKEN}/sendMessage``.

An attachment is ``sendPhoto`` or ``sendDocument`` with its URL and the text as caption.
Choices become an inline keyboard (``callback_data`` = the choice id, at most 64 bytes); the tap comes
back as a ``callback_query``. Text is cut to 4096 UTF-16 code units. The token is part of the URL (the
Bot API's design), so the URL is never logged or put into an error.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from carehooks.channels.telegram.traits import CAPTION_LIMIT, TRAITS
from carehooks.config.settings import secret
from carehooks.domain.models import Conversation
from carehooks.outbound import http
from carehooks.outbound.client import STANDARD, SendPlan
from carehooks.outbound.models import (
    AuthConfigError,
    Choice,
    OutboundMessage,
    OutcomeUnknownError,
    PermanentError,
    RateLimitedError,
    RecipientUnreachableError,
    SendError,
    SendResult,
    TransientError,
)
from carehooks.outbound.text import fit

PLATFORM = "Telegram"
API_URL = "https://api.telegram.org"  # unless TELEGRAM_API_URL says otherwise
CALLBACK_DATA_BYTES = 64
BUTTON_TEXT = 64
BUTTONS_PER_ROW = 3
# How the Bot API words a URL it could not fetch or use (``400 Bad Request: …``).
_MEDIA_FETCH_ERRORS = (
    "failed to get http url content",
    "wrong file identifier/http url specified",
    "wrong type of the web page content",
    "wrong remote file identifier",
    "file must be non-empty",
)
_BOT_TOKEN = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")


class RedactBotTokens(logging.Filter):
    """Replace ``/bot<id>:<token>`` in urllib3's log records with ``/bot<redacted>``.

    The Bot API puts the token in the URL path, and urllib3 logs the path when it retries.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _BOT_TOKEN.search(message):
            record.msg = _BOT_TOKEN.sub("/bot<redacted>", message)
            record.args = ()
        return True


http.filter_url_logs(RedactBotTokens())


class TelegramClient:
    """Sends as the bot of ``TELEGRAM_BOT_TOKEN``; the conversation's ``contact_id`` is the chat id."""

    def __init__(self, base_url: str | None = None) -> None:
        self._base_url = base_url

    @property
    def base_url(self) -> str:
        return (self._base_url or secret("TELEGRAM_API_URL") or API_URL).rstrip("/")

    def send(
        self, conversation: Conversation, message: OutboundMessage, plan: SendPlan = STANDARD
    ) -> SendResult:
        """Send one message; the result's id is ``<chat id>:<message_id>`` like inbound messages."""
        if plan.mode != "standard":
            raise PermanentError(f"Telegram has no {plan.mode} sends")
        token = secret("TELEGRAM_BOT_TOKEN")
        if not token:
            raise AuthConfigError("no Telegram bot token configured (set TELEGRAM_BOT_TOKEN)")
        method, body, details = build_call(conversation, message)
        try:
            response = http.request(
                "POST", f"{self.base_url}/bot{token}/{method}", platform=PLATFORM, json=body
            )
        except (TransientError, OutcomeUnknownError) as exc:
            # Drop the cause: requests' message names the URL, and the URL holds the bot token.
            raise type(exc)(exc.reason) from None
        answer = http.json_body(response)
        if response.status_code >= 400 or answer.get("ok") is not True:
            raise classify(response.status_code, answer, http.retry_after(response))
        result = answer.get("result") if isinstance(answer.get("result"), dict) else {}
        message_id = (result or {}).get("message_id")
        if message_id is None:
            raise OutcomeUnknownError("Telegram accepted the message but returned no message_id")
        chat = ((result or {}).get("chat") or {}).get("id", conversation.contact_id)
        return SendResult(status="sent", platform_message_id=f"{chat}:{message_id}", details=details)


def build_call(
    conversation: Conversation, message: OutboundMessage
) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The Bot API method for ``message``, its parameters and what was adjusted (pure).

    Text: ``sendMessage``. One attachment: ``sendPhoto`` (an image) or ``sendDocument`` (a file) with
    the URL Telegram fetches, the text as its ``caption`` (at most 1024 UTF-16 code units).
    """
    if not message.attachments:
        return ("sendMessage", *build_body(conversation, message))
    if len(message.attachments) != 1:
        raise PermanentError("a Telegram message carries one attachment (split the message first)")
    attachment = message.attachments[0]
    method, field = ("sendPhoto", "photo") if attachment.type == "image" else ("sendDocument", "document")
    body: dict[str, Any] = {"chat_id": _chat(conversation.contact_id), field: attachment.url}
    details: dict[str, str] = {"attachment_type": attachment.type}
    if message.text:
        fitted = fit(message.text, CAPTION_LIMIT, measure=TRAITS.measure, label="caption")
        body["caption"] = fitted.text
        details.update(fitted.details)
    if message.choices:
        body["reply_markup"] = {"inline_keyboard": _keyboard(message.choices)}
    _reply_parameters(body, message)
    return method, body, details


def build_body(conversation: Conversation, message: OutboundMessage) -> tuple[dict[str, Any], dict[str, str]]:
    """The ``sendMessage`` parameters and what was adjusted to fit them (pure)."""
    fitted = fit(message.text, TRAITS.text_limit, measure=TRAITS.measure)
    body: dict[str, Any] = {"chat_id": _chat(conversation.contact_id), "text": fitted.text}
    if message.choices:
        body["reply_markup"] = {"inline_keyboard": _keyboard(message.choices)}
    _reply_parameters(body, message)
    return body, dict(fitted.details)


def _reply_parameters(body: dict[str, Any], message: OutboundMessage) -> None:
    if message.reply_to:
        # Inbound ids are "<chat>:<message_id>"; the Bot API wants the bare message_id.
        tail = message.reply_to.split(":")
        if len(tail) >= 2 and tail[1].lstrip("-").isdigit():
            body["reply_parameters"] = {"message_id": int(tail[1]), "allow_sending_without_reply": True}


def _chat(contact_id: str) -> int | str:
    return int(contact_id) if contact_id.lstrip("-").isdigit() else contact_id


def _keyboard(choices: tuple[Choice, ...]) -> list[list[dict[str, str]]]:
    for choice in choices:
        if not 1 <= len(choice.id.encode()) <= CALLBACK_DATA_BYTES:
            # Cutting the id would break matching the tap to the choice: refuse instead.
            raise PermanentError(
                f"the choice id {choice.id[:20]!r} does not fit Telegram's 1-64 byte callback_data"
            )
    buttons = [{"text": fit(c.title, BUTTON_TEXT).text, "callback_data": c.id} for c in choices]
    per_row = BUTTONS_PER_ROW if len(buttons) <= BUTTONS_PER_ROW else 1
    if len(buttons) > BUTTONS_PER_ROW and all(len(c.title) <= 3 for c in choices):
        per_row = 5  # short labels (scores 1-5) fit side by side
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


def classify(status_code: int, body: dict[str, Any], retry_after: float | None = None) -> SendError:  # noqa: PLR0911 - one answer per error
    """The one mapping of a failed Bot API call onto the SendError taxonomy."""
    code = body.get("error_code", status_code)
    description = str(body.get("description") or "")[:200]
    platform_code = str(code)
    lowered = description.lower()
    if code == 429:
        parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
        wait = (parameters or {}).get("retry_after")
        return RateLimitedError(
            "Telegram is rate limiting the bot",
            platform_code=platform_code,
            retry_after=float(wait) if isinstance(wait, int | float) else retry_after,
        )
    if code in (401, 404):
        return AuthConfigError(
            "Telegram rejected the bot token (TELEGRAM_BOT_TOKEN)", platform_code=platform_code
        )
    if code == 403:
        return RecipientUnreachableError(
            f"the customer blocked the bot or never started it ({description or 'forbidden'})",
            platform_code=platform_code,
        )
    if code == 400 and any(sign in lowered for sign in _MEDIA_FETCH_ERRORS):
        return PermanentError(
            f"Telegram could not fetch the attachment from its URL ({description})",
            platform_code=platform_code,
        )
    if code == 400 and ("chat not found" in lowered or "user is deactivated" in lowered):
        return RecipientUnreachableError(
            f"Telegram cannot reach this chat ({description})", platform_code=platform_code
        )
    if isinstance(code, int) and code >= 500:
        return TransientError(f"Telegram answered HTTP {code}", platform_code=platform_code)
    return PermanentError(
        f"Telegram rejected the message: {description or f'HTTP {status_code}'}", platform_code=platform_code
    )
