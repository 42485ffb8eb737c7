"""WhatsApp Cloud API adapter: one message or status → canonical events (pure).

Timestamps are strings of Unix seconds. Contacts are keyed by ``wa_id``; system messages carry no
``contacts`` entry. Statuses are never customer messages.
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
    StatusEvent,
)

_MEDIA = ("image", "audio", "video", "document", "sticker")
_IGNORED = ("reaction", "system", "unsupported", "order", "request_welcome", "ephemeral")


def _seconds(value: Any) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        return int(value)
    except (TypeError, ValueError) as exc:
        raise AdapterError(f"WhatsApp timestamp is not Unix seconds: {value!r}") from exc


def parse(event: QueuedEvent) -> list[CanonicalEvent]:
    payload = event.payload
    if payload.get("kind") == "status":
        return [_status(event, payload["status"])]
    message: dict[str, Any] = payload["message"]
    kind = str(message.get("type", "unknown"))
    if kind in _IGNORED:
        return [
            IgnoredEvent(channel=event.channel, kind=kind, reason=f"WhatsApp {kind} messages are not handled")
        ]
    profile = (payload.get("contact") or {}).get("profile") or {}
    text = ""
    reply_payload: str | None = None
    attachments: tuple[Attachment, ...] = ()
    if kind == "text":
        text = str((message.get("text") or {}).get("body", ""))
    elif kind == "interactive":
        interactive = message.get("interactive") or {}
        choice = interactive.get(str(interactive.get("type"))) or {}
        text = str(choice.get("title", ""))
        reply_payload = str(choice["id"]) if "id" in choice else None
    elif kind == "button":
        button = message.get("button") or {}
        text = str(button.get("text", ""))
        reply_payload = str(button["payload"]) if "payload" in button else None
    elif kind in _MEDIA:
        media = message.get(kind) or {}
        text = str(media.get("caption", ""))
        attachments = (Attachment(kind=kind, media_id=media.get("id"), mime_type=media.get("mime_type")),)
    elif kind == "location":
        location = message.get("location") or {}
        text = str(location.get("name") or location.get("address") or "")
        attachments = (Attachment(kind="location"),)
    else:
        return [
            IgnoredEvent(channel=event.channel, kind=kind, reason=f"WhatsApp {kind} messages are not handled")
        ]
    context: dict[str, Any] = message["context"] if isinstance(message.get("context"), dict) else {}
    return [
        MessageEvent(
            channel=event.channel,
            account_id=event.account_id,
            contact_id=event.contact_id,
            platform_message_id=str(message["id"]),
            sent_at=epoch_seconds(_seconds(message.get("timestamp")), event.received_at),
            direction=Direction.IN,
            text=text,
            kind=kind,
            attachments=attachments,
            reply_payload=reply_payload,
            contact_name=profile.get("name"),
            reply_to=str(context["id"]) if context.get("id") else None,
            position=event.position,
        )
    ]


def _status(event: QueuedEvent, status: dict[str, Any]) -> StatusEvent:
    errors = status.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    return StatusEvent(
        channel=event.channel,
        account_id=event.account_id,
        contact_id=event.contact_id,
        status=str(status.get("status", "unknown")),
        at=epoch_seconds(_seconds(status.get("timestamp")), event.received_at),
        platform_message_id=str(status["id"]),
        error_code=str(first["code"]) if "code" in first else None,
        error_title=str(first.get("title") or first.get("message") or "") or None,
    )
