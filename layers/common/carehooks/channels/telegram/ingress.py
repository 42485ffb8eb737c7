"""Split a verified Telegram update into queued events (pure).

Telegram sends one ``Update`` per request, with at most one of its optional fields set. Only
``message``, ``edited_message`` and ``callback_query`` are customer events; other updates (channel
posts, membership changes, …) are acknowledged and dropped. The SQS deduplication id is
``<bot id>#<update_id>``: update ids are per bot, and after a week without updates the next one may
be random, so the bot id scopes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from carehooks.domain.models import Channel, QueuedEvent
from carehooks.web.errors import MalformedBodyError
from carehooks.web.jsonbody import load_object

CUSTOMER_KINDS = ("message", "edited_message", "callback_query")


def parse_update(raw: bytes) -> dict[str, Any]:
    """The update as a JSON object with an integer ``update_id``, or MalformedBodyError."""
    body = load_object(raw)
    update_id = body.get("update_id")
    if isinstance(update_id, bool) or not isinstance(update_id, int):
        raise MalformedBodyError("not a Telegram update: update_id missing or not an integer")
    return body


def update_kind(update: dict[str, Any]) -> str:
    """Which optional field the update carries (``unknown`` if none)."""
    return next((k for k in update if k != "update_id" and isinstance(update[k], dict)), "unknown")


def split(raw: bytes, bot_id: str, received_at: datetime) -> list[QueuedEvent]:
    """Zero or one :class:`QueuedEvent` for the update."""
    update = parse_update(raw)
    kind = update_kind(update)
    if kind not in CUSTOMER_KINDS:
        return []
    item: dict[str, Any] = update[kind]
    contact = _chat_id(kind, item)
    return [
        QueuedEvent(
            source="telegram",
            channel=Channel.TELEGRAM,
            account_id=bot_id,
            contact_id=contact,
            event_id=f"{bot_id}#{update['update_id']}",
            received_at=received_at,
            position=0,
            payload={"kind": kind, "update_id": update["update_id"], kind: item},
        )
    ]


def _chat_id(kind: str, item: dict[str, Any]) -> str:
    """The conversation's chat: the message's chat, or for a button tap the chat of the tapped message."""
    message = item.get("message") if kind == "callback_query" else item
    chat = message.get("chat") if isinstance(message, dict) else None
    if isinstance(chat, dict) and chat.get("id") is not None:
        return str(chat["id"])
    sender = item.get("from")
    if kind == "callback_query" and isinstance(sender, dict) and sender.get("id") is not None:
        return str(sender["id"])  # a tap on an inline-mode message carries no chat: the user's private chat
    raise MalformedBodyError(f"{kind} without chat.id")
