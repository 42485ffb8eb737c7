"""Parsing of ``messaging[]`` / ``standby[]`` events, shared by Messenger and Instagram (pure)."""

from __future__ import annotations

from typing import Any

from carehooks.channels.timestamps import epoch_ms
from carehooks.domain.models import (
    AdapterError,
    Attachment,
    CanonicalEvent,
    Channel,
    Direction,
    IgnoredEvent,
    MessageEvent,
    QueuedEvent,
    StatusEvent,
)

_IGNORED_KINDS = (
    "reaction",
    "message_edit",
    "optin",
    "referral",
    "pass_thread_control",
    "take_thread_control",
    "request_thread_control",
    "app_roles",
    "policy_enforcement",
    "account_linking",
    "game_play",
)


def timestamp_ms(value: Any) -> int:
    """Meta timestamps are integer epoch milliseconds; anything else is a broken payload."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise AdapterError(f"timestamp is not epoch milliseconds: {value!r}")
    try:
        return int(value)
    except ValueError as exc:
        raise AdapterError(f"timestamp is not epoch milliseconds: {value!r}") from exc


def parse_messaging(event: QueuedEvent) -> list[CanonicalEvent]:
    """One Messenger or Instagram ``messaging`` element → canonical events."""
    payload = event.payload
    item: dict[str, Any] = payload["event"]
    account = event.account_id
    sender = str(item["sender"]["id"])
    standby = payload.get("kind") == "standby"
    if isinstance(item.get("message"), dict):
        return [_message(event, item, account, sender, standby)]
    if isinstance(item.get("postback"), dict):
        return [_postback(event, item, sender, standby)]
    if isinstance(item.get("delivery"), dict):
        delivery = item["delivery"]
        watermark = epoch_ms(timestamp_ms(delivery.get("watermark")), event.received_at)
        return [
            StatusEvent(
                channel=event.channel,
                account_id=account,
                contact_id=event.contact_id,
                status="delivered",
                at=watermark,
                platform_message_id=mid,
                watermark=watermark,
            )
            for mid in (delivery.get("mids") or [None])
        ]
    if isinstance(item.get("read"), dict):
        read = item["read"]
        read_at = epoch_ms(timestamp_ms(item.get("timestamp") or read.get("watermark")), event.received_at)
        read_watermark = (
            epoch_ms(timestamp_ms(read["watermark"]), event.received_at) if read.get("watermark") else None
        )
        return [
            StatusEvent(
                channel=event.channel,
                account_id=account,
                contact_id=event.contact_id,
                status="read",
                at=read_at,
                platform_message_id=read.get("mid"),
                watermark=read_watermark,
            )
        ]
    kind = next((k for k in _IGNORED_KINDS if k in item), "unknown")
    return [IgnoredEvent(channel=event.channel, kind=kind, reason=f"{kind} events are not handled")]


def _message(
    event: QueuedEvent, item: dict[str, Any], account: str, sender: str, standby: bool
) -> CanonicalEvent:
    message: dict[str, Any] = item["message"]
    mid = message.get("mid")
    if not mid:
        raise AdapterError("message without mid")
    if message.get("is_deleted"):
        return IgnoredEvent(channel=event.channel, kind="message_deleted", reason="message deleted by sender")
    if message.get("is_self"):
        return IgnoredEvent(channel=event.channel, kind="is_self", reason="test message to self")
    if message.get("is_unsupported"):
        return IgnoredEvent(channel=event.channel, kind="unsupported", reason="unsupported message type")
    is_echo = bool(message.get("is_echo")) or sender == account
    attachments = tuple(
        Attachment(
            kind=str(a.get("type", "file")),
            url=(a.get("payload") or {}).get("url") if isinstance(a.get("payload"), dict) else None,
        )
        for a in (message.get("attachments") or [])
        if isinstance(a, dict)
    )
    quick_reply = message.get("quick_reply") if isinstance(message.get("quick_reply"), dict) else None
    text = message.get("text")
    kind = "quick_reply" if quick_reply else ("text" if text else ("attachment" if attachments else "text"))
    reply_to: dict[str, Any] = message["reply_to"] if isinstance(message.get("reply_to"), dict) else {}
    return MessageEvent(
        channel=event.channel,
        account_id=account,
        contact_id=event.contact_id,
        platform_message_id=str(mid),
        sent_at=epoch_ms(timestamp_ms(item.get("timestamp")), event.received_at),
        direction=Direction.OUT if is_echo else Direction.IN,
        text=str(text or ""),
        kind=kind,
        attachments=attachments,
        reply_payload=str(quick_reply["payload"]) if quick_reply and "payload" in quick_reply else None,
        origin_tag=str(message["metadata"]) if is_echo and message.get("metadata") else None,
        reply_to=str(reply_to["mid"]) if reply_to.get("mid") else None,
        position=event.position,
        standby=standby,
    )


def _postback(event: QueuedEvent, item: dict[str, Any], sender: str, standby: bool) -> MessageEvent:
    postback: dict[str, Any] = item["postback"]
    ts = timestamp_ms(item.get("timestamp"))
    # postback.mid exists since Graph v11.0; older payloads get a stable synthetic id.
    mid = str(postback.get("mid") or f"postback:{sender}:{ts}")
    return MessageEvent(
        channel=event.channel,
        account_id=event.account_id,
        contact_id=event.contact_id,
        platform_message_id=mid,
        sent_at=epoch_ms(ts, event.received_at),
        direction=Direction.IN,
        text=str(postback.get("title") or ""),
        kind="postback",
        reply_payload=str(postback["payload"]) if postback.get("payload") is not None else None,
        position=event.position,
        standby=standby,
    )


def is_meta_channel(channel: Channel) -> bool:
    return channel in (Channel.MESSENGER, Channel.INSTAGRAM, Channel.WHATSAPP)
