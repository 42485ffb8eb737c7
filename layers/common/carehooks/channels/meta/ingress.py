"""Split a verified Meta webhook body into one queued event per customer event (pure).

Walks every batching level: ``entry[].messaging[]`` and ``entry[].standby[]`` for Pages and Instagram,
``entry[].changes[].value.messages[]`` / ``statuses[]`` for WhatsApp, and ``entry[].changes[]`` for
feed and comment changes (kept whole: their adapters decide; a comment's is grouped by its thread).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from carehooks.channels.meta.comments import thread_key
from carehooks.domain.models import Channel, QueuedEvent
from carehooks.web.errors import MalformedBodyError
from carehooks.web.jsonbody import load_object


class _Party(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str | int


class _Messaging(BaseModel):
    model_config = ConfigDict(extra="allow")
    sender: _Party
    recipient: _Party


class _Change(BaseModel):
    model_config = ConfigDict(extra="allow")
    field: str
    value: dict[str, Any] = Field(default_factory=dict)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str | int
    time: int | None = None
    messaging: list[_Messaging] = Field(default_factory=list)
    standby: list[_Messaging] = Field(default_factory=list)
    changes: list[_Change] = Field(default_factory=list)


class MetaEnvelope(BaseModel):
    """The outer shape every Meta webhook body has."""

    model_config = ConfigDict(extra="allow")
    object: Literal["page", "instagram", "whatsapp_business_account"]
    entry: list[_Entry]


_OBJECT_CHANNEL = {
    "page": Channel.MESSENGER,
    "instagram": Channel.INSTAGRAM,
    "whatsapp_business_account": Channel.WHATSAPP,
}


def parse_envelope(raw: bytes) -> tuple[MetaEnvelope, dict[str, Any]]:
    """Validate the envelope; returns the model and the plain JSON (slices are queued raw)."""
    body = load_object(raw)
    try:
        return MetaEnvelope.model_validate(body), body
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise MalformedBodyError(f"not a Meta webhook envelope: {where}: {first['msg']}") from exc


def split(raw: bytes, received_at: datetime) -> list[QueuedEvent]:
    """One :class:`QueuedEvent` per messaging event, WhatsApp message/status, or change."""
    envelope, body = parse_envelope(raw)
    channel = _OBJECT_CHANNEL[envelope.object]
    events: list[QueuedEvent] = []
    for entry_index, entry in enumerate(envelope.entry):
        raw_entry = body["entry"][entry_index]
        account = str(entry.id)
        for key in ("messaging", "standby"):
            for item in raw_entry.get(key) or []:
                events.append(_messaging_event(channel, account, item, key, received_at, len(events)))
        for change in raw_entry.get("changes") or []:
            if channel is Channel.WHATSAPP:
                events.extend(_whatsapp_events(change, received_at, len(events)))
            else:
                events.append(
                    _change_event(channel, account, change, raw_entry.get("time"), received_at, len(events))
                )
    return events


def _messaging_event(
    channel: Channel, account: str, item: dict[str, Any], key: str, received_at: datetime, position: int
) -> QueuedEvent:
    sender = str(item["sender"]["id"])
    recipient = str(item["recipient"]["id"])
    message = item["message"] if isinstance(item.get("message"), dict) else {}
    from_business = bool(message.get("is_echo")) or sender == account
    contact = recipient if from_business else sender
    return QueuedEvent(
        source="meta",
        channel=channel,
        account_id=account,
        contact_id=contact,
        event_id=_messaging_event_id(item, sender),
        received_at=received_at,
        position=position,
        payload={"kind": key, "entry_id": account, "event": item},
    )


def _messaging_event_id(item: dict[str, Any], sender: str) -> str:
    for key in ("message", "postback", "reaction", "message_edit"):
        part = item.get(key)
        if isinstance(part, dict) and part.get("mid"):
            suffix = "" if key in ("message", "postback") else f":{key}:{part.get('num_edit', '')}"
            return f"{part['mid']}{suffix}"
    if isinstance(item.get("delivery"), dict):
        return f"delivery:{sender}:{item['delivery'].get('watermark')}"
    if isinstance(item.get("read"), dict):
        read = item["read"]
        return f"read:{sender}:{read.get('watermark') or read.get('mid')}"
    return "sha256:" + _digest(item)


def _whatsapp_events(change: dict[str, Any], received_at: datetime, start: int) -> list[QueuedEvent]:
    value = change.get("value") or {}
    metadata = value.get("metadata") or {}
    if change.get("field") != "messages" or not isinstance(metadata, dict):
        return []
    account = str(metadata.get("phone_number_id", ""))
    if not account:
        raise MalformedBodyError("WhatsApp change without metadata.phone_number_id")
    contacts = value.get("contacts") or []
    out: list[QueuedEvent] = []
    for message in value.get("messages") or []:
        if not isinstance(message, dict) or "from" not in message or "id" not in message:
            raise MalformedBodyError("WhatsApp message without from/id")
        wa_id = str(message["from"])
        profile = next((c for c in contacts if isinstance(c, dict) and str(c.get("wa_id")) == wa_id), None)
        out.append(
            QueuedEvent(
                source="meta",
                channel=Channel.WHATSAPP,
                account_id=account,
                contact_id=wa_id,
                event_id=str(message["id"]),
                received_at=received_at,
                position=start + len(out),
                payload={"kind": "message", "metadata": metadata, "contact": profile, "message": message},
            )
        )
    for status in value.get("statuses") or []:
        if not isinstance(status, dict) or "id" not in status or "recipient_id" not in status:
            raise MalformedBodyError("WhatsApp status without id/recipient_id")
        out.append(
            QueuedEvent(
                source="meta",
                channel=Channel.WHATSAPP,
                account_id=account,
                contact_id=str(status["recipient_id"]),
                event_id=f"{status['id']}:{status.get('status')}",
                received_at=received_at,
                position=start + len(out),
                payload={"kind": "status", "metadata": metadata, "status": status},
            )
        )
    return out


def _change_event(
    channel: Channel,
    account: str,
    change: dict[str, Any],
    entry_time: Any,
    received_at: datetime,
    position: int,
) -> QueuedEvent:
    value = change.get("value") or {}
    author: dict[str, Any] = value["from"] if isinstance(value.get("from"), dict) else {}
    contact = str(author.get("id") or value.get("sender_id") or "unknown")
    event_id = str(value.get("comment_id") or value.get("id") or "")
    verb = value.get("verb") or value.get("item") or ""
    payload: dict[str, Any] = {"kind": "change", "entry_id": account, "change": change}
    if entry_time is not None:
        # Instagram comment changes carry no time of their own: the entry's stands in.
        payload["entry_time"] = entry_time
    return QueuedEvent(
        source="meta",
        channel=channel,
        account_id=account,
        contact_id=contact,
        event_id=f"change:{change.get('field')}:{event_id}:{verb}:{_digest(value)[:16]}",
        received_at=received_at,
        position=position,
        payload=payload,
        # A comment thread's changes are processed in order, whoever wrote them (see QueuedEvent.group_id).
        thread_id=thread_key(str(change.get("field") or ""), value) if isinstance(value, dict) else None,
    )


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
