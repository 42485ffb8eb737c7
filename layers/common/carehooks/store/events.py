"""Conversation events: who changed a conversation, how and when (assign, tag, priority, resolve, reopen).

An event item lives in the customer's partition (``EVT#<conversation id>#<at ISO>#<ULID>``, see
:mod:`carehooks.store.keys`) and is written in the same transaction as the change it records, so the
history never disagrees with the state: either both are written or neither is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ulid import ULID

from carehooks.clock import iso, parse_iso
from carehooks.domain.models import Conversation
from carehooks.store import keys
from carehooks.store.errors import ConflictError, ItemConditionError
from carehooks.store.items import from_dynamo, to_dynamo
from carehooks.store.table import TableStore as Store


@dataclass(frozen=True)
class ConversationEvent:
    """One change an agent made to a conversation."""

    conversation_id: str
    action: str
    at: datetime
    actor: str
    actor_email: str | None = None
    actor_name: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def save_with_event(store: Store, conv: Conversation, event: ConversationEvent) -> Conversation:
    """Write ``conv`` (read at ``conv.version``) and ``event`` atomically; returns the stored conversation.

    Raises :class:`ConflictError` when the conversation changed since it was read (a new message, another
    agent): the caller re-reads and decides again.
    """
    try:
        return store.write_conversation(
            conv,
            expected_version=conv.version,
            now=event.at,
            items=[store.new_item(_event_item(conv, event))],
        )
    except ItemConditionError as exc:
        raise ConflictError(f"conversation {conv.id} changed concurrently") from exc


def conversation_events(store: Store, conv: Conversation, limit: int = 200) -> list[ConversationEvent]:
    """A conversation's events, oldest first (the first ``limit``)."""
    out: list[ConversationEvent] = []
    kwargs: dict[str, Any] = {
        "TableName": store.table_name,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {
            ":pk": {
                "S": keys.conversation_pk(conv.channel, conv.account_id, conv.contact_id, conv.thread_id)
            },
            ":prefix": {"S": keys.event_prefix(conv.id)},
        },
        "Limit": limit,
    }
    while len(out) < limit:
        response = store.client.query(**kwargs)
        out.extend(_event_from_item(store.unmarshal(i)) for i in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            break
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return out[:limit]


def _event_item(conv: Conversation, event: ConversationEvent) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": keys.conversation_pk(conv.channel, conv.account_id, conv.contact_id, conv.thread_id),
        "sk": keys.event_sk(conv.id, event.at, str(ULID.from_timestamp(event.at.timestamp()))),
        "type": "event",
        "conversation_id": event.conversation_id,
        "action": event.action,
        "at": iso(event.at),
        "actor": event.actor,
        "details": dict(event.details),
    }
    if event.actor_email:
        item["actor_email"] = event.actor_email
    if event.actor_name:
        item["actor_name"] = event.actor_name
    marshalled: dict[str, Any] = to_dynamo(item)
    return marshalled


def _event_from_item(item: dict[str, Any]) -> ConversationEvent:
    data = from_dynamo(item)
    return ConversationEvent(
        conversation_id=str(data["conversation_id"]),
        action=str(data["action"]),
        at=parse_iso(str(data["at"])),
        actor=str(data["actor"]),
        actor_email=data.get("actor_email"),
        actor_name=data.get("actor_name"),
        details=dict(data.get("details") or {}),
    )
