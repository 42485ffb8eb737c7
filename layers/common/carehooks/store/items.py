"""Mapping between domain records and DynamoDB items (plain attribute dicts, before type marshalling)."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from carehooks.clock import iso, parse_iso
from carehooks.domain.models import Channel, Conversation, Direction, Message
from carehooks.store import keys

_CONVERSATION_TIMES = {
    "created_at",
    "last_activity_at",
    "last_inbound_at",
    "last_outbound_at",
    "first_response_at",
    "last_response_at",
    "resolved_at",
    "first_inbound_at",
}
# Typed fields stored as index sort keys (built here from the field, read back from the key).
_DUE_FIELDS = {keys.SURVEY_DUE_SK_ATTR, keys.SLA_DUE_SK_ATTR}
_CONVERSATION_FIELDS = {f.name for f in fields(Conversation)} - {"extra"} - _DUE_FIELDS
_MESSAGE_FIELDS = {f.name for f in fields(Message)} - {"extra"}
_KEY_ATTRIBUTES = {
    "pk",
    "sk",
    "type",
    "conv_id",
    "gsi1pk",
    "gsi1sk",
    "lsi1sk",
    "ttl",
    keys.SURVEY_DUE_PK_ATTR,
    keys.SLA_DUE_PK_ATTR,
    keys.DAY_PK_ATTR,
    keys.DAY_SK_ATTR,
    keys.ASSIGNEE_PK_ATTR,
}


def to_dynamo(value: Any) -> Any:
    """Floats become Decimals (DynamoDB's number type), recursively."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    """Decimals become ints or floats, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [from_dynamo(v) for v in value]
    return value


def conversation_item(conv: Conversation) -> dict[str, Any]:
    """The item of a conversation, with every index attribute built from its typed fields."""
    item: dict[str, Any] = {k: v for k, v in conv.extra.items() if k not in _KEY_ATTRIBUTES}
    for name in _CONVERSATION_FIELDS:
        value = getattr(conv, name)
        if value is None:
            continue
        item[name] = iso(value) if isinstance(value, datetime) else value
    item["channel"] = str(conv.channel)
    item.update(index_attributes(conv))
    marshalled: dict[str, Any] = to_dynamo(item)
    return marshalled


def index_attributes(conv: Conversation) -> dict[str, Any]:
    """The keys and sparse index attributes of a conversation item (see :mod:`carehooks.store.keys`)."""
    attributes: dict[str, Any] = {
        "pk": keys.conversation_pk(conv.channel, conv.account_id, conv.contact_id, conv.thread_id),
        "sk": keys.conversation_sk(conv.id),
        "type": "conversation",
        "conv_id": conv.id,
        "gsi1pk": keys.status_pk(conv.status),
        "gsi1sk": keys.status_sk(conv.last_activity_at or conv.created_at, conv.id),
        keys.DAY_PK_ATTR: keys.day_pk(conv.created_at.astimezone(UTC).date()),
        keys.DAY_SK_ATTR: keys.day_sk(conv.created_at, conv.id),
    }
    if conv.assignee:
        attributes[keys.ASSIGNEE_PK_ATTR] = keys.assignee_pk(conv.status, conv.assignee)
    if conv.survey_due_at is not None:
        attributes[keys.SURVEY_DUE_PK_ATTR] = keys.SURVEY_DUE_PARTITION
        attributes[keys.SURVEY_DUE_SK_ATTR] = keys.survey_due_sk(conv.survey_due_at, conv.id)
    if conv.sla_due_at is not None:
        attributes[keys.SLA_DUE_PK_ATTR] = keys.sla_due_pk(keys.sla_shard(conv.id))
        attributes[keys.SLA_DUE_SK_ATTR] = keys.sla_due_sk(conv.sla_due_at)
    return attributes


def conversation_from_item(item: dict[str, Any]) -> Conversation:
    data = from_dynamo(item)
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for name, value in data.items():
        if name in _KEY_ATTRIBUTES:
            continue
        if name in _DUE_FIELDS:
            known[name] = keys.due_time(str(value))
        elif name in _CONVERSATION_FIELDS:
            known[name] = parse_iso(value) if name in _CONVERSATION_TIMES else value
        else:
            extra[name] = value
    known["channel"] = Channel(known["channel"])
    return Conversation(**known, extra=extra)


def message_item(message: Message) -> dict[str, Any]:
    item: dict[str, Any] = dict(message.extra)
    for name in _MESSAGE_FIELDS:
        value = getattr(message, name)
        if value is None:
            continue
        item[name] = iso(value) if isinstance(value, datetime) else value
    item["channel"] = str(message.channel)
    item["direction"] = str(message.direction)
    item.update(
        pk=keys.conversation_pk(message.channel, message.account_id, message.contact_id, message.thread_id),
        sk=keys.message_sk(message.platform_message_id),
        type="message",
        lsi1sk=keys.message_order(message.conversation_id, message.sent_at, message.platform_message_id),
    )
    marshalled: dict[str, Any] = to_dynamo(item)
    return marshalled


def message_from_item(item: dict[str, Any]) -> Message:
    data = from_dynamo(item)
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for name, value in data.items():
        if name in _KEY_ATTRIBUTES:
            continue
        if name in _MESSAGE_FIELDS:
            known[name] = parse_iso(value) if name in {"sent_at", "stored_at"} else value
        else:
            extra[name] = value
    known["channel"] = Channel(known["channel"])
    known["direction"] = Direction(known["direction"])
    return Message(**known, extra=extra)
