"""What use cases ask of a store: the :class:`Store` protocol.

Two implementations: :class:`carehooks.store.dynamo.DynamoStore` (the single DynamoDB table) and
:class:`carehooks.store.memory.MemoryStore` (in memory, with the same conditional-write semantics: the unit
tests' store). Use cases, edges and the composition point type against this protocol only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from carehooks.domain.conversations import Deriver, Placement, RecordOutcome
from carehooks.domain.models import (
    Channel,
    CommentChangeEvent,
    Conversation,
    Message,
    MessageEvent,
    StatusEvent,
)
from carehooks.store.automation import StatusEntry
from carehooks.store.contacts import Contact, ContactEvent, Identity, Note
from carehooks.store.erasure import ErasureResult, Tombstone
from carehooks.store.events import ConversationEvent
from carehooks.store.queries import ConversationFilter, Order, Page
from carehooks.store.saved_replies import SavedReply, SavedReplyFilter, SavedReplyPage
from carehooks.store.sends import SendAttempt
from carehooks.store.sla import PolicyMarker, ReadStats
from carehooks.store.spikes import VolumeCount, VolumeIncrement


class Store(Protocol):
    """Conversations, messages, events, claims and the due work of one deployment."""

    table_name: str
    derive: Deriver

    # -- conversations and messages --------------------------------------------------------------
    def latest_conversation(
        self, channel: str, account_id: str, contact_id: str, thread_id: str | None = None
    ) -> Conversation | None: ...

    def contact_conversations(
        self, channel: str, account_id: str, contact_id: str, limit: int = 50
    ) -> list[Conversation]: ...

    def get_conversation(self, conversation_id: str) -> Conversation | None: ...

    def save_conversation(self, conv: Conversation) -> Conversation: ...

    def messages(self, conv: Conversation) -> list[Message]: ...

    def get_message(
        self,
        channel: str,
        account_id: str,
        contact_id: str,
        platform_message_id: str,
        thread_id: str | None = None,
    ) -> Message | None: ...

    def record_message(
        self,
        event: MessageEvent,
        place: Callable[[Conversation | None], Placement],
        now: datetime,
        decide: Callable[[Placement], Placement] | None = None,
    ) -> RecordOutcome: ...

    def put_message_item(self, message: Message, replacing: Message | None = None) -> Message | None: ...

    def remove_message_item(self, message: Message) -> None: ...

    def messages_with_seq_after(self, message: Message, window: int) -> list[Message]: ...

    def record_run(
        self,
        events: Sequence[MessageEvent],
        place: Callable[[MessageEvent, Conversation | None], Placement],
        now: datetime,
        decide: Callable[[Placement], Placement] | None = None,
    ) -> list[RecordOutcome] | None: ...

    def put_outbound_message(self, conv: Conversation, message: Message) -> Conversation | None: ...

    def apply_status(self, event: StatusEvent) -> bool: ...

    # -- side-effect claims ----------------------------------------------------------------------
    def claim(
        self,
        kind: str,
        scope: str,
        now: datetime,
        ttl: timedelta,
        owner: str = "",
        *,
        reentrant: bool = False,
    ) -> bool: ...

    def begin_send(self, kind: str, scope: str, owner: str = "") -> bool: ...

    def cancel_send(self, kind: str, scope: str, owner: str = "") -> None: ...

    def release_claim(self, kind: str, scope: str) -> None: ...

    def mark_claim(self, kind: str, scope: str, **attributes: str) -> None: ...

    def get_claim(self, kind: str, scope: str) -> dict[str, Any] | None: ...

    def claim_exists(self, kind: str, scope: str) -> bool: ...

    # -- conversation events and agent lists -----------------------------------------------------
    def save_with_event(self, conv: Conversation, event: ConversationEvent) -> Conversation: ...

    def conversation_events(self, conv: Conversation, limit: int = 200) -> list[ConversationEvent]: ...

    def list_conversations(
        self,
        flt: ConversationFilter,
        limit: int = 25,
        cursor: str | None = None,
        order: Order = "desc",
        read_budget: int = ...,
    ) -> Page: ...

    # -- rules -----------------------------------------------------------------------------------
    def record_decision(
        self,
        message: Message,
        apply: Callable[[Conversation], Conversation | None],
        decision: dict[str, Any],
        now: datetime,
    ) -> Conversation: ...

    def set_decision_part(self, message: Message, part: str, outcome: dict[str, Any]) -> None: ...

    def active_conversation_keys(self, since: datetime) -> Iterator[tuple[str, str]]: ...

    def partition_conversations(self, pk: str) -> list[Conversation]: ...

    def messages_since(self, pk: str, conversation_id: str, since: datetime) -> list[Message]: ...

    # -- send log, surveys, reports --------------------------------------------------------------
    def record_attempt(self, attempt: SendAttempt) -> None: ...

    def attempts(self, conversation_id: str, limit: int = 50) -> list[SendAttempt]: ...

    def due_survey_keys(self, now: datetime, limit: int = 100) -> list[tuple[str, str]]: ...

    def due_survey_markers(self, partition: str, now: datetime, limit: int) -> list[tuple[str, str, str]]: ...

    def conversation_at(self, pk: str, sk: str) -> Conversation | None: ...

    def conversations_created(self, start: datetime, end: datetime) -> Iterator[Conversation]: ...

    # -- public comment threads ------------------------------------------------------------------
    def comment(
        self, channel: Channel, account_id: str, thread_id: str, comment_id: str
    ) -> Message | None: ...

    def apply_change(self, event: CommentChangeEvent) -> Message | None: ...

    def set_hidden(self, message: Message, hidden: bool, by: str, at: datetime) -> None: ...

    def open_private_conversation(
        self, public_conversation: Conversation, contact_id: str, now: datetime
    ) -> Conversation: ...

    # -- SLA monitor (keys are opaque: what the store gave, handed back) --------------------------
    def due_conversation_keys(self, shard: int, now: datetime, stats: ReadStats) -> list[dict[str, Any]]: ...

    def get_conversations(self, item_keys: list[dict[str, Any]], stats: ReadStats) -> list[Conversation]: ...

    def alert_was_sent(self, scope: str, stats: ReadStats) -> bool: ...

    def mark_alert_sent(self, scope: str, message_id: str, now: datetime, keep: timedelta) -> None: ...

    def get_policy_marker(self, stats: ReadStats) -> PolicyMarker | None: ...

    def put_policy_marker(self, marker: PolicyMarker, now: datetime) -> None: ...

    def status_page(
        self, status: str, cursor: dict[str, Any] | None, limit: int, stats: ReadStats
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...

    # -- saved replies (the team's library; store/saved_replies.py) --------------------------------
    def create_saved_reply(self, reply: SavedReply) -> SavedReply: ...

    def get_saved_reply(self, reply_id: str) -> SavedReply | None: ...

    def update_saved_reply(self, reply: SavedReply, previous: SavedReply) -> SavedReply: ...

    def delete_saved_reply(self, previous: SavedReply) -> None: ...

    def list_saved_replies(
        self, flt: SavedReplyFilter, limit: int = 25, cursor: str | None = None
    ) -> SavedReplyPage: ...

    def record_saved_reply_use(self, reply_id: str, at: datetime) -> None: ...

    # -- contacts and notes (issue 16: store/contacts.py) -----------------------------------------
    def get_contact(self, identity: Identity) -> Contact | None: ...

    def linked_identities(self, channel: str, account_id: str, contact_id: str) -> list[Identity]: ...

    def save_contacts(
        self, items: Sequence[Contact], events: Sequence[ContactEvent] = ()
    ) -> list[Contact]: ...

    def add_contact_note(self, note: Note, event: ContactEvent) -> None: ...

    def add_conversation_note(self, conv: Conversation, note: Note, event: ConversationEvent) -> None: ...

    def delete_contact_note(self, note: Note, event: ContactEvent) -> bool: ...

    def contact_notes(self, identity: Identity, limit: int = 200) -> list[Note]: ...

    def conversation_notes(self, conv: Conversation, limit: int = 200) -> list[Note]: ...

    def contact_events(self, identity: Identity, limit: int = 200) -> list[ContactEvent]: ...

    # -- spike alerts (issue 17: store/spikes.py) -------------------------------------------------
    def count_volume(self, increment: VolumeIncrement) -> None: ...

    def bucket_volumes(self, bucket: str) -> dict[str, VolumeCount]: ...

    def group_volumes(self, group: str, buckets: Sequence[str]) -> dict[str, VolumeCount]: ...

    def active_spikes(self) -> list[dict[str, Any]]: ...

    def claim_spike(self, group: str, attributes: dict[str, str], now: datetime) -> bool: ...

    def mark_spike(self, group: str, **attributes: str) -> None: ...

    def drop_spike(self, group: str) -> None: ...

    def recent_conversation_keys(
        self, channel: str, account_id: str, start: datetime, end: datetime, limit: int
    ) -> list[dict[str, Any]]: ...

    # -- automation over time (issue 17: store/automation.py) ---------------------------------------
    def status_entries(
        self, partition: str, after: str | None, upto: str, stats: ReadStats
    ) -> list[StatusEntry]: ...

    def automation_cursors(self, stats: ReadStats) -> dict[str, dict[str, str]]: ...

    def put_automation_cursor(self, name: str, marks: dict[str, str], now: datetime) -> None: ...

    def save_with_event_and_claim(
        self,
        conv: Conversation,
        event: ConversationEvent,
        claim: tuple[str, str],
        outcome: dict[str, str],
        keep: timedelta,
    ) -> Conversation: ...

    # -- erasure and export (issue 18: store/erasure.py) -----------------------------------------
    def erase_contact(self, identity: Identity, tombstone: Tombstone) -> ErasureResult: ...

    def export_contact(self, identity: Identity) -> dict[str, Any] | None: ...

    def get_tombstone(self, channel: str, account_id: str, digest: str) -> Tombstone | None: ...
