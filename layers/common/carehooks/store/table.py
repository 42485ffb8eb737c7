"""The conversation store: idempotent message storage, versioned conversation writes, statuses, claims.

The store decides nothing about conversations: which conversation a message joins and how it changes
it are pure functions (:mod:`carehooks.domain.conversations`) whose result the store writes. Every
conversation write goes through :meth:`Store.write_conversation`: the derived attributes (due times, SLA
state) are computed by the ``derive`` function the store is given, the index attributes are built from
typed fields (:mod:`carehooks.store.items`), and the write is conditional on the version read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache, partial
from typing import TYPE_CHECKING, Any, Protocol, cast

from carehooks import clock
from carehooks.clock import iso
from carehooks.domain.conversations import (
    Deriver,
    Placement,
    RecordOutcome,
    apply_message,
    message_digest,
    thread_of,
)
from carehooks.domain.models import Conversation, Message, MessageEvent, StatusEvent
from carehooks.observability import logger
from carehooks.store import keys
from carehooks.store.capacity import CapacityRecorder
from carehooks.store.errors import ConflictError, ItemConditionError
from carehooks.store.items import (
    conversation_from_item,
    conversation_item,
    message_from_item,
    message_item,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import PutTypeDef, TransactWriteItemTypeDef

MAX_ATTEMPTS = 5
RUN_WRITERS = 10  # message puts of one run at once
COLLISION_WINDOW = 50  # messages read after a retried older one, to find another holding its seq
STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "played": 3, "failed": 4}


def _unchanged(conv: Conversation, now: datetime) -> Conversation:
    return conv


class TableStore:
    """The single table: conversations, messages, statuses and claims. Every DynamoDB call goes through
    the store package; :class:`carehooks.store.dynamo.DynamoStore` adds the other features' access."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        capacity_log: list[dict[str, Any]] | None = None,
        derive: Deriver | None = None,
    ) -> None:
        """``derive`` computes a conversation's derived attributes before every write of it (the
        composition point gives it; see :mod:`carehooks.wiring`). ``capacity_log`` (benchmarks, tests):
        record the consumed capacity of every call into it."""
        self.table_name = table_name
        self.derive: Deriver = derive or _unchanged
        self.capacity_log = capacity_log
        self._client = self._measured(client) if client is not None else None
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self._ser = TypeSerializer()
        self._de = TypeDeserializer()

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = self._measured(dynamodb_client())
        return self._client

    def _measured(self, client: DynamoDBClient) -> DynamoDBClient:
        if self.capacity_log is None:
            return client

        return cast("DynamoDBClient", CapacityRecorder(client, self.capacity_log))

    # -- marshalling -------------------------------------------------------------------------
    def marshal(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: self._ser.serialize(v) for k, v in item.items()}

    def unmarshal(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: self._de.deserialize(v) for k, v in item.items()}

    def key(self, pk: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    # -- conversations ----------------------------------------------------------------------
    def latest_conversation(
        self, channel: str, account_id: str, contact_id: str, thread_id: str | None = None
    ) -> Conversation | None:
        """The customer's (or, with ``thread_id``, the public thread's) most recent conversation (one Query)."""
        response = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={
                ":pk": {"S": keys.conversation_pk(channel, account_id, contact_id, thread_id)},
                ":prefix": {"S": keys.CONVERSATION_PREFIX},
            },
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        return conversation_from_item(self.unmarshal(items[0])) if items else None

    def contact_conversations(
        self, channel: str, account_id: str, contact_id: str, limit: int = 50
    ) -> list[Conversation]:
        """A customer's conversations on one account, newest first."""
        response = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={
                ":pk": {"S": keys.contact_pk(channel, account_id, contact_id)},
                ":prefix": {"S": keys.CONVERSATION_PREFIX},
            },
            ScanIndexForward=False,
            Limit=limit,
        )
        return [conversation_from_item(self.unmarshal(i)) for i in response.get("Items", [])]

    def get_conversation(self, conversation_id: str) -> Conversation | None:
        """A conversation by id: the keys-only ById index gives its key, then one consistent read."""
        response = self.client.query(
            TableName=self.table_name,
            IndexName=keys.BY_ID_INDEX,
            KeyConditionExpression="conv_id = :id",
            ExpressionAttributeValues={":id": {"S": conversation_id}},
            Limit=1,
        )
        items = response.get("Items", [])
        if not items:
            return None
        got = self.client.get_item(
            TableName=self.table_name,
            Key={"pk": items[0]["pk"], "sk": items[0]["sk"]},
            ConsistentRead=True,
        )
        item = got.get("Item")
        return conversation_from_item(self.unmarshal(item)) if item else None

    def conversation_at(self, pk: str, sk: str) -> Conversation | None:
        """A conversation by its table key (consistent read: the index may lag the table)."""
        got = self.client.get_item(TableName=self.table_name, Key=self.key(pk, sk), ConsistentRead=True)
        item = got.get("Item")
        return conversation_from_item(self.unmarshal(item)) if item else None

    def save_conversation(self, conv: Conversation) -> Conversation:
        """Write a changed conversation if nobody else changed it since it was read.

        Raises :class:`ConflictError` when the stored version moved on.
        """
        return self.write_conversation(conv, expected_version=conv.version, now=clock.now())

    def write_conversation(
        self,
        conv: Conversation,
        *,
        expected_version: int | None,
        now: datetime,
        items: Sequence[TransactWriteItemTypeDef] = (),
    ) -> Conversation:
        """The one versioned conversation write; returns the conversation as stored.

        ``expected_version`` is the version read (None: a new conversation, which must not exist). The
        conversation is derived (``derive``) at ``now`` and written with version + 1. ``items`` are
        written in the same transaction, before it. Raises :class:`ConflictError` when the conversation
        changed (or another transaction wrote it at the same moment), :class:`ItemConditionError` when
        the condition of one of ``items`` failed (its index in ``items``).
        """
        stored = self.derive(replace(conv, version=(expected_version or 0) + 1), now)
        put: PutTypeDef = {"TableName": self.table_name, "Item": self.marshal(conversation_item(stored))}
        if expected_version is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(expected_version)}}
        if not items:
            try:
                self.client.put_item(**put)
            except self.client.exceptions.ConditionalCheckFailedException as exc:
                raise ConflictError(f"conversation {conv.id} changed concurrently") from exc
            return stored
        try:
            self.client.transact_write_items(TransactItems=[*items, {"Put": put}])
        except self.client.exceptions.TransactionCanceledException as exc:
            codes = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            for index, code in enumerate(codes[: len(items)]):
                if code == "ConditionalCheckFailed":
                    raise ItemConditionError(index) from exc
            if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                raise ConflictError(f"conversation {conv.id} changed concurrently") from exc
            raise
        return stored

    def new_item(self, item: dict[str, Any]) -> TransactWriteItemTypeDef:
        """A transaction put of an item that must not exist yet (a message: its own dedupe marker)."""
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": self.marshal(item),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def messages(self, conv: Conversation) -> list[Message]:
        """A conversation's messages in platform-time order."""
        out: list[Message] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": keys.BY_CONVERSATION_INDEX,
            "KeyConditionExpression": "pk = :pk AND begins_with(lsi1sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {
                    "S": keys.conversation_pk(conv.channel, conv.account_id, conv.contact_id, conv.thread_id)
                },
                ":prefix": {"S": f"{conv.id}#"},
            },
        }
        while True:
            response = self.client.query(**kwargs)
            out.extend(message_from_item(self.unmarshal(i)) for i in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return out
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def get_message(
        self,
        channel: str,
        account_id: str,
        contact_id: str,
        platform_message_id: str,
        thread_id: str | None = None,
    ) -> Message | None:
        """A stored message by its platform id, in the customer's (or the public thread's) partition."""
        got = self.client.get_item(
            TableName=self.table_name,
            Key=self.key(
                keys.conversation_pk(channel, account_id, contact_id, thread_id),
                keys.message_sk(platform_message_id),
            ),
            ConsistentRead=True,
        )
        item = got.get("Item")
        return message_from_item(self.unmarshal(item)) if item else None

    # -- inbound ------------------------------------------------------------------------------
    def record_message(
        self,
        event: MessageEvent,
        place: Callable[[Conversation | None], Placement],
        now: datetime,
        decide: Decide | None = None,
    ) -> RecordOutcome:
        """Store one message and account for it on its conversation, idempotently (:func:`record_message`)."""
        return record_message(self, event, place, now, decide)

    def record_run(
        self,
        events: Sequence[MessageEvent],
        place: Callable[[MessageEvent, Conversation | None], Placement],
        now: datetime,
        decide: Decide | None = None,
    ) -> list[RecordOutcome] | None:
        """Store consecutive messages of one conversation with one conversation write (:func:`record_run`)."""
        return record_run(self, events, place, now, decide)

    def messages_with_seq_after(self, message: Message, window: int) -> list[Message]:
        """Other messages of ``message``'s conversation holding its ``seq``, among the ``window`` messages
        that follow it in platform-time order (one bounded Query of ``ByConversation``)."""
        response = self.client.query(
            TableName=self.table_name,
            IndexName=keys.BY_CONVERSATION_INDEX,
            KeyConditionExpression="pk = :pk AND lsi1sk BETWEEN :after AND :end",
            FilterExpression="#seq = :seq AND sk <> :self",
            ExpressionAttributeNames={"#seq": "seq"},
            ExpressionAttributeValues={
                ":pk": {
                    "S": keys.conversation_pk(
                        message.channel, message.account_id, message.contact_id, message.thread_id
                    )
                },
                ":after": {
                    "S": keys.message_order(
                        message.conversation_id, message.sent_at, message.platform_message_id
                    )
                },
                ":end": {"S": f"{message.conversation_id}#~"},
                ":seq": {"N": str(message.seq)},
                ":self": {"S": keys.message_sk(message.platform_message_id)},
            },
            Limit=window,
        )
        return [message_from_item(self.unmarshal(i)) for i in response.get("Items", [])]

    def remove_message_item(self, message: Message) -> None:
        """Take back a message item this caller wrote (its conversation never accounted for it): only while
        its ``seq`` and conversation are still those it was written with."""
        with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):
            self.client.delete_item(
                TableName=self.table_name,
                Key=self.key(
                    keys.conversation_pk(
                        message.channel, message.account_id, message.contact_id, message.thread_id
                    ),
                    keys.message_sk(message.platform_message_id),
                ),
                ConditionExpression="conversation_id = :c AND #seq = :s",
                ExpressionAttributeNames={"#seq": "seq"},
                ExpressionAttributeValues={
                    ":c": {"S": message.conversation_id},
                    ":s": {"N": str(message.seq)},
                },
            )

    def put_message_item(self, message: Message, replacing: Message | None = None) -> Message | None:
        """Write a message item: a new one (it must not exist), or over ``replacing`` (as this caller last
        saw it: its ``seq`` and conversation must still be those). None when written; else the item
        found instead (the message exists, or changed since)."""
        put: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": self.marshal(message_item(message)),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if replacing is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = (
                "conversation_id = :c AND (#seq = :s OR (attribute_not_exists(#seq) AND :s = :zero))"
            )
            put["ExpressionAttributeNames"] = {"#seq": "seq"}
            put["ExpressionAttributeValues"] = {
                ":c": {"S": replacing.conversation_id},
                ":s": {"N": str(replacing.seq)},
                ":zero": {"N": "0"},
            }
        try:
            self.client.put_item(**put)
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            item = cast("dict[str, Any] | None", exc.response.get("Item"))
            if item is not None:
                return message_from_item(self.unmarshal(item))
            found = self.get_message(
                message.channel,
                message.account_id,
                message.contact_id,
                message.platform_message_id,
                message.thread_id,
            )
            if found is None:  # gone since (replacing a message that was deleted): write it anew
                return self.put_message_item(message)
            return found
        return None

    def put_outbound_message(self, conv: Conversation, message: Message) -> Conversation | None:
        """Store a message carehooks sent and account for it (:func:`put_outbound_message`)."""
        return put_outbound_message(self, conv, message)

    def apply_status(self, event: StatusEvent) -> bool:
        """Move a sent message's delivery status forward (never backwards). True if it changed."""
        if event.platform_message_id is None:
            return False
        rank = STATUS_RANK.get(event.status, 0)
        values: dict[str, Any] = {
            ":s": {"S": event.status},
            ":r": {"N": str(rank)},
            ":t": {"S": iso(event.at)},
        }
        expression = "SET #status = :s, status_rank = :r, status_at = :t"
        if event.error_code:
            expression += ", status_error = :e"
            values[":e"] = {"S": f"{event.error_code}: {event.error_title or ''}".strip()}
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=self.key(
                    keys.contact_pk(event.channel, event.account_id, event.contact_id),
                    keys.message_sk(event.platform_message_id),
                ),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(status_rank) "
                "OR status_rank < :r)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # -- claims --------------------------------------------------------------------------------
    def claim(
        self,
        kind: str,
        scope: str,
        now: datetime,
        ttl: timedelta,
        owner: str = "",
        *,
        reentrant: bool = False,
    ) -> bool:
        """Claim a side effect (an acknowledgement, a survey, an alert) before doing it.

        True for exactly one caller per (kind, scope) until the claim is released or expires.
        ``reentrant``: the same ``owner`` gets it again while it is still only ``claimed`` (a retry
        whose earlier attempt failed before it could begin the send, or before it could give the claim
        back); callers of reentrant claims must win :meth:`begin_send` before sending.
        """
        condition = "attribute_not_exists(pk) OR #ttl < :now"
        names = {"#ttl": "ttl"}
        values: dict[str, Any] = {":now": {"N": str(int(now.timestamp()))}}
        if reentrant:
            condition += " OR (#owner = :owner AND #state = :claimed)"
            names.update({"#owner": "owner", "#state": "state"})
            values.update({":owner": {"S": owner or "-"}, ":claimed": {"S": CLAIMED}})
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    "pk": {"S": keys.claim_pk(kind, scope)},
                    "sk": {"S": keys.CLAIM_SK},
                    "type": {"S": "claim"},
                    "state": {"S": CLAIMED},
                    "claimed_at": {"S": iso(now)},
                    "owner": {"S": owner or "-"},
                    "ttl": {"N": str(int((now + ttl).timestamp()))},
                },
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def begin_send(self, kind: str, scope: str, owner: str = "") -> bool:
        """Move a held claim from ``claimed`` to ``sending``, just before the side effect; False if lost.

        From here on the side effect may have happened, so the claim is never taken again by its
        owner: only its recorded outcome (or an operator) settles it.
        """
        return self._move_claim(kind, scope, owner, CLAIMED, SENDING)

    def cancel_send(self, kind: str, scope: str, owner: str = "") -> None:
        """Move a claim back from ``sending`` to ``claimed``: the send definitely did not happen.

        Done before giving the claim back, so that if giving it back fails, the owner's retry can still
        take it again (a ``sending`` claim is never retaken). A claim in another state is left alone.
        """
        with_retries(lambda: self._move_claim(kind, scope, owner, SENDING, CLAIMED))

    def _move_claim(self, kind: str, scope: str, owner: str, from_state: str, to_state: str) -> bool:
        """Compare-and-set the state of ``owner``'s claim; False when it is not in ``from_state``."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=self.key(keys.claim_pk(kind, scope), keys.CLAIM_SK),
                UpdateExpression="SET #state = :to",
                ConditionExpression="#owner = :owner AND #state = :from",
                ExpressionAttributeNames={"#owner": "owner", "#state": "state"},
                ExpressionAttributeValues={
                    ":owner": {"S": owner or "-"},
                    ":from": {"S": from_state},
                    ":to": {"S": to_state},
                },
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release_claim(self, kind: str, scope: str) -> None:
        """Give a claim back (the side effect failed and should be retried).

        Retried a few times on throttling: a claim that cannot be given back blocks its side effect.
        """
        with_retries(
            lambda: self.client.delete_item(
                TableName=self.table_name, Key=self.key(keys.claim_pk(kind, scope), keys.CLAIM_SK)
            )
        )

    def mark_claim(self, kind: str, scope: str, **attributes: str) -> None:
        """Record the outcome of a claimed side effect on its claim (e.g. the sent message id)."""
        attributes = {"state": DONE, **attributes}
        names = {f"#a{i}": name for i, name in enumerate(attributes)}
        values = {f":v{i}": {"S": value} for i, value in enumerate(attributes.values())}
        sets = ", ".join(f"#a{i} = :v{i}" for i in range(len(attributes)))
        with_retries(
            lambda: self.client.update_item(
                TableName=self.table_name,
                Key=self.key(keys.claim_pk(kind, scope), keys.CLAIM_SK),
                UpdateExpression=f"SET {sets}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        )


# A claim's life: claimed (nothing done yet) → sending (it may have happened) → done (outcome recorded).
CLAIMED = "claimed"
SENDING = "sending"
DONE = "done"
CLAIM_WRITE_ATTEMPTS = 3
ACCOUNTING_WRITE_ATTEMPTS = 4
# Settling a sent message left unaccounted by a failure: its reads and its taking back, when throttled.
READ_SETTLE_ATTEMPTS = 6
# Storing a message carehooks sent (nothing else retries it: the send is done): whole attempts.
OUTBOUND_STORE_ATTEMPTS = 3
_RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


def with_retries[T](call: Callable[[], T], attempts: int = CLAIM_WRITE_ATTEMPTS) -> T:
    """Run a write, again after a short wait when DynamoDB throttles it (claim bookkeeping, and the
    conversation write that accounts for a message already written)."""
    import time

    from botocore.exceptions import ClientError

    for attempt in range(attempts):
        try:
            return call()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in _RETRYABLE_CODES or attempt == attempts - 1:
                raise
            time.sleep(0.02 * 2**attempt)
    raise AssertionError("unreachable")


class ConversationWrites(Protocol):
    """What the write loops below (and other shared store code) need of a store: the table's, or the
    in-memory fake's."""

    derive: Deriver

    def latest_conversation(
        self, channel: str, account_id: str, contact_id: str, thread_id: str | None = None
    ) -> Conversation | None: ...

    def get_conversation(self, conversation_id: str) -> Conversation | None: ...

    def conversation_at(self, pk: str, sk: str) -> Conversation | None: ...

    def write_conversation(
        self, conv: Conversation, *, expected_version: int | None, now: datetime, items: Sequence[Any] = ()
    ) -> Conversation: ...

    def save_conversation(self, conv: Conversation) -> Conversation: ...

    def new_item(self, item: dict[str, Any]) -> Any: ...

    def put_message_item(self, message: Message, replacing: Message | None = None) -> Message | None: ...

    def remove_message_item(self, message: Message) -> None: ...

    def messages_with_seq_after(self, message: Message, window: int) -> list[Message]: ...


# (placement, with its conversation derived) -> the placement to write (the rules' decision on the message
# and its effects on the conversation); see ``carehooks.rules.step.decider``.
Decide = Callable[[Placement], Placement]


def accounted(store: ConversationWrites, conv: Conversation | None, message: Message) -> bool:
    """Whether ``message`` (as stored) is accounted on ``conv``, its conversation as read.

    A message is written before its conversation (two single-item writes, no transaction), carrying the
    ``seq`` it makes on its conversation; the conversation write records that ``seq`` and the message's
    digest. So a message whose ``seq`` the conversation has not reached is not accounted, and one whose
    ``seq`` it has just reached is accounted if the digest is its own. One whose ``seq`` it has gone past
    was accounted, unless its attempt stopped between the two writes and a later message took the same
    ``seq`` (say its record went to the dead-letter queue while the customer's next messages were
    stored): the few messages after it in the conversation are read to tell (:data:`COLLISION_WINDOW`;
    only for a retried message older than the conversation's latest). Data model v1 messages (``seq`` 0)
    were written in one transaction with their conversation.
    """
    if message.seq == 0:
        return True
    if conv is None or conv.id != message.conversation_id or conv.seq < message.seq:
        return False
    if conv.seq == message.seq:
        return conv.seq_msg == message_digest(message)
    return not store.messages_with_seq_after(message, COLLISION_WINDOW)


def _same_write(a: Message | None, b: Message) -> bool:
    return a is not None and message_item(a) == message_item(b)


def _conversation_of(
    store: ConversationWrites, message: Message, latest: Conversation | None
) -> Conversation | None:
    if latest is not None and latest.id == message.conversation_id:
        return latest
    pk = keys.conversation_pk(message.channel, message.account_id, message.contact_id, message.thread_id)
    return store.conversation_at(pk, keys.conversation_sk(message.conversation_id))


def _account(store: ConversationWrites, message: Message, write: Callable[[], Conversation]) -> Conversation:
    """The conversation write that accounts for ``message`` (already written), retried when throttled.

    When it fails for good, the message item is taken back (if it is still as this attempt wrote it), so
    that no message stays unaccounted while its record waits for a retry (or in the dead-letter queue): a
    later message could take its ``seq`` meanwhile. When the outcome is unknown (a timeout: the write may
    have happened), the conversation is read to tell: accounted, the write happened; else it is taken
    back. A lost race (:class:`ConflictError`) is left to the caller's loop.
    """
    try:
        return with_retries(write, ACCOUNTING_WRITE_ATTEMPTS)
    except ConflictError:
        raise
    except Exception as failure:
        if not _refused(failure):
            try:
                current = _conversation_of(store, message, None)
            except Exception:  # cannot tell: the message stays, the record's retry settles it
                raise failure from None
            if current is not None and accounted(store, current, message):
                return current  # the write happened; only its answer was lost
        try:
            with_retries(lambda: store.remove_message_item(message))
        except Exception:  # the record's retry finds the message and accounts for it (``accounted``)
            logger.warning(
                "a message left unaccounted could not be taken back",
                extra={"conversation_id": message.conversation_id, "seq": message.seq},
            )
        raise


def _refused(failure: Exception) -> bool:
    """DynamoDB answered, and refused the write (throttled, invalid): it did not happen."""
    from botocore.exceptions import ClientError

    return isinstance(failure, ClientError)


def record_message(
    store: ConversationWrites,
    event: MessageEvent,
    place: Callable[[Conversation | None], Placement],
    now: datetime,
    decide: Decide | None = None,
) -> RecordOutcome:
    """Store one message and account for it on its conversation, idempotently: two single-item writes.

    ``place`` (pure: :func:`carehooks.domain.conversations.place_message`) is given the customer's (or
    the public thread's) latest conversation and says what to write; ``decide`` (the rules) adds its
    decision to the message and its effects to the conversation, so both are written once. First the
    message item, conditional on not existing (keyed by the platform id, it is its own dedupe marker),
    then the conversation, conditional on the version read.

    A message that exists already is a duplicate when its conversation accounts for it
    (:func:`accounted`). Otherwise an earlier attempt stopped between the two writes (or is still
    running): this one adopts the message item (rewriting it only if its placement changed) and accounts
    for it. A concurrent conversation change is retried from a fresh read, the same way.
    """
    owned: Message | None = None  # the message item as this call last saw or wrote it
    for _ in range(MAX_ATTEMPTS):
        latest = store.latest_conversation(
            event.channel, event.account_id, event.contact_id, thread_of(event)
        )
        if owned is not None and accounted(store, _conversation_of(store, owned, latest), owned):
            return RecordOutcome(duplicate=True)  # a concurrent attempt accounted for it
        placed = place(latest)
        if decide is not None:
            placed = decide(replace(placed, conversation=store.derive(placed.conversation, now)))
        conv = placed.conversation
        message = replace(placed.message, seq=conv.seq)
        if not _same_write(owned, message):
            found = store.put_message_item(message, replacing=owned)
            if found is not None:  # it exists (a redelivery), or changed since this call saw it
                if owned is None and accounted(store, _conversation_of(store, found, latest), found):
                    return RecordOutcome(duplicate=True)
                owned = found
                continue
            owned = message
        expected = None if placed.before is None else placed.before.version
        try:
            stored = _account(
                store,
                message,
                lambda conv=conv, expected=expected: store.write_conversation(  # type: ignore[misc]
                    conv, expected_version=expected, now=now
                ),
            )
        except ConflictError:
            continue
        return RecordOutcome(
            duplicate=False,
            conversation=stored,
            message=message,
            new_conversation=placed.new_conversation,
            reopened=placed.reopened,
            previous_conversation=placed.previous_conversation,
        )
    raise ConflictError("conversation kept changing while a message was stored")


def record_run(
    store: ConversationWrites,
    events: Sequence[MessageEvent],
    place: Callable[[MessageEvent, Conversation | None], Placement],
    now: datetime,
    decide: Decide | None = None,
) -> list[RecordOutcome] | None:
    """Store consecutive messages of one conversation (a FIFO group's batch, e.g. a viral comment thread)
    and account for them all in one conversation write: one read, the message puts at once, one write.

    Only the plain case: every message joins the latest conversation (none starts or reopens one) and
    none is stored yet. Otherwise, or when the conversation changed meanwhile, it writes nothing (it
    takes back what it wrote) and returns None: the caller stores the messages one by one
    (:func:`record_message`), which handles everything else.
    """
    first = events[0]
    latest = store.latest_conversation(first.channel, first.account_id, first.contact_id, thread_of(first))
    if latest is None or latest.status == "resolved":
        return None
    conv = latest
    placements: list[tuple[Placement, Message]] = []
    for event in events:
        placed = place(event, conv)
        if placed.new_conversation or placed.reopened or placed.conversation.id != latest.id:
            return None
        if decide is not None:
            placed = decide(replace(placed, conversation=store.derive(placed.conversation, now)))
        conv = placed.conversation
        placements.append((placed, replace(placed.message, seq=conv.seq)))
    messages = [message for _, message in placements]
    with ThreadPoolExecutor(max_workers=min(RUN_WRITERS, len(messages))) as pool:
        found = list(pool.map(store.put_message_item, messages))
    written = [m for m, existing in zip(messages, found, strict=True) if existing is None]
    stored: Conversation | None = None
    if len(written) == len(messages):
        with contextlib.suppress(ConflictError):
            stored = _account(
                store,
                messages[-1],
                lambda: store.write_conversation(conv, expected_version=latest.version, now=now),
            )
    if stored is None:
        for message in written:
            with contextlib.suppress(Exception):  # left unaccounted: one-by-one storing adopts it
                with_retries(partial(store.remove_message_item, message))
        return None
    return [
        RecordOutcome(duplicate=False, conversation=stored, message=message, previous_conversation=None)
        for _, message in placements
    ]


def put_outbound_message(
    store: ConversationWrites, conv: Conversation, message: Message
) -> Conversation | None:
    """Store a message carehooks sent and account for it on the conversation (as :func:`record_message`).

    Returns the updated conversation, or None when the platform's echo stored and accounted it first.

    Nothing else retries a sent message's storage (unlike an inbound record), so a failure is tried again
    (up to :data:`OUTBOUND_STORE_ATTEMPTS` whole attempts; a later one adopts the item an earlier one put).
    When all fail after the message item was put, it is settled before raising: accounted, the
    conversation is returned; else the message is taken back, so no sent message keeps a ``seq`` its
    conversation never reached (a customer's next message would take the same number).
    """
    import time

    owned: list[Message] = []
    for attempt in range(OUTBOUND_STORE_ATTEMPTS):
        try:
            return _put_outbound_message(store, conv, message, owned)
        except Exception:
            # The message went out: try again to record it (a new attempt adopts the item an earlier one
            # put); only when every attempt failed is it settled, taken back if unaccounted.
            if attempt < OUTBOUND_STORE_ATTEMPTS - 1:
                time.sleep(0.05 * 2**attempt)
                continue
            if owned:
                settled = _settle_unaccounted(store, owned[-1])
                if settled is not None:
                    return settled
            raise
    raise AssertionError("unreachable")


def _settle_unaccounted(store: ConversationWrites, message: Message) -> Conversation | None:
    """After a failure: the conversation when it accounts for ``message``, else None with the message
    taken back (when that is possible; else it is logged, as :func:`_account` does)."""
    try:
        current = with_retries(lambda: _conversation_of(store, message, None), READ_SETTLE_ATTEMPTS)
        if current is not None and accounted(store, current, message):
            return current
    except Exception:  # cannot tell: taking it back is the safe side (a sent message missing from history)
        logger.warning("an unaccounted sent message could not be checked", exc_info=True)
    try:
        with_retries(lambda: store.remove_message_item(message), READ_SETTLE_ATTEMPTS)
    except Exception:
        logger.warning(
            "a message left unaccounted could not be taken back",
            extra={"conversation_id": message.conversation_id, "seq": message.seq},
        )
    return None


def _put_outbound_message(
    store: ConversationWrites, conv: Conversation, message: Message, put: list[Message]
) -> Conversation | None:
    owned: Message | None = None
    for _ in range(MAX_ATTEMPTS):
        current = store.get_conversation(conv.id) or conv
        if owned is not None and accounted(store, current, owned):
            return None
        updated = apply_message(current, message)
        written = replace(message, seq=updated.seq)
        if not _same_write(owned, written):
            found = store.put_message_item(written, replacing=owned)
            if found is not None:
                if owned is None and accounted(store, _conversation_of(store, found, current), found):
                    return None
                owned = found  # another writer's (the echo's record settles it), never taken back here
                continue
            owned = written
            put.append(written)
        version = current.version
        try:
            return _account(
                store,
                written,
                lambda updated=updated, version=version: store.write_conversation(  # type: ignore[misc]
                    updated, expected_version=version, now=clock.now()
                ),
            )
        except ConflictError:
            continue
    raise ConflictError("conversation kept changing while a sent message was stored")


@cache
def dynamodb_client() -> DynamoDBClient:
    """One DynamoDB client per process, created on first use (never at import)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=2, read_timeout=5),
    )
