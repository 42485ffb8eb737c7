"""The DynamoDB implementation of :class:`carehooks.store.protocol.Store`.

The table's own operations (conversations, messages, statuses, claims) are :class:`TableStore`'s; each
feature's access lives in its module (``events``, ``queries``, ``rules``, ``sends``, ``surveys``,
``reports``, ``public``, ``sla``) and is offered here as a method, so use cases code against the
protocol and unit tests can hand them the in-memory fake (:mod:`carehooks.store.memory`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from carehooks.domain.models import Channel, CommentChangeEvent, Conversation, Message
from carehooks.store import (
    automation,
    contacts,
    erasure,
    events,
    keys,
    public,
    queries,
    reports,
    rules,
    saved_replies,
    sends,
    sla,
    spikes,
    surveys,
)
from carehooks.store.automation import StatusEntry
from carehooks.store.contacts import Contact, ContactEvent, Identity, Note
from carehooks.store.erasure import ErasureResult, Tombstone
from carehooks.store.events import ConversationEvent, _event_item
from carehooks.store.queries import READ_BUDGET, ConversationFilter, Order, Page
from carehooks.store.saved_replies import SavedReply, SavedReplyFilter, SavedReplyPage
from carehooks.store.sends import SendAttempt
from carehooks.store.sla import PolicyMarker, ReadStats
from carehooks.store.spikes import VolumeCount, VolumeIncrement
from carehooks.store.table import TableStore


class DynamoStore(TableStore):
    """Every store operation on one DynamoDB table."""

    # -- conversation events ---------------------------------------------------------------------
    def save_with_event(self, conv: Conversation, event: ConversationEvent) -> Conversation:
        return events.save_with_event(self, conv, event)

    def conversation_events(self, conv: Conversation, limit: int = 200) -> list[ConversationEvent]:
        return events.conversation_events(self, conv, limit)

    # -- agent lists -----------------------------------------------------------------------------
    def list_conversations(
        self,
        flt: ConversationFilter,
        limit: int = 25,
        cursor: str | None = None,
        order: Order = "desc",
        read_budget: int = READ_BUDGET,
    ) -> Page:
        return queries.list_conversations(self, flt, limit, cursor, order, read_budget)

    # -- rules decisions and replay reads --------------------------------------------------------
    def record_decision(
        self,
        message: Message,
        apply: Callable[[Conversation], Conversation | None],
        decision: dict[str, Any],
        now: datetime,
    ) -> Conversation:
        return rules.record_decision(self, message, apply, decision, now)

    def set_decision_part(self, message: Message, part: str, outcome: dict[str, Any]) -> None:
        rules.set_decision_part(self, message, part, outcome)

    def claim_exists(self, kind: str, scope: str) -> bool:
        return rules.claim_exists(self, kind, scope)

    def active_conversation_keys(self, since: datetime) -> Iterator[tuple[str, str]]:
        return rules.active_conversation_keys(self, since)

    def partition_conversations(self, pk: str) -> list[Conversation]:
        return rules.partition_conversations(self, pk)

    def messages_since(self, pk: str, conversation_id: str, since: datetime) -> list[Message]:
        return rules.messages_since(self, pk, conversation_id, since)

    # -- send log --------------------------------------------------------------------------------
    def record_attempt(self, attempt: SendAttempt) -> None:
        sends.record_attempt(self, attempt)

    def attempts(self, conversation_id: str, limit: int = 50) -> list[SendAttempt]:
        return sends.attempts(self, conversation_id, limit)

    # -- surveys ---------------------------------------------------------------------------------
    def due_survey_keys(self, now: datetime, limit: int = 100) -> list[tuple[str, str]]:
        return surveys.due_survey_keys(self, now, limit)

    def due_survey_markers(self, partition: str, now: datetime, limit: int) -> list[tuple[str, str, str]]:
        return surveys.due_survey_markers(self, partition, now, limit)

    def get_claim(self, kind: str, scope: str) -> dict[str, Any] | None:
        return surveys.get_claim(self, kind, scope)

    # -- reports ---------------------------------------------------------------------------------
    def conversations_created(self, start: datetime, end: datetime) -> Iterator[Conversation]:
        return reports.conversations_created(self, start, end)

    # -- public comment threads ------------------------------------------------------------------
    def comment(self, channel: Channel, account_id: str, thread_id: str, comment_id: str) -> Message | None:
        return public.comment(self, channel, account_id, thread_id, comment_id)

    def apply_change(self, event: CommentChangeEvent) -> Message | None:
        return public.apply_change(self, event)

    def set_hidden(self, message: Message, hidden: bool, by: str, at: datetime) -> None:
        public.set_hidden(self, message, hidden, by, at)

    def open_private_conversation(
        self, public_conversation: Conversation, contact_id: str, now: datetime
    ) -> Conversation:
        return public.open_private_conversation(self, public_conversation, contact_id, now)

    # -- SLA monitor -----------------------------------------------------------------------------
    def due_conversation_keys(self, shard: int, now: datetime, stats: ReadStats) -> list[dict[str, Any]]:
        return sla.due_conversation_keys(self, shard, now, stats)

    def get_conversations(self, item_keys: list[dict[str, Any]], stats: ReadStats) -> list[Conversation]:
        return sla.get_conversations(self, item_keys, stats)

    def alert_was_sent(self, scope: str, stats: ReadStats) -> bool:
        return sla.alert_was_sent(self, scope, stats)

    def mark_alert_sent(self, scope: str, message_id: str, now: datetime, keep: timedelta) -> None:
        sla.mark_alert_sent(self, scope, message_id, now, keep)

    def get_policy_marker(self, stats: ReadStats) -> PolicyMarker | None:
        return sla.get_policy_marker(self, stats)

    def put_policy_marker(self, marker: PolicyMarker, now: datetime) -> None:
        sla.put_policy_marker(self, marker, now)

    def status_page(
        self, status: str, cursor: dict[str, Any] | None, limit: int, stats: ReadStats
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        return sla.status_page(self, status, cursor, limit, stats)

    # -- saved replies ---------------------------------------------------------------------------
    def create_saved_reply(self, reply: SavedReply) -> SavedReply:
        return saved_replies.create(self, reply)

    def get_saved_reply(self, reply_id: str) -> SavedReply | None:
        return saved_replies.get(self, reply_id)

    def update_saved_reply(self, reply: SavedReply, previous: SavedReply) -> SavedReply:
        return saved_replies.update(self, reply, previous)

    def delete_saved_reply(self, previous: SavedReply) -> None:
        saved_replies.delete(self, previous)

    def list_saved_replies(
        self, flt: SavedReplyFilter, limit: int = 25, cursor: str | None = None
    ) -> SavedReplyPage:
        return saved_replies.list_page(self, flt, limit, cursor)

    def record_saved_reply_use(self, reply_id: str, at: datetime) -> None:
        saved_replies.record_use(self, reply_id, at)

    # -- contacts and notes (issue 16) -----------------------------------------------------------
    def get_contact(self, identity: Identity) -> Contact | None:
        return contacts.get_contact(self, identity)

    def linked_identities(self, channel: str, account_id: str, contact_id: str) -> list[Identity]:
        return contacts.linked_identities(self, Identity(channel, account_id, contact_id))

    def save_contacts(self, items: Sequence[Contact], events: Sequence[ContactEvent] = ()) -> list[Contact]:
        return contacts.save_contacts(self, items, events)

    def add_contact_note(self, note: Note, event: ContactEvent) -> None:
        contacts.add_note(self, note, contacts.contact_event_item(event))

    def add_conversation_note(self, conv: Conversation, note: Note, event: ConversationEvent) -> None:
        contacts.add_note(self, note, _event_item(conv, event))

    def delete_contact_note(self, note: Note, event: ContactEvent) -> bool:
        return contacts.delete_note(self, note, contacts.contact_event_item(event))

    def contact_notes(self, identity: Identity, limit: int = 200) -> list[Note]:
        return contacts.notes(self, identity.pk, keys.CONTACT_NOTE_PREFIX, limit)

    def conversation_notes(self, conv: Conversation, limit: int = 200) -> list[Note]:
        pk = keys.conversation_pk(conv.channel, conv.account_id, conv.contact_id, conv.thread_id)
        return contacts.notes(self, pk, keys.conversation_note_prefix(conv.id), limit)

    def contact_events(self, identity: Identity, limit: int = 200) -> list[ContactEvent]:
        return contacts.contact_events(self, identity, limit)

    # -- acknowledgements: a sent one's outcome is on its claim (issue 17, store/rules.py) ---------
    def messages(self, conv: Conversation) -> list[Message]:
        return rules.settle_acks(super().messages(conv), self._ack_claim)

    def get_message(
        self,
        channel: str,
        account_id: str,
        contact_id: str,
        platform_message_id: str,
        thread_id: str | None = None,
    ) -> Message | None:
        found = super().get_message(channel, account_id, contact_id, platform_message_id, thread_id)
        return None if found is None else rules.settle_acks([found], self._ack_claim)[0]

    def _ack_claim(self, conversation_id: str) -> dict[str, Any] | None:
        return surveys.get_claim(self, rules.ACK_CLAIM_KIND, conversation_id)

    # -- spike alerts (issue 17: store/spikes.py) -------------------------------------------------
    def count_volume(self, increment: VolumeIncrement) -> None:
        spikes.add_volume(self, increment)

    def bucket_volumes(self, bucket: str) -> dict[str, VolumeCount]:
        return spikes.bucket_volumes(self, bucket)

    def group_volumes(self, group: str, buckets: Sequence[str]) -> dict[str, VolumeCount]:
        return spikes.group_volumes(self, group, buckets)

    def active_spikes(self) -> list[dict[str, Any]]:
        return spikes.active_spikes(self)

    def claim_spike(self, group: str, attributes: dict[str, str], now: datetime) -> bool:
        return spikes.claim_spike(self, group, attributes, now)

    def mark_spike(self, group: str, **attributes: str) -> None:
        spikes.mark_spike(self, group, **attributes)

    def drop_spike(self, group: str) -> None:
        spikes.drop_spike(self, group)

    def recent_conversation_keys(
        self, channel: str, account_id: str, start: datetime, end: datetime, limit: int
    ) -> list[dict[str, Any]]:
        return spikes.recent_conversation_keys(self, channel, account_id, start, end, limit)

    # -- automation over time (issue 17) ---------------------------------------------------------
    def status_entries(
        self, partition: str, after: str | None, upto: str, stats: ReadStats
    ) -> list[StatusEntry]:
        return automation.status_entries(self, partition, after, upto, stats)

    def automation_cursors(self, stats: ReadStats) -> dict[str, dict[str, str]]:
        return automation.automation_cursors(self, stats)

    def put_automation_cursor(self, name: str, marks: dict[str, str], now: datetime) -> None:
        automation.put_automation_cursor(self, name, marks, now)

    def save_with_event_and_claim(
        self,
        conv: Conversation,
        event: ConversationEvent,
        claim: tuple[str, str],
        outcome: dict[str, str],
        keep: timedelta,
    ) -> Conversation:
        return automation.save_with_event_and_claim(self, conv, event, claim, outcome, keep)

    # -- erasure and export (issue 18) -----------------------------------------------------------
    def erase_contact(self, identity: Identity, tombstone: Tombstone) -> ErasureResult:
        return erasure.erase(erasure.DynamoItems(self), self, identity, tombstone)

    def export_contact(self, identity: Identity) -> dict[str, Any] | None:
        return erasure.export(erasure.DynamoItems(self), identity)

    def get_tombstone(self, channel: str, account_id: str, digest: str) -> Tombstone | None:
        return erasure.get_tombstone(erasure.DynamoItems(self), channel, account_id, digest)
