"""The in-memory implementation of :class:`carehooks.store.protocol.Store`: the unit tests' store.

It keeps the table's items (plain attribute dicts, as DynamoDB returns them unmarshalled) under one lock,
built by the same code the DynamoDB store uses (:mod:`carehooks.store.items`, :mod:`carehooks.store.keys`),
so keys, index attributes and what reads give back are the table's. Each index Query is a filter and a
sort over the items; each conditional write checks its condition under the lock, so the semantics are the
table's: versioned conversation writes (:class:`ConflictError`), a message item that is its own dedupe
marker (a redelivery stores nothing), claims with their TTL and states, statuses that only move forward.
Everything returned is a copy: changing it never changes what is stored.

``tests/integration/test_store_contract.py`` runs the same assertions on this store and on DynamoDB Local.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from carehooks import clock
from carehooks.clock import iso, to_epoch_ms
from carehooks.domain.conversations import (
    Deriver,
    Placement,
    RecordOutcome,
)
from carehooks.domain.models import (
    Channel,
    CommentChangeEvent,
    Conversation,
    Message,
    MessageEvent,
    StatusEvent,
)
from carehooks.store import automation, contacts, erasure, keys, public, table
from carehooks.store.automation import StatusEntry
from carehooks.store.contacts import Contact, ContactEvent, Identity, Note
from carehooks.store.errors import ConflictError, ItemConditionError, NotFoundError
from carehooks.store.events import ConversationEvent, _event_from_item, _event_item
from carehooks.store.items import (
    DECISION_ATTRIBUTE,
    conversation_from_item,
    conversation_item,
    decision_part_attribute,
    message_from_item,
    message_item,
    pack_decision,
)
from carehooks.store.protocol import Store
from carehooks.store.public import EDITS
from carehooks.store.queries import (
    MAX_LIMIT,
    READ_BUDGET,
    ConversationFilter,
    Order,
    Page,
    decode_cursor,
    encode_cursor,
)
from carehooks.store.rules import ACK_CLAIM_KIND, STATUSES, settle_acks
from carehooks.store.saved_replies import (
    HEAD_FIELDS,
    SavedReply,
    SavedReplyChangedError,
    SavedReplyFilter,
    SavedReplyPage,
    ShortcodeTakenError,
    claim_item,
    reply_from_item,
    reply_item,
    select,
)
from carehooks.store.sends import SendAttempt, attempt_from_item, attempt_item
from carehooks.store.sla import BATCH_GET_LIMIT, PolicyMarker, ReadStats, policy_marker_item
from carehooks.store.spikes import SPIKE_STATE_TTL, VolumeCount, VolumeIncrement, counter_from_item
from carehooks.store.table import CLAIMED, DONE, MAX_ATTEMPTS, SENDING, STATUS_RANK

Item = dict[str, Any]
Key = tuple[str, str]


def _unchanged(conv: Conversation, now: datetime) -> Conversation:
    return conv


_SCALARS = (str, bool, bytes, Decimal, type(None))


def stored_form(value: Any) -> Any:
    """A value as DynamoDB gives it back: numbers as Decimals, tuples as lists, dicts and lists copied.

    Raises :class:`TypeError` for a value the table cannot hold (a datetime, an object), as boto3 does.
    """
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, dict):
        return {str(k): stored_form(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [stored_form(v) for v in value]
    if isinstance(value, set | frozenset):
        return {stored_form(v) for v in value}
    if isinstance(value, int | float):
        return Decimal(str(value))
    raise TypeError(f"Unsupported type {type(value)} for value {value!r}")


@dataclass(frozen=True)
class _Write:
    """One item written with a conversation: ``update`` gives the new item (from the one stored, or None),
    or None when its condition fails."""

    key: Key
    update: Callable[[Item | None], Item | None]


def _put_new(item: Item) -> _Write:
    """A put of an item that must not exist yet (``attribute_not_exists(pk)``)."""
    stored: Item = stored_form(item)
    return _Write(
        (stored["pk"], stored["sk"]), lambda current: None if current is not None else copy.deepcopy(stored)
    )


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


class MemoryStore:
    """Every store operation on a table held in memory (thread safe: one lock around every access)."""

    def __init__(self, table_name: str = "memory", derive: Deriver | None = None) -> None:
        self.table_name = table_name
        self.derive: Deriver = derive or _unchanged
        self._lock = threading.RLock()
        self._items: dict[Key, Item] = {}
        self._by_id: dict[str, Key] = {}  # the ById index: conversation id -> its item's key

    # -- the item table ----------------------------------------------------------------------------------
    def _get(self, key: Key) -> Item | None:
        with self._lock:
            item = self._items.get(key)
            return copy.deepcopy(item) if item is not None else None

    def _put(self, item: Item) -> None:
        """Store an item (the caller holds the lock and passes an item in stored form)."""
        key = (item["pk"], item["sk"])
        self._items[key] = item
        if str(item["sk"]).startswith(keys.CONVERSATION_PREFIX) and "conv_id" in item:
            self._by_id[str(item["conv_id"])] = key

    def _query(
        self, where: Callable[[Item], bool], sort: Callable[[Item], Any], *, reverse: bool = False
    ) -> list[Item]:
        """Copies of the items ``where`` selects, in ``sort`` order (an index Query)."""
        with self._lock:
            found = [copy.deepcopy(i) for i in self._items.values() if where(i)]
        return sorted(found, key=sort, reverse=reverse)

    def _partition(self, pk: str, prefix: str, *, reverse: bool = False) -> list[Item]:
        return self._query(
            lambda i: i["pk"] == pk and str(i["sk"]).startswith(prefix), lambda i: i["sk"], reverse=reverse
        )

    def items(self) -> list[Item]:
        """Every item, sorted by key (tests only, like a table scan)."""
        with self._lock:
            return [copy.deepcopy(self._items[k]) for k in sorted(self._items)]

    # -- conversations ---------------------------------------------------------------------------------
    def latest_conversation(
        self, channel: str, account_id: str, contact_id: str, thread_id: str | None = None
    ) -> Conversation | None:
        found = self._partition(
            keys.conversation_pk(channel, account_id, contact_id, thread_id),
            keys.CONVERSATION_PREFIX,
            reverse=True,
        )
        return conversation_from_item(found[0]) if found else None

    def contact_conversations(
        self, channel: str, account_id: str, contact_id: str, limit: int = 50
    ) -> list[Conversation]:
        found = self._partition(
            keys.contact_pk(channel, account_id, contact_id), keys.CONVERSATION_PREFIX, reverse=True
        )
        return [conversation_from_item(i) for i in found[:limit]]

    def get_conversation(self, conversation_id: str) -> Conversation | None:
        with self._lock:
            key = self._by_id.get(conversation_id)
            item = self._get(key) if key is not None else None
        return conversation_from_item(item) if item is not None else None

    def save_conversation(self, conv: Conversation) -> Conversation:
        return self.write_conversation(conv, expected_version=conv.version, now=clock.now())

    def write_conversation(
        self,
        conv: Conversation,
        *,
        expected_version: int | None,
        now: datetime,
        items: Sequence[_Write] = (),
    ) -> Conversation:
        """The one versioned conversation write (see :meth:`TableStore.write_conversation`): derived at
        ``now``, written with version + 1 together with ``items``, all or nothing."""
        stored = self.derive(replace(conv, version=(expected_version or 0) + 1), now)
        item: Item = stored_form(conversation_item(stored))
        key = (item["pk"], item["sk"])
        with self._lock:
            updated: list[Item] = []
            for index, write in enumerate(items):
                new = write.update(copy.deepcopy(self._items.get(write.key)))
                if new is None:
                    raise ItemConditionError(index)
                updated.append(new)
            current = self._items.get(key)
            if expected_version is None:
                if current is not None:
                    raise ConflictError(f"conversation {conv.id} changed concurrently")
            elif current is None or current.get("version") != expected_version:
                raise ConflictError(f"conversation {conv.id} changed concurrently")
            for new in updated:
                self._put(new)
            self._put(item)
        return copy.deepcopy(stored)

    def messages(self, conv: Conversation) -> list[Message]:
        pk = keys.conversation_pk(conv.channel, conv.account_id, conv.contact_id, conv.thread_id)
        prefix = f"{conv.id}#"
        found = self._query(
            lambda i: i["pk"] == pk and str(i.get("lsi1sk", "")).startswith(prefix), lambda i: i["lsi1sk"]
        )
        return settle_acks([message_from_item(i) for i in found], self._ack_claim)

    def get_message(
        self,
        channel: str,
        account_id: str,
        contact_id: str,
        platform_message_id: str,
        thread_id: str | None = None,
    ) -> Message | None:
        item = self._get(
            (
                keys.conversation_pk(channel, account_id, contact_id, thread_id),
                keys.message_sk(platform_message_id),
            )
        )
        return settle_acks([message_from_item(item)], self._ack_claim)[0] if item is not None else None

    def record_message(
        self,
        event: MessageEvent,
        place: Callable[[Conversation | None], Placement],
        now: datetime,
        decide: table.Decide | None = None,
    ) -> RecordOutcome:
        """Store one message and account for it on its conversation, idempotently (see
        :func:`carehooks.store.table.record_message`): a redelivered message is a duplicate."""
        return table.record_message(self, event, place, now, decide)

    def record_run(
        self,
        events: Sequence[MessageEvent],
        place: Callable[[MessageEvent, Conversation | None], Placement],
        now: datetime,
        decide: table.Decide | None = None,
    ) -> list[RecordOutcome] | None:
        """See :func:`carehooks.store.table.record_run`."""
        return table.record_run(self, events, place, now, decide)

    def messages_with_seq_after(self, message: Message, window: int) -> list[Message]:
        """See :meth:`carehooks.store.table.TableStore.messages_with_seq_after`."""
        pk = keys.conversation_pk(message.channel, message.account_id, message.contact_id, message.thread_id)
        start = keys.message_order(message.conversation_id, message.sent_at, message.platform_message_id)
        end = f"{message.conversation_id}#~"
        following = self._query(
            lambda i: i["pk"] == pk and start <= str(i.get("lsi1sk", "")) <= end, lambda i: i["lsi1sk"]
        )[:window]
        return [
            message_from_item(i)
            for i in following
            if int(i.get("seq", 0)) == message.seq and i["sk"] != keys.message_sk(message.platform_message_id)
        ]

    def remove_message_item(self, message: Message) -> None:
        """See :meth:`carehooks.store.table.TableStore.remove_message_item`."""
        key = self._message_key(message)
        with self._lock:
            current = self._items.get(key)
            if (
                current is not None
                and current.get("conversation_id") == message.conversation_id
                and int(current.get("seq", 0)) == message.seq
            ):
                del self._items[key]

    def put_message_item(self, message: Message, replacing: Message | None = None) -> Message | None:
        """See :meth:`carehooks.store.table.TableStore.put_message_item`."""
        item: Item = stored_form(message_item(message))
        key = (item["pk"], item["sk"])
        with self._lock:
            current = self._items.get(key)
            if replacing is None:
                if current is not None:
                    return message_from_item(copy.deepcopy(current))
            elif current is not None and (
                current.get("conversation_id") != replacing.conversation_id
                or int(current.get("seq", 0)) != replacing.seq
            ):
                return message_from_item(copy.deepcopy(current))
            self._put(item)
        return None

    def put_outbound_message(self, conv: Conversation, message: Message) -> Conversation | None:
        return table.put_outbound_message(self, conv, message)

    def new_item(self, item: Item) -> _Write:
        """A write of an item that must not exist yet (a message: its own dedupe marker)."""
        return _put_new(item)

    def apply_status(self, event: StatusEvent) -> bool:
        """Move a sent message's delivery status forward (never backwards). True if it changed."""
        if event.platform_message_id is None:
            return False
        rank = STATUS_RANK.get(event.status, 0)
        key = (
            keys.contact_pk(event.channel, event.account_id, event.contact_id),
            keys.message_sk(event.platform_message_id),
        )
        with self._lock:
            item = self._items.get(key)
            if item is None or ("status_rank" in item and not item["status_rank"] < rank):
                return False
            item.update(status=event.status, status_rank=Decimal(rank), status_at=iso(event.at))
            if event.error_code:
                item["status_error"] = f"{event.error_code}: {event.error_title or ''}".strip()
        return True

    # -- claims --------------------------------------------------------------------------------------------
    @staticmethod
    def _claim_key(kind: str, scope: str) -> Key:
        return keys.claim_pk(kind, scope), keys.CLAIM_SK

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
        """True for exactly one caller per (kind, scope) until released or expired (see
        :meth:`TableStore.claim`); ``reentrant``: the same owner again while it is only ``claimed``."""
        key = self._claim_key(kind, scope)
        owner = owner or "-"
        with self._lock:
            held = self._items.get(key)
            free = (
                held is None
                or ("ttl" in held and held["ttl"] < _epoch(now))
                or (reentrant and held.get("owner") == owner and held.get("state") == CLAIMED)
            )
            if not free:
                return False
            self._put(
                {
                    "pk": key[0],
                    "sk": key[1],
                    "type": "claim",
                    "state": CLAIMED,
                    "claimed_at": iso(now),
                    "owner": owner,
                    "ttl": Decimal(_epoch(now + ttl)),
                }
            )
        return True

    def _move_claim(self, kind: str, scope: str, owner: str, from_state: str, to_state: str) -> bool:
        with self._lock:
            held = self._items.get(self._claim_key(kind, scope))
            if held is None or held.get("owner") != (owner or "-") or held.get("state") != from_state:
                return False
            held["state"] = to_state
        return True

    def begin_send(self, kind: str, scope: str, owner: str = "") -> bool:
        return self._move_claim(kind, scope, owner, CLAIMED, SENDING)

    def cancel_send(self, kind: str, scope: str, owner: str = "") -> None:
        self._move_claim(kind, scope, owner, SENDING, CLAIMED)

    def release_claim(self, kind: str, scope: str) -> None:
        with self._lock:
            self._items.pop(self._claim_key(kind, scope), None)

    def _update(self, key: Key, attributes: Item) -> None:
        """Set attributes of an item, creating it when absent (an unconditional UpdateItem)."""
        with self._lock:
            item = self._items.setdefault(key, {"pk": key[0], "sk": key[1]})
            item.update(stored_form(attributes))

    def mark_claim(self, kind: str, scope: str, **attributes: str) -> None:
        self._update(self._claim_key(kind, scope), {"state": DONE, **attributes})

    def get_claim(self, kind: str, scope: str) -> dict[str, Any] | None:
        return self._get(self._claim_key(kind, scope))

    def claim_exists(self, kind: str, scope: str) -> bool:
        with self._lock:
            return self._claim_key(kind, scope) in self._items

    # -- conversation events and agent lists -----------------------------------------------------------
    def save_with_event(self, conv: Conversation, event: ConversationEvent) -> Conversation:
        try:
            return self.write_conversation(
                conv, expected_version=conv.version, now=event.at, items=[_put_new(_event_item(conv, event))]
            )
        except ItemConditionError as exc:
            raise ConflictError(f"conversation {conv.id} changed concurrently") from exc

    def conversation_events(self, conv: Conversation, limit: int = 200) -> list[ConversationEvent]:
        found = self._partition(
            keys.conversation_pk(conv.channel, conv.account_id, conv.contact_id, conv.thread_id),
            keys.event_prefix(conv.id),
        )
        return [_event_from_item(i) for i in found[:limit]]

    def list_conversations(
        self,
        flt: ConversationFilter,
        limit: int = 25,
        cursor: str | None = None,
        order: Order = "desc",
        read_budget: int = READ_BUDGET,
    ) -> Page:
        """One page of conversations matching ``flt`` by last activity (see
        :func:`carehooks.store.queries.list_conversations`): the same cursors, the same order."""
        limit = max(1, min(limit, MAX_LIMIT))
        fingerprint = flt.fingerprint(order)
        start = decode_cursor(cursor, fingerprint) if cursor else None
        newest_first = order == "desc"
        if flt.assignee is not None:
            partitions = {keys.assignee_pk(s, flt.assignee) for s in flt.statuses}
            attribute = keys.ASSIGNEE_PK_ATTR
        else:
            partitions = {pk for s in flt.statuses for pk in keys.status_partitions(s)}
            attribute = "gsi1pk"

        def in_index(item: Item) -> bool:
            if item.get(attribute) not in partitions:
                return False
            sort_key = str(item[keys.LIST_SORT_ATTR])
            return start is None or (sort_key < start if newest_first else sort_key > start)

        index = self._query(in_index, lambda i: i[keys.LIST_SORT_ATTR], reverse=newest_first)
        page: list[Conversation] = []
        boundary: str | None = None
        for examined, item in enumerate(index, start=1):
            conv = conversation_from_item(item)
            if flt.matches(conv):
                if len(page) == limit:
                    break  # one more match: there is a next page
                page.append(conv)
            boundary = str(item[keys.LIST_SORT_ATTR])
            if examined >= read_budget and len(page) < limit:
                break  # a rare filter: a short page and a cursor, never a long request
        else:
            boundary = None  # every index item read
        next_cursor = encode_cursor(boundary, fingerprint) if boundary else None
        return Page(items=page, next=next_cursor)

    # -- rules ---------------------------------------------------------------------------------------------
    @staticmethod
    def _message_key(message: Message) -> Key:
        return (
            keys.conversation_pk(message.channel, message.account_id, message.contact_id, message.thread_id),
            keys.message_sk(message.platform_message_id),
        )

    def record_decision(
        self,
        message: Message,
        apply: Callable[[Conversation], Conversation | None],
        decision: dict[str, Any],
        now: datetime,
    ) -> Conversation:
        """``decision`` on the message and ``apply``'s change of its conversation, atomically (see
        :func:`carehooks.store.rules.record_decision`)."""
        packed, parts = pack_decision(decision)
        value = stored_form({DECISION_ATTRIBUTE: packed, **parts})
        message_key = self._message_key(message)

        def set_decision(current: Item | None) -> Item | None:
            return None if current is None else {**current, **copy.deepcopy(value)}

        conv_key = (message_key[0], keys.conversation_sk(message.conversation_id))
        for _ in range(MAX_ATTEMPTS):
            item = self._get(conv_key)
            if item is None:
                raise NotFoundError(f"conversation {message.conversation_id} not found")
            current = conversation_from_item(item)
            changed = apply(replace(current, tags=list(current.tags), extra=dict(current.extra)))
            if changed is None:
                with self._lock:
                    updated = set_decision(self._items.get(message_key))
                    if updated is None:
                        raise ItemConditionError(0)
                    self._put(updated)
                return current
            try:
                return self.write_conversation(
                    changed,
                    expected_version=current.version,
                    now=now,
                    items=[_Write(message_key, set_decision)],
                )
            except ConflictError:
                continue
        raise ConflictError(f"conversation {message.conversation_id} kept changing while rules were recorded")

    def set_decision_part(self, message: Message, part: str, outcome: dict[str, Any]) -> None:
        with self._lock:
            item = self._items.get(self._message_key(message))
            if item is None or DECISION_ATTRIBUTE not in item:
                raise ItemConditionError(0)
            item[decision_part_attribute(part)] = stored_form(outcome)

    def active_conversation_keys(self, since: datetime) -> Iterator[tuple[str, str]]:
        lower = iso(since)
        for pk in (pk for status in STATUSES for pk in keys.status_partitions(status)):

            def active(item: Item, pk: str = pk) -> bool:
                return bool(item.get("gsi1pk") == pk and item["gsi1sk"] >= lower)

            for item in self._query(active, _list_key):
                yield item["pk"], str(item["sk"]).removeprefix(keys.CONVERSATION_PREFIX)

    def partition_conversations(self, pk: str) -> list[Conversation]:
        return [
            conversation_from_item(i) for i in self._partition(pk, keys.CONVERSATION_PREFIX, reverse=True)
        ]

    def messages_since(self, pk: str, conversation_id: str, since: datetime) -> list[Message]:
        low, high = f"{conversation_id}#{to_epoch_ms(since):013d}", f"{conversation_id}#~"
        found = self._query(
            lambda i: i["pk"] == pk and "lsi1sk" in i and low <= i["lsi1sk"] <= high, lambda i: i["lsi1sk"]
        )
        return [message_from_item(i) for i in found]

    # -- send log, surveys, reports ------------------------------------------------------------------------
    def record_attempt(self, attempt: SendAttempt) -> None:
        item: Item = attempt_item(attempt)
        with self._lock:
            self._put(stored_form(item))

    def attempts(self, conversation_id: str, limit: int = 50) -> list[SendAttempt]:
        newest = self._partition(keys.send_log_pk(conversation_id), "", reverse=True)[:limit]
        return [attempt_from_item(item) for item in reversed(newest)]

    def due_survey_keys(self, now: datetime, limit: int = 100) -> list[tuple[str, str]]:
        found = [m for p in keys.survey_due_partitions() for m in self.due_survey_markers(p, now, limit)]
        return [(pk, sk) for _, pk, sk in sorted(found)[:limit]]

    def due_survey_markers(self, partition: str, now: datetime, limit: int) -> list[tuple[str, str, str]]:
        upper = keys.survey_due_upper_bound(now)
        found = self._query(
            lambda i: i.get(keys.SURVEY_DUE_PK_ATTR) == partition and i[keys.SURVEY_DUE_SK_ATTR] <= upper,
            lambda i: (i[keys.SURVEY_DUE_SK_ATTR], i["pk"], i["sk"]),
        )
        return [(i[keys.SURVEY_DUE_SK_ATTR], i["pk"], i["sk"]) for i in found[:limit]]

    def conversation_at(self, pk: str, sk: str) -> Conversation | None:
        item = self._get((pk, sk))
        return conversation_from_item(item) if item is not None else None

    def conversations_created(self, start: datetime, end: datetime) -> Iterator[Conversation]:
        """Conversations created in ``[start, end)``, day by day (UTC), each day by creation time."""
        if end <= start:
            return
        days = set()
        day = start.astimezone(UTC).date()
        while day <= (end - timedelta(microseconds=1)).astimezone(UTC).date():
            days.add(keys.legacy_day_pk(day))
            days.update(keys.created_partitions(day))
            day += timedelta(days=1)
        found = self._query(
            lambda i: i.get(keys.CREATED_PK_ATTR, i.get(keys.DAY_PK_ATTR)) in days,
            lambda i: (str(i.get("created_at")), str(i["sk"])),
        )
        for item in found:
            conv = conversation_from_item(item)
            if start <= conv.created_at < end:
                yield conv

    # -- public comment threads ----------------------------------------------------------------------------
    def comment(self, channel: Channel, account_id: str, thread_id: str, comment_id: str) -> Message | None:
        return self.get_message(channel, account_id, "", comment_id, thread_id=thread_id)

    def apply_change(self, event: CommentChangeEvent) -> Message | None:
        """An edit, removal, hide or unhide of a stored comment; the comment before it, or None (see
        :func:`carehooks.store.public.apply_change`): None too when it is already applied."""
        found = self.comment(event.channel, event.account_id, event.thread_id, event.platform_message_id)
        if found is None:
            return None
        at = iso(event.at)
        with self._lock:
            item = self._items.get(self._message_key(found))
            if item is None:
                return None
            changes = _comment_change(item, event.change, event.text or "", at)
            if changes is None:
                return None
            item.update(stored_form(changes))
        return found

    def set_hidden(self, message: Message, hidden: bool, by: str, at: datetime) -> None:
        with self._lock:
            item = self._items.get(self._message_key(message))
            if item is None:
                raise ItemConditionError(0)
            item.update(hidden=hidden, hidden_at=iso(at), hidden_by=by)

    def open_private_conversation(
        self, public_conversation: Conversation, contact_id: str, now: datetime
    ) -> Conversation:
        return public.open_private_conversation(self, public_conversation, contact_id, now)

    # -- SLA monitor ---------------------------------------------------------------------------------------
    def due_conversation_keys(self, shard: int, now: datetime, stats: ReadStats) -> list[dict[str, Any]]:
        pk, upper = keys.sla_due_pk(shard), keys.sla_due_sk(now)
        found = self._query(
            lambda i: i.get(keys.SLA_DUE_PK_ATTR) == pk and i[keys.SLA_DUE_SK_ATTR] <= upper,
            lambda i: (i[keys.SLA_DUE_SK_ATTR], i["pk"], i["sk"]),
        )
        stats.queries += 1
        stats.index_items += len(found)
        return [_table_key(i) for i in found]

    def get_conversations(self, item_keys: list[dict[str, Any]], stats: ReadStats) -> list[Conversation]:
        unique = list({(k["pk"]["S"], k["sk"]["S"]): k for k in item_keys})
        out: list[Conversation] = []
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            stats.batch_gets += 1
            for key in unique[start : start + BATCH_GET_LIMIT]:
                item = self._get(key)
                if item is not None:
                    stats.items += 1
                    out.append(conversation_from_item(item))
        return out

    def alert_was_sent(self, scope: str, stats: ReadStats) -> bool:
        stats.other_reads += 1
        item = self._get(self._claim_key(keys.SLA_CLAIM_KIND, scope))
        return item is not None and "sent_at" in item

    def mark_alert_sent(self, scope: str, message_id: str, now: datetime, keep: timedelta) -> None:
        self._update(
            self._claim_key(keys.SLA_CLAIM_KIND, scope),
            {"sent_at": iso(now), "message_id": message_id, "ttl": _epoch(now + keep)},
        )

    def get_policy_marker(self, stats: ReadStats) -> PolicyMarker | None:
        stats.other_reads += 1
        data = self._get((keys.SLA_POLICY_KEY, keys.SLA_POLICY_KEY))
        if data is None:
            return None
        cursor = data.get("walk_cursor")
        loaded = json.loads(cursor) if isinstance(cursor, str) else None
        return PolicyMarker(
            fingerprint=str(data.get("fingerprint", "")),
            status=data.get("walk_status"),
            cursor=loaded if isinstance(loaded, dict) else None,
        )

    def put_policy_marker(self, marker: PolicyMarker, now: datetime) -> None:
        item: Item = policy_marker_item(marker, now)
        with self._lock:
            self._put(item)

    def status_page(
        self, status: str, cursor: dict[str, Any] | None, limit: int, stats: ReadStats
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of conversation keys with this status and the cursor to the next (the index's last
        evaluated key, as DynamoDB gives it: a full page always has one)."""
        partitions = keys.status_partitions(status)
        index = int((cursor or {}).get("p", 0))
        start = (cursor or {}).get("k")
        page: list[dict[str, Any]] = []
        while index < len(partitions) and len(page) < limit:
            pk = partitions[index]
            after = (start["gsi1sk"]["S"], start["pk"]["S"], start["sk"]["S"]) if start else None

            def in_shard(item: Item, pk: str = pk, after: tuple[str, str, str] | None = after) -> bool:
                return item.get("gsi1pk") == pk and (after is None or _list_key(item) > after)

            found = self._query(in_shard, _list_key)[: limit - len(page)]
            stats.queries += 1
            stats.index_items += len(found)
            page.extend(_table_key(i) for i in found)
            if found and len(page) == limit:
                # A full page: DynamoDB names the last key read (the shard may hold no more).
                last = found[-1]
                start = {**_table_key(last), "gsi1pk": {"S": pk}, "gsi1sk": {"S": last["gsi1sk"]}}
            else:
                start = None
                index += 1
        if index >= len(partitions):
            return page, None
        return page, {"p": index, "k": start}

    # -- saved replies (store/saved_replies.py) ------------------------------------------------------------
    def create_saved_reply(self, reply: SavedReply) -> SavedReply:
        with self._lock:
            item, claim = stored_form(reply_item(reply)), stored_form(claim_item(reply))
            if (claim["pk"], claim["sk"]) in self._items:
                raise ShortcodeTakenError(reply.shortcode)
            if (item["pk"], item["sk"]) in self._items:
                raise SavedReplyChangedError(f"saved reply {reply.id} exists already")
            self._put(item)
            self._put(claim)
        return reply

    def get_saved_reply(self, reply_id: str) -> SavedReply | None:
        item = self._get((keys.SAVED_REPLY_PK, keys.saved_reply_sk(reply_id)))
        return reply_from_item(item) if item is not None else None

    def update_saved_reply(self, reply: SavedReply, previous: SavedReply) -> SavedReply:
        key = (keys.SAVED_REPLY_PK, keys.saved_reply_sk(previous.id))
        with self._lock:
            current = self._items.get(key)
            if current is None or current["shortcode"] != previous.shortcode:
                raise SavedReplyChangedError(f"saved reply {previous.id} changed since it was read")
            moved = replace(reply, id=previous.id)
            if reply.shortcode != previous.shortcode:
                claim = stored_form(claim_item(moved))
                if (claim["pk"], claim["sk"]) in self._items:
                    raise ShortcodeTakenError(reply.shortcode)
                self._items.pop((keys.SAVED_REPLY_PK, keys.shortcode_sk(previous.shortcode)), None)
                self._put(claim)
            kept: Item = {k: current[k] for k in ("usage_count", "last_used_at") if k in current}
            self._put({**stored_form(reply_item(moved)), **kept})
            return reply_from_item(copy.deepcopy(self._items[key]))

    def delete_saved_reply(self, previous: SavedReply) -> None:
        key = (keys.SAVED_REPLY_PK, keys.saved_reply_sk(previous.id))
        claim = (keys.SAVED_REPLY_PK, keys.shortcode_sk(previous.shortcode))
        with self._lock:
            current = self._items.get(key)
            owner = self._items.get(claim)
            if current is None or current["shortcode"] != previous.shortcode or owner is None:
                raise SavedReplyChangedError(f"saved reply {previous.id} changed since it was read")
            if owner.get("reply_id") != previous.id:
                raise SavedReplyChangedError(f"saved reply {previous.id} changed since it was read")
            del self._items[key]
            del self._items[claim]

    def list_saved_replies(
        self, flt: SavedReplyFilter, limit: int = 25, cursor: str | None = None
    ) -> SavedReplyPage:
        library = self._partition(keys.SAVED_REPLY_PK, keys.SAVED_REPLY_PREFIX)
        heads = [{k: item[k] for k in HEAD_FIELDS if k in item} for item in library]
        ids, next_cursor = select(heads, flt, limit, cursor)
        found = {str(item["id"]): reply_from_item(item) for item in library}
        return SavedReplyPage(items=[found[i] for i in ids if i in found], next=next_cursor)

    def record_saved_reply_use(self, reply_id: str, at: datetime) -> None:
        key = (keys.SAVED_REPLY_PK, keys.saved_reply_sk(reply_id))
        with self._lock:
            current = self._items.get(key)
            if current is not None:
                current["usage_count"] = Decimal(current.get("usage_count") or 0) + 1
                current["last_used_at"] = iso(at)

    # -- contacts and notes (issue 16: store/contacts.py) ------------------------------------------------
    def get_contact(self, identity: Identity) -> Contact | None:
        item = self._get((identity.pk, keys.CONTACT_SK))
        return contacts.contact_from_item(item) if item is not None else None

    def linked_identities(self, channel: str, account_id: str, contact_id: str) -> list[Identity]:
        item = self._get((keys.contact_pk(channel, account_id, contact_id), keys.CONTACT_SK))
        return contacts.identities_of(item) if item is not None else []

    def save_contacts(self, items: Sequence[Contact], events: Sequence[ContactEvent] = ()) -> list[Contact]:
        with self._lock:
            for contact in items:
                held = self._items.get((contact.identity.pk, keys.CONTACT_SK))
                held_version = int(held.get("version") or 0) if held is not None else 0
                if (held is None) != (contact.version == 0) or held_version != contact.version:
                    raise ConflictError("the contact changed concurrently")
            stored = [contacts.stored_version(c) for c in items]
            for contact in stored:
                self._put(stored_form(contacts.contact_item(contact)))
            for event in events:
                self._put(stored_form(contacts.contact_event_item(event)))
        return stored

    def _add_note(self, note: Note, event_item: Item) -> None:
        with self._lock:
            for item in (contacts.note_item(note), event_item):
                if (item["pk"], item["sk"]) in self._items:
                    raise ConflictError("the note already exists")
            self._put(stored_form(contacts.note_item(note)))
            self._put(stored_form(event_item))

    def add_contact_note(self, note: Note, event: ContactEvent) -> None:
        self._add_note(note, contacts.contact_event_item(event))

    def add_conversation_note(self, conv: Conversation, note: Note, event: ConversationEvent) -> None:
        self._add_note(note, _event_item(conv, event))

    def delete_contact_note(self, note: Note, event: ContactEvent) -> bool:
        with self._lock:
            if self._items.pop((note.pk, note.sk), None) is None:
                return False
            self._put(stored_form(contacts.contact_event_item(event)))
        return True

    def contact_notes(self, identity: Identity, limit: int = 200) -> list[Note]:
        found = self._partition(identity.pk, keys.CONTACT_NOTE_PREFIX, reverse=True)
        return [contacts.note_from_item(i) for i in found[:limit]]

    def conversation_notes(self, conv: Conversation, limit: int = 200) -> list[Note]:
        pk = keys.conversation_pk(conv.channel, conv.account_id, conv.contact_id, conv.thread_id)
        found = self._partition(pk, keys.conversation_note_prefix(conv.id), reverse=True)
        return [contacts.note_from_item(i) for i in found[:limit]]

    def contact_events(self, identity: Identity, limit: int = 200) -> list[ContactEvent]:
        found = self._partition(identity.pk, keys.CONTACT_EVENT_PREFIX, reverse=True)
        return [contacts.contact_event_from_item(i) for i in found[:limit]]

    # -- acknowledgements: a sent one's outcome is on its claim (issue 17, store/rules.py) ---------
    def _ack_claim(self, conversation_id: str) -> dict[str, Any] | None:
        return self.get_claim(ACK_CLAIM_KIND, conversation_id)

    # -- spike alerts (issue 17: store/spikes.py) -------------------------------------------------
    def count_volume(self, increment: VolumeIncrement) -> None:
        key = (keys.volume_pk(increment.bucket, increment.shard), increment.group)
        with self._lock:
            item = self._items.setdefault(key, {"pk": key[0], "sk": key[1], "type": "volume", "n": 0})
            item["n"] = int(item["n"]) + increment.count
            for tag, n in increment.tags.items():
                name = f"{keys.VOLUME_TAG_PREFIX}{tag}"
                item[name] = int(item.get(name, 0)) + n

    def bucket_volumes(self, bucket: str) -> dict[str, VolumeCount]:
        out: dict[str, VolumeCount] = {}
        for shard in range(keys.VOLUME_SHARDS):
            for item in self._partition(keys.volume_pk(bucket, shard), ""):
                out.setdefault(str(item["sk"]), VolumeCount()).add(*counter_from_item(item))
        return out

    def group_volumes(self, group: str, buckets: Sequence[str]) -> dict[str, VolumeCount]:
        out = {bucket: VolumeCount() for bucket in buckets}
        for bucket in buckets:
            for shard in range(keys.VOLUME_SHARDS):
                item = self._get((keys.volume_pk(bucket, shard), group))
                if item is not None:
                    out[bucket].add(*counter_from_item(item))
        return out

    def active_spikes(self) -> list[dict[str, Any]]:
        return self._partition(keys.SPIKES_PK, "")

    def claim_spike(self, group: str, attributes: dict[str, str], now: datetime) -> bool:
        key = (keys.SPIKES_PK, group)
        with self._lock:
            held = self._items.get(key)
            if held is not None and held["ttl"] >= _epoch(now):
                return False
            self._put(
                {
                    **attributes,
                    "pk": key[0],
                    "sk": key[1],
                    "type": "spike",
                    "state": "sending",
                    "started_at": iso(now),
                    "ttl": _epoch(now + SPIKE_STATE_TTL),
                }
            )
        return True

    def mark_spike(self, group: str, **attributes: str) -> None:
        self._update((keys.SPIKES_PK, group), dict(attributes))

    def drop_spike(self, group: str) -> None:
        with self._lock:
            self._items.pop((keys.SPIKES_PK, group), None)

    def recent_conversation_keys(
        self, channel: str, account_id: str, start: datetime, end: datetime, limit: int
    ) -> list[dict[str, Any]]:
        prefix = keys.contact_pk(channel, account_id, "")
        low, high = iso(start), iso(end)
        found = self._query(
            lambda i: (
                str(i.get("gsi1pk", "")).startswith("STATUS#open")
                and low <= str(i.get("gsi1sk", "")) <= high
                and str(i["pk"]).startswith(prefix)
            ),
            lambda i: str(i["gsi1sk"]),
            reverse=True,
        )
        return [_table_key(i) for i in found[:limit]]

    # -- automation over time (issue 17: store/automation.py) --------------------------------------------
    def status_entries(
        self, partition: str, after: str | None, upto: str, stats: ReadStats
    ) -> list[StatusEntry]:
        if after is not None and after >= upto:
            return []
        low = keys.after_list_key(after) if after is not None else ""

        def in_range(item: Item) -> bool:
            return item.get("gsi1pk") == partition and low <= str(item.get("gsi1sk", "")) <= upto

        found = self._query(in_range, _list_key)
        stats.queries += 1
        stats.index_items += len(found)
        return [automation.entry_from_index(i) for i in found]

    def automation_cursors(self, stats: ReadStats) -> dict[str, dict[str, str]]:
        found = self._partition(keys.AUTOMATION_CURSOR_PK, "")
        stats.queries += 1
        stats.other_reads += len(found)
        return {str(i["sk"]): {str(k): str(v) for k, v in (i.get("marks") or {}).items()} for i in found}

    def put_automation_cursor(self, name: str, marks: dict[str, str], now: datetime) -> None:
        item: Item = stored_form(automation.cursor_item(name, marks, now))
        with self._lock:
            self._put(item)

    def save_with_event_and_claim(
        self,
        conv: Conversation,
        event: ConversationEvent,
        claim: tuple[str, str],
        outcome: dict[str, str],
        keep: timedelta,
    ) -> Conversation:
        done: Item = stored_form(automation.done_claim_item(claim[0], claim[1], outcome, keep, event.at))
        try:
            return self.write_conversation(
                conv,
                expected_version=conv.version,
                now=event.at,
                items=[
                    _put_new(_event_item(conv, event)),
                    _Write((done["pk"], done["sk"]), lambda _current: copy.deepcopy(done)),
                ],
            )
        except ItemConditionError as exc:
            raise ConflictError(f"conversation {conv.id} changed concurrently") from exc

    # -- erasure and export (issue 18) -----------------------------------------------------------
    def erase_contact(self, identity: Identity, tombstone: erasure.Tombstone) -> erasure.ErasureResult:
        return erasure.erase(_MemoryItems(self), self, identity, tombstone)

    def export_contact(self, identity: Identity) -> dict[str, Any] | None:
        return erasure.export(_MemoryItems(self), identity)

    def get_tombstone(self, channel: str, account_id: str, digest: str) -> erasure.Tombstone | None:
        return erasure.get_tombstone(_MemoryItems(self), channel, account_id, digest)


class _MemoryItems:
    """:class:`carehooks.store.erasure.RawItems` on the in-memory table."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def partition(self, pk: str, prefix: str = "") -> list[Item]:
        return self.store._partition(pk, prefix)

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        return self.store._get((pk, sk))

    def delete(self, item_keys: Sequence[tuple[str, str]]) -> None:
        with self.store._lock:
            for key in item_keys:
                item = self.store._items.pop(key, None)
                if item is not None and "conv_id" in item:
                    self.store._by_id.pop(str(item["conv_id"]), None)

    def put(self, item: Item) -> None:
        with self.store._lock:
            self.store._put(stored_form(item))


def _comment_change(item: Item, change: str, text: str, at: str) -> Item | None:
    """The attributes a comment change sets on the comment's item; None when it is already applied."""
    if change == "edited":
        if item.get("text") == text:
            return None
        edits = [*item.get(EDITS, []), {"text": item.get("text"), "until": at}]
        return {"text": text, "edited_at": at, EDITS: edits}
    if change == "removed":
        return None if item.get("deleted") else {"deleted": True, "deleted_at": at}
    hidden = change == "hidden"
    if bool(item.get("hidden")) == hidden:
        return None
    return {"hidden": hidden, "hidden_at": at, "hidden_by": "platform-inbox"}


def _list_key(item: Item) -> tuple[str, str, str]:
    return str(item["gsi1sk"]), str(item["pk"]), str(item["sk"])


def _table_key(item: Item) -> dict[str, Any]:
    """An item's key as an index Query gives it (opaque to callers: handed back to the store)."""
    return {"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}}


# A static check (mypy) that the fake offers every operation of the protocol, with the same signatures.
_check: type[Store] = MemoryStore
