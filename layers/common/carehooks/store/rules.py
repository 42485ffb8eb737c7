"""DynamoDB access of the rules feature: decision records, and the reads of ``carehooks rules replay``.

The decision of the rules is the attribute ``rules`` of the message item (compressed; the outcome of each
side effect beside it, see :mod:`carehooks.store.items`). The inbound processor takes the decision before
the message is stored and writes it with the message (:func:`carehooks.store.table.record_message`).
:func:`record_decision` records one later (a message stored without one), in one transaction with the
conversation's new tags, priority, assignee and team; the conversation write is optimistic (its
``version``), like :meth:`Store.save_conversation`.

Replay reads, without scanning: the ``ByStatus`` index gives, per status shard, the conversations whose
turn (see :mod:`carehooks.store.queries`) is at or after ``since`` (one Query per shard, paginated); then per customer one
Query for their conversations (current state and history), and per conversation one Query of the
``ByConversation`` index for its messages since ``since``. Cost grows with the conversations active in
the period, not with the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from carehooks.clock import iso, to_epoch_ms
from carehooks.domain.models import Conversation, Message
from carehooks.store import keys
from carehooks.store.errors import ConflictError, ItemConditionError, NotFoundError
from carehooks.store.items import (
    DECISION_ATTRIBUTE,
    conversation_from_item,
    decision_part_attribute,
    message_from_item,
    pack_decision,
    to_dynamo,
)
from carehooks.store.table import MAX_ATTEMPTS
from carehooks.store.table import TableStore as Store

__all__ = ["DECISION_ATTRIBUTE"]
STATUSES = ("open", "pending", "resolved")


def _message_key(store: Store, message: Message) -> dict[str, Any]:
    return store.key(
        keys.conversation_pk(message.channel, message.account_id, message.contact_id, message.thread_id),
        keys.message_sk(message.platform_message_id),
    )


def read_conversation(store: Store, message: Message) -> Conversation:
    """The message's conversation, read consistently by its key (the message knows the partition)."""
    got = store.client.get_item(
        TableName=store.table_name,
        Key=store.key(
            keys.conversation_pk(message.channel, message.account_id, message.contact_id, message.thread_id),
            keys.conversation_sk(message.conversation_id),
        ),
        ConsistentRead=True,
    )
    item = got.get("Item")
    if item is None:
        raise NotFoundError(f"conversation {message.conversation_id} not found")
    return conversation_from_item(store.unmarshal(item))


def record_decision(
    store: Store,
    message: Message,
    apply: Callable[[Conversation], Conversation | None],
    decision: dict[str, Any],
    now: datetime,
) -> Conversation:
    """Store ``decision`` on the message and ``apply``'s changes on its conversation, atomically.

    ``apply`` gets the current conversation and returns the changed one, or None when nothing changes
    (then only the message is updated). Returns the conversation as stored.
    """
    packed, parts = pack_decision(decision)
    attributes = {DECISION_ATTRIBUTE: packed, **parts}
    update_message = {
        "TableName": store.table_name,
        "Key": _message_key(store, message),
        "UpdateExpression": "SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(attributes))),
        "ConditionExpression": "attribute_exists(pk)",
        "ExpressionAttributeNames": {f"#a{i}": name for i, name in enumerate(attributes)},
        "ExpressionAttributeValues": store.marshal(
            {f":a{i}": to_dynamo(value) for i, value in enumerate(attributes.values())}
        ),
    }
    for _ in range(MAX_ATTEMPTS):
        current = read_conversation(store, message)
        changed = apply(replace(current, tags=list(current.tags), extra=dict(current.extra)))
        if changed is None:
            try:
                store.client.update_item(**update_message)  # type: ignore[arg-type]
            except store.client.exceptions.ConditionalCheckFailedException as exc:
                raise ItemConditionError(0) from exc
            return current
        try:
            return store.write_conversation(
                changed,
                expected_version=current.version,
                now=now,
                items=[{"Update": update_message}],  # type: ignore[typeddict-item]
            )
        except ConflictError:
            continue
    raise ConflictError(f"conversation {message.conversation_id} kept changing while rules were recorded")


def set_decision_part(store: Store, message: Message, part: str, outcome: dict[str, Any]) -> None:
    """Record what happened to one side effect of the decision (``rules.<part>``: ack, hide, private_reply).

    Raises :class:`ItemConditionError` when the message has no decision (or is not there).
    """
    try:
        store.client.update_item(
            TableName=store.table_name,
            Key=_message_key(store, message),
            UpdateExpression="SET #a = :a",
            ConditionExpression="attribute_exists(#d)",
            ExpressionAttributeNames={"#d": DECISION_ATTRIBUTE, "#a": decision_part_attribute(part)},
            ExpressionAttributeValues={":a": store.marshal({"a": to_dynamo(outcome)})["a"]},
        )
    except store.client.exceptions.ConditionalCheckFailedException as exc:
        raise ItemConditionError(0) from exc


# -- replay reads ---------------------------------------------------------------------------------------
def active_conversation_keys(store: Store, since: datetime) -> Iterator[tuple[str, str]]:
    """(partition key, conversation id) of every conversation active at or after ``since`` (ByStatus)."""
    for partition in (pk for status in STATUSES for pk in keys.status_partitions(status)):
        kwargs: dict[str, Any] = {
            "TableName": store.table_name,
            "IndexName": keys.BY_STATUS_INDEX,
            "KeyConditionExpression": "gsi1pk = :s AND gsi1sk >= :since",
            "ExpressionAttributeValues": {":s": {"S": partition}, ":since": {"S": iso(since)}},
        }
        while True:
            response = store.client.query(**kwargs)
            for item in response.get("Items", []):
                yield item["pk"]["S"], item["sk"]["S"].removeprefix(keys.CONVERSATION_PREFIX)
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def partition_conversations(store: Store, pk: str) -> list[Conversation]:
    """Every conversation of one customer partition, newest first."""
    out: list[Conversation] = []
    kwargs: dict[str, Any] = {
        "TableName": store.table_name,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": keys.CONVERSATION_PREFIX}},
        "ScanIndexForward": False,
    }
    while True:
        response = store.client.query(**kwargs)
        out.extend(conversation_from_item(store.unmarshal(i)) for i in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return out
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def messages_since(store: Store, pk: str, conversation_id: str, since: datetime) -> list[Message]:
    """A conversation's messages sent at or after ``since``, in platform-time order (ByConversation)."""
    out: list[Message] = []
    kwargs: dict[str, Any] = {
        "TableName": store.table_name,
        "IndexName": keys.BY_CONVERSATION_INDEX,
        "KeyConditionExpression": "pk = :pk AND lsi1sk BETWEEN :low AND :high",
        "ExpressionAttributeValues": {
            ":pk": {"S": pk},
            ":low": {"S": f"{conversation_id}#{to_epoch_ms(since):013d}"},
            ":high": {"S": f"{conversation_id}#~"},
        },
    }
    while True:
        response = store.client.query(**kwargs)
        out.extend(message_from_item(store.unmarshal(i)) for i in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return out
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def claim_exists(store: Store, kind: str, scope: str) -> bool:
    """Whether a side-effect claim is held (read-only; for dry runs)."""
    got = store.client.get_item(
        TableName=store.table_name,
        Key=store.key(keys.claim_pk(kind, scope), keys.CLAIM_SK),
        ConsistentRead=True,
    )
    return "Item" in got


# -- the sent acknowledgement's outcome, kept on its claim (issue 17: paying for the volume counters) ------
# A sent acknowledgement's outcome is recorded once, on its claim ``CLAIM#ack#<conversation id>`` (owner:
# the message's platform id; ``outcome``, ``platform_message_id``, ``at``, ``rule``, ``template``,
# ``language``, ``in_hours``), and not again on the message, whose ``rules_ack`` stays ``pending``: the
# message item is written once less (2 write units: the table and its ByConversation index). A reader
# of a message whose acknowledgement is pending settles it from the claim (one GetItem, only then).
ACK_CLAIM_KIND = "ack"
ACK_PART = "ack"
_ACK_FIELDS = ("rule", "template", "language")


def ack_pending(message: Message) -> bool:
    """Whether the message's decision shows its acknowledgement pending (sent ones are settled on read)."""
    decision = message.extra.get(DECISION_ATTRIBUTE)
    return isinstance(decision, dict) and (decision.get(ACK_PART) or {}).get("status") == "pending"


def settle_ack(message: Message, claim: dict[str, Any] | None) -> Message:
    """The message with its pending acknowledgement settled from the conversation's ack claim. Pure.

    Only a claim this message owns and that records ``sent`` settles it; any other claim (another
    message's, one still being sent) leaves the message as it is.
    """
    if (
        not ack_pending(message)
        or claim is None
        or claim.get("owner") != message.platform_message_id
        or claim.get("outcome") != "sent"
    ):
        return message
    outcome: dict[str, Any] = {"status": "sent"}
    outcome.update({name: str(claim[name]) for name in _ACK_FIELDS if claim.get(name)})
    if claim.get("in_hours") in ("true", "false"):
        outcome["in_hours"] = claim["in_hours"] == "true"
    if claim.get("platform_message_id"):
        outcome["platform_message_id"] = str(claim["platform_message_id"])
    decision = {**message.extra[DECISION_ATTRIBUTE], ACK_PART: outcome}
    return replace(message, extra={**message.extra, DECISION_ATTRIBUTE: decision})


def settle_acks(messages: list[Message], read_claim: Callable[[str], dict[str, Any] | None]) -> list[Message]:
    """``messages`` with every pending acknowledgement settled: one claim read per conversation, only
    for conversations with a pending one (at most one message per conversation is ever acknowledged)."""
    claims: dict[str, dict[str, Any] | None] = {}
    out: list[Message] = []
    for message in messages:
        if not ack_pending(message):
            out.append(message)
            continue
        if message.conversation_id not in claims:
            claims[message.conversation_id] = read_claim(message.conversation_id)
        out.append(settle_ack(message, claims[message.conversation_id]))
    return out
