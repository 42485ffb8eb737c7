"""DynamoDB access of the rules feature: decision records, and the reads of ``carehooks rules replay``.

The decision of the rules is an attribute ``rules`` (a map) of the message item. It is written in one
transaction with the conversation's new tags, priority, assignee and team, so a message never shows a
decision its conversation does not reflect (and the other way round). The conversation write is
optimistic (its ``version``), like :meth:`Store.save_conversation`; a concurrent change is re-read and
the changes re-applied.

Replay reads, without scanning: the ``ByStatus`` index (keys only) gives, per status, the conversations
whose last activity is at or after ``since`` (one Query per status, paginated); then per customer one
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
from carehooks.store.items import conversation_from_item, message_from_item, to_dynamo
from carehooks.store.table import MAX_ATTEMPTS
from carehooks.store.table import TableStore as Store

DECISION_ATTRIBUTE = "rules"
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
    update_message = {
        "TableName": store.table_name,
        "Key": _message_key(store, message),
        "UpdateExpression": "SET #d = :d",
        "ConditionExpression": "attribute_exists(pk)",
        "ExpressionAttributeNames": {"#d": DECISION_ATTRIBUTE},
        "ExpressionAttributeValues": {":d": store.marshal({"d": to_dynamo(decision)})["d"]},
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
            UpdateExpression="SET #d.#a = :a",
            ConditionExpression="attribute_exists(#d)",
            ExpressionAttributeNames={"#d": DECISION_ATTRIBUTE, "#a": part},
            ExpressionAttributeValues={":a": store.marshal({"a": to_dynamo(outcome)})["a"]},
        )
    except store.client.exceptions.ConditionalCheckFailedException as exc:
        raise ItemConditionError(0) from exc


# -- replay reads ---------------------------------------------------------------------------------------
def active_conversation_keys(store: Store, since: datetime) -> Iterator[tuple[str, str]]:
    """(partition key, conversation id) of every conversation active at or after ``since`` (ByStatus)."""
    for status in STATUSES:
        kwargs: dict[str, Any] = {
            "TableName": store.table_name,
            "IndexName": keys.BY_STATUS_INDEX,
            "KeyConditionExpression": "gsi1pk = :s AND gsi1sk >= :since",
            "ExpressionAttributeValues": {":s": {"S": keys.status_pk(status)}, ":since": {"S": iso(since)}},
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
