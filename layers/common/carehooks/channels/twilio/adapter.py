"""Twilio adapter: one inbound message or status callback → canonical events (pure).

Twilio sends no timestamp: a message's time is when the webhook received it. Status callbacks are
never customer messages; ``undelivered`` counts as ``failed``, with Twilio's error code described in
words.
"""

from __future__ import annotations

from typing import Any

from carehooks.channels.twilio.errors import describe
from carehooks.domain.models import (
    Attachment,
    CanonicalEvent,
    Direction,
    IgnoredEvent,
    MessageEvent,
    QueuedEvent,
    StatusEvent,
)

_STATUS = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "failed": "failed",
    "undelivered": "failed",
}


def parse(event: QueuedEvent) -> list[CanonicalEvent]:
    params: dict[str, Any] = event.payload["params"]
    if event.payload.get("kind") == "status":
        return [_status(event, params)]
    if event.account_id == event.contact_id:
        # A message from one of the business's own numbers to itself: a loop, never a customer.
        return [
            IgnoredEvent(channel=event.channel, kind="own_number", reason="message from the business number")
        ]
    attachments = tuple(
        Attachment(kind="media", url=params.get(f"MediaUrl{i}"), mime_type=params.get(f"MediaContentType{i}"))
        for i in range(_count(params.get("NumMedia")))
        if params.get(f"MediaUrl{i}")
    )
    button = params.get("ButtonPayload") or None
    text = str(params.get("Body") or params.get("ButtonText") or "")
    kind = "button" if button else ("media" if attachments and not text else "text")
    if params.get("Latitude") and params.get("Longitude"):
        kind, attachments = "location", (*attachments, Attachment(kind="location"))
    sid = str(params.get("MessageSid") or params.get("SmsSid") or params.get("SmsMessageSid"))
    return [
        MessageEvent(
            channel=event.channel,
            account_id=event.account_id,
            contact_id=event.contact_id,
            platform_message_id=sid,
            sent_at=event.received_at,
            direction=Direction.IN,
            text=text,
            kind=kind,
            attachments=attachments,
            reply_payload=str(button) if button else None,
            contact_name=str(params["ProfileName"]) if params.get("ProfileName") else None,
            reply_to=str(params["OriginalRepliedMessageSid"])
            if params.get("OriginalRepliedMessageSid")
            else None,
            position=event.position,
        )
    ]


def _status(event: QueuedEvent, params: dict[str, Any]) -> CanonicalEvent:
    raw_status = str(params.get("MessageStatus", ""))
    status = _STATUS.get(raw_status)
    if status is None:
        return IgnoredEvent(
            channel=event.channel,
            kind=f"status:{raw_status}",
            reason="intermediate status, nothing to record",
        )
    code = str(params.get("ErrorCode") or "") or None
    return StatusEvent(
        channel=event.channel,
        account_id=event.account_id,
        contact_id=event.contact_id,
        status=status,
        at=event.received_at,
        platform_message_id=str(params.get("MessageSid") or params.get("SmsSid")),
        error_code=code,
        error_title=describe(code) if code else (None if raw_status == status else raw_status),
    )


def _count(value: Any) -> int:
    try:
        return max(0, min(int(value), 10))
    except (TypeError, ValueError):
        return 0
