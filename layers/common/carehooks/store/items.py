"""Mapping between domain records and DynamoDB items (plain attribute dicts, before type marshalling).

Data model v2 (``store/keys.py``): a conversation item carries no ``id`` or ``type`` (its sort key says
both), its list order (``turn_at``) lives only in the ``ByStatus`` sort key, and a message's rules decision
is one compressed binary attribute (``rules``) with each side effect's outcome beside it
(``rules_ack``, ``rules_hide``, ``rules_private_reply``), so an acknowledged message stays under 1 KB. The
readers here also read data model v1 items (``carehooks migrate`` rewrites them).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from carehooks.clock import iso, parse_iso
from carehooks.config.settings import settings
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
_KEYED_FIELDS = _DUE_FIELDS | {"turn_at", "id"}
_CONVERSATION_FIELDS = {f.name for f in fields(Conversation)} - {"extra"} - _KEYED_FIELDS
_MESSAGE_FIELDS = {f.name for f in fields(Message)} - {"extra"}
_OMITTED_WHEN_EMPTY = {"seq", "seq_msg"}  # read back as the field's default (data model v1 items)
_KEY_ATTRIBUTES = {
    "pk",
    "sk",
    "type",
    "id",
    "conv_id",
    "gsi1pk",
    "gsi1sk",
    "lsi1sk",
    "ttl",
    keys.SURVEY_DUE_PK_ATTR,
    keys.SLA_DUE_PK_ATTR,
    keys.DAY_PK_ATTR,
    keys.DAY_SK_ATTR,
    keys.CREATED_PK_ATTR,
    keys.ASSIGNEE_PK_ATTR,
}
# The rules decision of a message: compressed, with each side effect's outcome in its own attribute.
DECISION_ATTRIBUTE = "rules"
DECISION_PARTS = ("ack", "hide", "private_reply")


def decision_part_attribute(part: str) -> str:
    """The attribute holding the outcome of one side effect of a message's decision (``rules_ack``)."""
    return f"{DECISION_ATTRIBUTE}_{part}"


# A preset dictionary of what every decision record says: small records compress to a third. Its format
# byte comes first; a record is always read with the dictionary it was written with, so this one never
# changes (a new one takes the next format byte).
_DECISION_FORMAT = b"\x01"
_DECISION_DICTIONARY = (
    b'{"ack_plan":{"rule":"","template":"default"},"actions":[{"action":"add_tags","detail":"added ",'
    b'"rule":"","status":"ran"},{"action":"set_priority","detail":"normal \xe2\x86\x92 high",'
    b'"rule":"","status":"skipped"},{"action":"assign","detail":"no active agent served this customer in '
    b'the last 30 days; team ","rule":"","status":"ran"},{"action":"acknowledge","detail":"template ",'
    b'"rule":"","status":"skipped"},{"action":"hide","detail":"rule  already chose an acknowledgement",'
    b'"rule":"","status":"ran"}],"assignment":{"agent":null,"reason":"","rule":"","team":""},'
    b'"config_digest":"","config_version":"default-1","evaluated_at":"2026-01-01T00:00:00.000Z",'
    b'"language":"en","matched":[],"priority":"high","tags_added":[],"tags_removed":[]}'
)


def pack_decision(record: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """A decision record as stored: the compressed record without its parts, and the parts' attributes."""
    body = {k: v for k, v in record.items() if k not in DECISION_PARTS}
    parts = {decision_part_attribute(k): record[k] for k in DECISION_PARTS if k in record}
    encoded = json.dumps(from_dynamo(body), separators=(",", ":"), sort_keys=True, default=str)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _DECISION_DICTIONARY)
    return _DECISION_FORMAT + packer.compress(encoded.encode()) + packer.flush(), parts


def unpack_decision(value: Any, item: dict[str, Any]) -> dict[str, Any]:
    """The decision record of a message item (data model v2: binary; v1: a map with its parts inside)."""
    if isinstance(value, dict):
        record = dict(value)
    else:
        raw = bytes(value.value if hasattr(value, "value") else value)
        if raw[:1] != _DECISION_FORMAT:
            raise ValueError(f"unknown decision record format {raw[:1]!r}")
        unpacker = zlib.decompressobj(-15, _DECISION_DICTIONARY)
        record = json.loads(unpacker.decompress(raw[1:]) + unpacker.flush())
    for part in DECISION_PARTS:
        stored = item.get(decision_part_attribute(part))
        if stored is not None:
            record[part] = from_dynamo(stored)
    return record


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


def retention_ttl(last: datetime) -> int | None:
    """The ``ttl`` (epoch seconds) of a conversation or message last active at ``last``, when a retention
    is set (``DATA_RETENTION_DAYS``, docs/privacy.md); ``None`` keeps it. Every write moves it forward."""
    days = settings().data_retention_days
    return int((last + timedelta(days=days)).timestamp()) if days else None


def conversation_item(conv: Conversation) -> dict[str, Any]:
    """The item of a conversation, with every index attribute built from its typed fields."""
    item: dict[str, Any] = {k: v for k, v in conv.extra.items() if k not in _KEY_ATTRIBUTES}
    for name in _CONVERSATION_FIELDS:
        value = getattr(conv, name)
        if value is None or (name in _OMITTED_WHEN_EMPTY and not value):
            continue
        item[name] = iso(value) if isinstance(value, datetime) else value
    item["channel"] = str(conv.channel)
    item.update(index_attributes(conv))
    expires = retention_ttl(conv.last_activity_at or conv.created_at)
    if expires is not None:
        item["ttl"] = expires
    marshalled: dict[str, Any] = to_dynamo(item)
    return marshalled


def index_attributes(conv: Conversation) -> dict[str, Any]:
    """The keys and sparse index attributes of a conversation item (see :mod:`carehooks.store.keys`)."""
    attributes: dict[str, Any] = {
        "pk": keys.conversation_pk(conv.channel, conv.account_id, conv.contact_id, conv.thread_id),
        "sk": keys.conversation_sk(conv.id),
        "conv_id": conv.id,
        "gsi1pk": keys.status_pk(conv.status, conv.id),
        "gsi1sk": keys.status_sk(list_time(conv), conv.id),
        keys.CREATED_PK_ATTR: keys.created_pk(conv.created_at, conv.id),
    }
    if conv.assignee:
        attributes[keys.ASSIGNEE_PK_ATTR] = keys.assignee_pk(conv.status, conv.assignee)
    if conv.survey_due_at is not None:
        attributes[keys.SURVEY_DUE_PK_ATTR] = keys.survey_due_pk(conv.id)
        attributes[keys.SURVEY_DUE_SK_ATTR] = keys.survey_due_sk(conv.survey_due_at, conv.id)
    if conv.sla_due_at is not None:
        attributes[keys.SLA_DUE_PK_ATTR] = keys.sla_due_pk(keys.sla_shard(conv.id))
        attributes[keys.SLA_DUE_SK_ATTR] = keys.sla_due_sk(conv.sla_due_at)
    return attributes


def list_time(conv: Conversation) -> datetime:
    """What lists sort a conversation by: when it last changed hands (v1 items: the last activity)."""
    return conv.turn_at or conv.last_activity_at or conv.created_at


def conversation_from_item(item: dict[str, Any]) -> Conversation:
    data = from_dynamo(item)
    known: dict[str, Any] = {"id": str(data["sk"]).removeprefix(keys.CONVERSATION_PREFIX)}
    extra: dict[str, Any] = {}
    if "gsi1sk" in data:
        known["turn_at"] = keys.due_time(str(data["gsi1sk"]))
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
    decision = item.pop(DECISION_ATTRIBUTE, None)
    for part in DECISION_PARTS:
        item.pop(decision_part_attribute(part), None)
    if decision is not None:
        packed, parts = pack_decision(decision)
        item[DECISION_ATTRIBUTE] = packed
        item.update(parts)
    for name in _MESSAGE_FIELDS:
        value = getattr(message, name)
        if value is None or (name in _OMITTED_WHEN_EMPTY and not value):
            continue
        item[name] = iso(value) if isinstance(value, datetime) else value
    item["channel"] = str(message.channel)
    item["direction"] = str(message.direction)
    item.update(
        pk=keys.conversation_pk(message.channel, message.account_id, message.contact_id, message.thread_id),
        sk=keys.message_sk(message.platform_message_id),
        lsi1sk=keys.message_order(message.conversation_id, message.sent_at, message.platform_message_id),
    )
    expires = retention_ttl(message.sent_at)
    if expires is not None:
        item["ttl"] = expires
    marshalled: dict[str, Any] = to_dynamo(item)
    return marshalled


def message_from_item(item: dict[str, Any]) -> Message:
    data = from_dynamo(item)
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    part_attributes = {decision_part_attribute(part) for part in DECISION_PARTS}
    for name, value in data.items():
        if name in _KEY_ATTRIBUTES or name in part_attributes:
            continue
        if name == DECISION_ATTRIBUTE:
            extra[name] = unpack_decision(value, data)
        elif name in _MESSAGE_FIELDS:
            known[name] = parse_iso(value) if name in {"sent_at", "stored_at"} else value
        else:
            extra[name] = value
    known["channel"] = Channel(known["channel"])
    known["direction"] = Direction(known["direction"])
    return Message(**known, extra=extra)
