"""The conversation store: threading, idempotent message storage, status updates, claims."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from ulid import ULID

from carehooks import clock
from carehooks.clock import iso
from carehooks.domain.derived import derive
from carehooks.domain.models import Conversation, Direction, Message, MessageEvent, StatusEvent
from carehooks.store import keys
from carehooks.store.errors import ConflictError
from carehooks.store.items import (
    conversation_from_item,
    conversation_item,
    message_from_item,
    message_item,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import PutTypeDef

MAX_ATTEMPTS = 5

# (resolved conversation, customer message) -> the message answers it without reopening it.
KeepsResolved = Callable[[Conversation, MessageEvent], bool]
PREVIEW_CHARS = 140
STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "played": 3, "failed": 4}


@dataclass(frozen=True)
class RecordOutcome:
    """What storing one message did."""

    duplicate: bool
    conversation: Conversation | None = None
    message: Message | None = None
    new_conversation: bool = False
    reopened: bool = False
    previous_conversation: Conversation | None = None


def new_conversation_id(at: datetime) -> str:
    """Time-ordered, so a customer's latest conversation is the greatest sort key."""
    return str(ULID.from_timestamp(at.timestamp()))


class Store:
    """Single-table store. Every DynamoDB call of carehooks goes through here."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        capacity_log: list[dict[str, Any]] | None = None,
    ) -> None:
        """``capacity_log`` (benchmarks, tests): record the consumed capacity of every call into it."""
        self.table_name = table_name
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
        from carehooks.store.capacity import CapacityRecorder

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

    def save_conversation(self, conv: Conversation) -> Conversation:
        """Write a changed conversation if nobody else changed it since it was read.

        Raises :class:`ConflictError` when the stored version moved on.
        """
        updated = derive(replace(conv, version=conv.version + 1), clock.now())
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=self.marshal(conversation_item(updated)),
                ConditionExpression="version = :v",
                ExpressionAttributeValues={":v": {"N": str(conv.version)}},
            )
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            raise ConflictError(f"conversation {conv.id} changed concurrently") from exc
        return updated

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
        now: datetime,
        reopen_window: timedelta,
        keeps_resolved: KeepsResolved | None = None,
    ) -> RecordOutcome:
        """Store one message and thread it, atomically and idempotently.

        The message item (keyed by the platform id) and the conversation are written in one
        transaction; a redelivered event fails the message's ``attribute_not_exists`` condition and
        nothing changes. A concurrent conversation change is retried from a fresh read.
        ``keeps_resolved(conversation, event)`` says that a customer message answers something asked
        after resolution (a survey rating): it is threaded into the resolved conversation without
        reopening it.
        """
        for _ in range(MAX_ATTEMPTS):
            latest = self.latest_conversation(
                event.channel, event.account_id, event.contact_id, thread_of(event)
            )
            conv, is_new, reopened = _thread(event, latest, now, reopen_window, keeps_resolved)
            message = _message_from_event(event, conv.id, now)
            conv = derive(_apply_message(conv, message), now)
            conv_put: PutTypeDef = {
                "TableName": self.table_name,
                "Item": self.marshal(conversation_item(replace(conv, version=conv.version + 1))),
            }
            if is_new:
                conv_put["ConditionExpression"] = "attribute_not_exists(pk)"
            else:
                conv_put["ConditionExpression"] = "version = :v"
                conv_put["ExpressionAttributeValues"] = {":v": {"N": str(conv.version)}}
            try:
                self.client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": self.table_name,
                                "Item": self.marshal(message_item(message)),
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                        {"Put": conv_put},
                    ]
                )
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = exc.response.get("CancellationReasons", [])
                codes = [r.get("Code") for r in reasons]
                if codes and codes[0] == "ConditionalCheckFailed":
                    return RecordOutcome(duplicate=True)
                if (len(codes) > 1 and codes[1] == "ConditionalCheckFailed") or _conflict(codes):
                    continue
                raise
            return RecordOutcome(
                duplicate=False,
                conversation=replace(conv, version=conv.version + 1),
                message=message,
                new_conversation=is_new,
                reopened=reopened,
                previous_conversation=latest if is_new else None,
            )
        raise ConflictError("conversation kept changing while a message was stored")

    def put_outbound_message(self, conv: Conversation, message: Message) -> Conversation | None:
        """Store a message carehooks sent and account for it on the conversation.

        Returns the updated conversation, or None when the platform's echo stored it first.
        """
        for _ in range(MAX_ATTEMPTS):
            current = self.get_conversation(conv.id) or conv
            updated = derive(_apply_message(current, message), clock.now())
            try:
                self.client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": self.table_name,
                                "Item": self.marshal(message_item(message)),
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                        {
                            "Put": {
                                "TableName": self.table_name,
                                "Item": self.marshal(
                                    conversation_item(replace(updated, version=updated.version + 1))
                                ),
                                "ConditionExpression": "version = :v",
                                "ExpressionAttributeValues": {":v": {"N": str(current.version)}},
                            }
                        },
                    ]
                )
            except self.client.exceptions.TransactionCanceledException as exc:
                codes = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if codes and codes[0] == "ConditionalCheckFailed":
                    return None
                if (len(codes) > 1 and codes[1] == "ConditionalCheckFailed") or _conflict(codes):
                    continue
                raise
            return replace(updated, version=updated.version + 1)
        raise ConflictError("conversation kept changing while a sent message was stored")

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
        _with_retries(lambda: self._move_claim(kind, scope, owner, SENDING, CLAIMED))

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
        _with_retries(
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
        _with_retries(
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
_RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


def _with_retries(call: Callable[[], Any]) -> None:
    """Run a claim bookkeeping write, again after a short wait when DynamoDB throttles it."""
    import time

    from botocore.exceptions import ClientError

    for attempt in range(CLAIM_WRITE_ATTEMPTS):
        try:
            call()
            return
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in _RETRYABLE_CODES or attempt == CLAIM_WRITE_ATTEMPTS - 1:
                raise
            time.sleep(0.02 * 2**attempt)


def _conflict(codes: list[str | None]) -> bool:
    """Another transaction was writing one of the items at the same moment: re-read and try again."""
    return "TransactionConflict" in codes


def _thread(
    event: MessageEvent,
    latest: Conversation | None,
    now: datetime,
    reopen_window: timedelta,
    keeps_resolved: KeepsResolved | None = None,
) -> tuple[Conversation, bool, bool]:
    """Pick the conversation a message belongs to: (conversation, is_new, reopened)."""
    if latest is not None:
        if latest.status != "resolved":
            return latest, False, False
        if event.direction is Direction.OUT:
            # The business writing after resolution does not reopen anything.
            return latest, False, False
        resolved_at = latest.resolved_at or latest.created_at
        if event.sent_at <= resolved_at:
            # A late (reordered or redelivered) message from before the resolution belongs to it.
            return latest, False, False
        if keeps_resolved is not None and keeps_resolved(latest, event):
            return latest, False, False
        if now - resolved_at <= reopen_window:
            reopened = replace(latest, status="open", resolved_at=None, tags=list(latest.tags))
            reopened.extra = {**latest.extra, "reopened_at": iso(now)}
            return reopened, False, True
    conv = Conversation(
        id=new_conversation_id(now),
        channel=event.channel,
        account_id=event.account_id,
        contact_id=event.contact_id,
        created_at=now,
        status="open" if event.direction is Direction.IN else "pending",
        contact_name=event.contact_name,
        public=event.public,
        thread_id=thread_of(event),
        # A comment thread remembers what started it (a comment, or an Instagram mention).
        extra={**_place(event), "thread_kind": event.kind} if thread_of(event) else _place(event),
    )
    return conv, True, False


def thread_of(event: MessageEvent) -> str | None:
    """The public thread whose partition the event's conversation lives in, if it is one per thread."""
    return event.thread_id if event.per_thread and event.thread_id else None


def _place(event: MessageEvent) -> dict[str, Any]:
    """Where a public comment was written (post and its link), kept on its message and conversation."""
    return {
        name: value
        for name, value in (("post_id", event.post_id), ("permalink", event.permalink))
        if value is not None
    }


def _message_from_event(event: MessageEvent, conversation_id: str, now: datetime) -> Message:
    return Message(
        conversation_id=conversation_id,
        channel=event.channel,
        account_id=event.account_id,
        contact_id=event.contact_id,
        platform_message_id=event.platform_message_id,
        direction=event.direction,
        sent_at=event.sent_at,
        text=event.text,
        kind=event.kind,
        attachments=[{k: v for k, v in vars(a).items() if v is not None} for a in event.attachments],
        reply_payload=event.reply_payload,
        origin_tag=event.origin_tag,
        author=None if event.direction is Direction.IN else _echo_author(event),
        stored_at=now,
        thread_id=thread_of(event),
        extra=_place(event),
    )


def _echo_author(event: MessageEvent) -> str:
    """Who wrote a business message seen as an echo.

    Untagged: a person typing in the platform's own inbox. Tagged ``agent:…``: an agent's reply sent
    through the API whose echo won the race against its own store write (still a person's response).
    Any other tag: carehooks automation (acknowledgements, surveys), which never counts as a response.
    """
    if not event.origin_tag:
        return "platform-inbox"
    return "agent" if event.origin_tag.startswith("agent:") else "carehooks"


def _apply_message(conv: Conversation, message: Message) -> Conversation:
    """Account for a message on its conversation. Times only move forward (platform-time order)."""
    updated = replace(conv, tags=list(conv.tags), extra=dict(conv.extra))
    updated.message_count += 1
    if updated.last_activity_at is None or message.sent_at > updated.last_activity_at:
        updated.last_activity_at = message.sent_at
    if message.direction is Direction.IN:
        _note_first_inbound(updated, message.sent_at)
        if updated.last_inbound_at is None or message.sent_at > updated.last_inbound_at:
            updated.last_inbound_at = message.sent_at
            if message.text:
                updated.preview = message.text[:PREVIEW_CHARS]
    else:
        if updated.last_outbound_at is None or message.sent_at > updated.last_outbound_at:
            updated.last_outbound_at = message.sent_at
        if message.author and message.author != "carehooks" and updated.first_response_at is None:
            # Automatic acknowledgements never count as a response; a person's reply does.
            updated.first_response_at = message.sent_at
            updated.first_responder = message.author
        if message.author and message.author != "carehooks":
            updated.last_responder = message.author
            if updated.last_response_at is None or message.sent_at > updated.last_response_at:
                updated.last_response_at = message.sent_at
    return updated


def _note_first_inbound(conv: Conversation, sent_at: datetime) -> None:
    """Keep ``first_inbound_at`` at the earliest customer message, also one that arrives late.

    A late message never moves ``last_inbound_at`` (times only move forward), so the report deriver,
    which reads that, cannot see it: the store, which sees the message, records it here.
    """
    from carehooks.reports.index import FIRST_INBOUND_ATTR

    known = conv.extra.get(FIRST_INBOUND_ATTR)
    if not isinstance(known, str) or sent_at < clock.parse_iso(known):
        conv.extra[FIRST_INBOUND_ATTR] = iso(sent_at)


@cache
def dynamodb_client() -> DynamoDBClient:
    """One DynamoDB client per process, created on first use (never at import)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=2, read_timeout=5),
    )


@cache
def get_store() -> Store:
    """The process's store, on the table named by the settings."""
    from carehooks.config.settings import settings

    return Store(settings().table_name)
