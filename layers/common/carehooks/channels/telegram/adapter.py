"""Telegram adapter: one update → canonical events (pure).

Message ids are per chat, so a message's platform id is ``<chat id>:<message_id>`` (the same form
the client returns for sent messages). An ``edited_message`` repeats the original ``message_id``; it is
stored as its own message, ``<chat id>:<message_id>:edit:<edit_date>`` of kind ``edit`` (``reply_to``
names the original), so agents see the correction and a redelivered edit still dedupes. A button tap
(``callback_query``) is a message of kind ``button`` with ``reply_payload`` = its ``data``; it carries
no time of its own, so its time is when the webhook received it. Updates from bots are ignored.
"""

from __future__ import annotations

from typing import Any

from carehooks.channels.timestamps import epoch_seconds
from carehooks.domain.models import (
    AdapterError,
    Attachment,
    CanonicalEvent,
    Direction,
    IgnoredEvent,
    MessageEvent,
    QueuedEvent,
)

_MEDIA = ("photo", "document", "video", "voice", "audio", "sticker", "animation", "video_note")


def parse(event: QueuedEvent) -> list[CanonicalEvent]:
    kind = str(event.payload.get("kind"))
    item = event.payload.get(kind)
    if not isinstance(item, dict):
        raise AdapterError(f"Telegram {kind} update without its object")
    sender = item.get("from") if isinstance(item.get("from"), dict) else {}
    if (sender or {}).get("is_bot"):
        return [IgnoredEvent(channel=event.channel, kind="from_bot", reason="updates from bots are ignored")]
    if kind == "callback_query":
        return [_button(event, item, sender or {})]
    if kind in ("message", "edited_message"):
        return [_message(event, item, sender or {}, edited=kind == "edited_message")]
    return [IgnoredEvent(channel=event.channel, kind=kind, reason=f"Telegram {kind} updates are not handled")]


def _seconds(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise AdapterError(f"Telegram {what} is not Unix seconds: {value!r}")
    return value


def _name(sender: dict[str, Any]) -> str | None:
    name = " ".join(str(sender[k]) for k in ("first_name", "last_name") if sender.get(k))
    return name or (str(sender["username"]) if sender.get("username") else None)


def _message(event: QueuedEvent, item: dict[str, Any], sender: dict[str, Any], edited: bool) -> MessageEvent:
    message_id = item.get("message_id")
    if message_id is None:
        raise AdapterError("Telegram message without message_id")
    chat = event.contact_id
    attachments: tuple[Attachment, ...] = ()
    kind = "text"
    for media in _MEDIA:
        value = item.get(media)
        if value:
            # Photos come as several sizes, the largest last.
            chosen = value[-1] if isinstance(value, list) else value
            file_id = chosen.get("file_id") if isinstance(chosen, dict) else None
            mime = chosen.get("mime_type") if isinstance(chosen, dict) else None
            attachments = (Attachment(kind=media, media_id=file_id, mime_type=mime),)
            kind = media
            break
    if isinstance(item.get("location"), dict):
        attachments, kind = (Attachment(kind="location"),), "location"
    text = str(item.get("text") or item.get("caption") or "")
    replied = item.get("reply_to_message") if isinstance(item.get("reply_to_message"), dict) else None
    original = f"{chat}:{message_id}"
    if edited:
        at = _seconds(item.get("edit_date", item.get("date")), "edit_date")
        platform_id = f"{original}:edit:{at}"
        reply_to: str | None = original
        kind = "edit"
    else:
        at = _seconds(item.get("date"), "date")
        platform_id = original
        reply_to = f"{chat}:{replied['message_id']}" if replied and "message_id" in replied else None
    return MessageEvent(
        channel=event.channel,
        account_id=event.account_id,
        contact_id=chat,
        platform_message_id=platform_id,
        sent_at=epoch_seconds(at, event.received_at),
        direction=Direction.IN,
        text=text,
        kind=kind,
        attachments=attachments,
        contact_name=_name(sender),
        reply_to=reply_to,
        position=event.position,
    )


def _button(event: QueuedEvent, item: dict[str, Any], sender: dict[str, Any]) -> MessageEvent:
    if not item.get("id"):
        raise AdapterError("Telegram callback_query without id")
    data = item.get("data")
    tapped = item.get("message") if isinstance(item.get("message"), dict) else None
    return MessageEvent(
        channel=event.channel,
        account_id=event.account_id,
        contact_id=event.contact_id,
        platform_message_id=f"cb:{item['id']}",
        sent_at=event.received_at,
        direction=Direction.IN,
        text=str(data or ""),
        kind="button",
        reply_payload=str(data) if data is not None else None,
        contact_name=_name(sender),
        reply_to=f"{event.contact_id}:{tapped['message_id']}" if tapped and "message_id" in tapped else None,
        position=event.position,
    )
