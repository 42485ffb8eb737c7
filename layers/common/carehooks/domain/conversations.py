"""How a message joins and changes its conversation: pure functions over domain data.

The inbound processor and the agent API decide with these; the store only writes what they return. A
message joins the customer's (or, for a public comment, the thread's) latest conversation unless that one
is resolved, in which case a customer message reopens it within the reopen window, answers it without
reopening (a survey rating: ``keeps_resolved``), belongs to it (written before the resolution), or starts
a new conversation.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ulid import ULID

from carehooks.clock import iso
from carehooks.domain import ledger
from carehooks.domain.models import (
    AUTOMATION_AUTHOR,
    PLATFORM_INBOX_AUTHOR,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    MessageEvent,
)

PREVIEW_CHARS = 140
ACK_KIND = "ack"  # the kind of an automatic acknowledgement's message
ACKNOWLEDGED = "acked"  # conversation attribute: an acknowledgement was sent in it

# (resolved conversation, customer message) -> the message answers it without reopening it.
KeepsResolved = Callable[[Conversation, MessageEvent], bool]
# Computes a conversation's derived attributes (due times, SLA state) before each write of it, at ``now``.
Deriver = Callable[[Conversation, datetime], Conversation]


def compose(*derivers: Deriver) -> Deriver:
    """One deriver running ``derivers`` in order (a later one sees what the earlier ones set)."""

    def derive(conv: Conversation, now: datetime) -> Conversation:
        for deriver in derivers:
            conv = deriver(conv, now)
        return conv

    return derive


@dataclass(frozen=True)
class Placement:
    """Where a new message goes: its conversation as it will be after the message, and how it got there.

    ``before`` is the conversation as read (None for a new one): the write is conditional on it.
    """

    conversation: Conversation
    message: Message
    before: Conversation | None
    new_conversation: bool = False
    reopened: bool = False
    previous_conversation: Conversation | None = None


@dataclass(frozen=True)
class RecordOutcome:
    """What storing one message did."""

    duplicate: bool
    conversation: Conversation | None = None
    message: Message | None = None
    new_conversation: bool = False
    reopened: bool = False
    previous_conversation: Conversation | None = None


@dataclass(frozen=True)
class StoredMessage:
    """A newly stored (or resumed) message, its conversation and platform event, at processing time ``now``:
    what every after-store step of the inbound processor receives."""

    event: MessageEvent
    outcome: RecordOutcome
    now: datetime


# An after-store step: must be idempotent (a retried record runs it again).
Step = Callable[[StoredMessage], None]


def new_conversation_id(at: datetime, seed: str | None = None) -> str:
    """Time-ordered, so a customer's latest conversation is the greatest sort key.

    With ``seed`` (what started the conversation), the id is the same each time: two attempts at storing
    the same first message (a redelivery racing the original) place it in the same conversation.
    """
    if seed is None:
        return str(ULID.from_timestamp(at.timestamp()))
    millis = int(at.timestamp() * 1000).to_bytes(6, "big")
    return str(ULID.from_bytes(millis + hashlib.blake2b(seed.encode(), digest_size=10).digest()))


def thread_of(event: MessageEvent) -> str | None:
    """The public thread whose partition the event's conversation lives in, if it is one per thread."""
    return event.thread_id if event.per_thread and event.thread_id else None


def place_of(event: MessageEvent) -> dict[str, Any]:
    """Where a public comment was written (post and its link), kept on its message and conversation."""
    return {
        name: value
        for name, value in (("post_id", event.post_id), ("permalink", event.permalink))
        if value is not None
    }


def is_response(author: str | None) -> bool:
    """A business message written by a person (never carehooks' own automation) answers the customer."""
    return bool(author) and author != AUTOMATION_AUTHOR


def echo_author(event: MessageEvent) -> str:
    """Who wrote a business message seen as an echo.

    Untagged: a person typing in the platform's own inbox. Tagged ``agent:…``: an agent's reply sent
    through the API whose echo won the race against its own store write (still a person's response).
    Any other tag: carehooks automation (acknowledgements, surveys), which never counts as a response.
    """
    if not event.origin_tag:
        return PLATFORM_INBOX_AUTHOR
    return "agent" if event.origin_tag.startswith("agent:") else AUTOMATION_AUTHOR


def thread(
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
    public_thread = thread_of(event)
    seed = "#".join((event.channel, event.account_id, event.contact_id, event.platform_message_id))
    conv = Conversation(
        # From the message, not the clock: its platform time is after the latest conversation's
        # resolution (else it joins that one), so the new id still sorts last.
        id=new_conversation_id(event.sent_at, seed=seed),
        channel=event.channel,
        account_id=event.account_id,
        contact_id=event.contact_id,
        created_at=now,
        status="open" if event.direction is Direction.IN else "pending",
        contact_name=event.contact_name,
        public=event.public,
        thread_id=public_thread,
        # A comment thread remembers what started it (a comment, or an Instagram mention).
        extra={**place_of(event), "thread_kind": event.kind} if public_thread else place_of(event),
    )
    return conv, True, False


def message_from_event(event: MessageEvent, conversation_id: str, now: datetime) -> Message:
    """The stored message of a platform event, in conversation ``conversation_id``, stored at ``now``."""
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
        author=None if event.direction is Direction.IN else echo_author(event),
        stored_at=now,
        thread_id=thread_of(event),
        extra=place_of(event),
    )


def apply_message(conv: Conversation, message: Message) -> Conversation:
    """Account for a message on its conversation. Times only move forward (platform-time order).

    The one exception is ``first_inbound_at``: the earliest customer message, also one that arrives late.
    """
    updated = replace(conv, tags=list(conv.tags), extra=dict(conv.extra))
    updated.message_count += 1
    updated.seq = conv.seq + 1
    updated.seq_msg = message_digest(message)
    updated.turn_at = turn(conv, message)
    ledger.after_message(conv, updated.extra, message)  # who did what, for team reports
    if updated.last_activity_at is None or message.sent_at > updated.last_activity_at:
        updated.last_activity_at = message.sent_at
    if message.direction is Direction.IN:
        if updated.first_inbound_at is None or message.sent_at < updated.first_inbound_at:
            updated.first_inbound_at = message.sent_at
        if updated.last_inbound_at is None or message.sent_at > updated.last_inbound_at:
            updated.last_inbound_at = message.sent_at
            if message.text:
                updated.preview = message.text[:PREVIEW_CHARS]
    else:
        if updated.last_outbound_at is None or message.sent_at > updated.last_outbound_at:
            updated.last_outbound_at = message.sent_at
        if message.kind == ACK_KIND:
            # The rules skip a later acknowledgement without asking the store (its claim stays the
            # authority when two messages race).
            updated.extra[ACKNOWLEDGED] = True
        if is_response(message.author):
            if updated.first_response_at is None:
                # Automatic acknowledgements never count as a response; a person's reply does.
                updated.first_response_at = message.sent_at
                updated.first_responder = message.author
            updated.last_responder = message.author
            if updated.last_response_at is None or message.sent_at > updated.last_response_at:
                updated.last_response_at = message.sent_at
    updated.status = waiting_status(updated, message)
    return updated


def waiting_status(conv: Conversation, message: Message) -> ConversationStatus:
    """Who the conversation waits on once ``message`` is accounted (issue 17): a person's reply to an open
    conversation makes it ``pending`` (waiting on the customer); the customer's next message makes a
    pending one ``open`` again. A late (reordered) message that is not the newest of its side, automatic
    messages, and resolved conversations leave the status as it is."""
    newest_reply = (
        message.direction is Direction.OUT
        and is_response(message.author)
        and message.sent_at == conv.last_response_at
        and (conv.last_inbound_at is None or conv.last_inbound_at <= message.sent_at)
    )
    if conv.status == "open" and newest_reply:
        return "pending"
    newest_inbound = (
        message.direction is Direction.IN
        and message.sent_at == conv.last_inbound_at
        and (conv.last_response_at is None or conv.last_response_at < message.sent_at)
    )
    if conv.status == "pending" and newest_inbound:
        return "open"
    return conv.status


def message_digest(message: Message) -> str:
    """A short digest of a message's platform id: recorded on the conversation with the ``seq`` it made."""
    digest = hashlib.blake2b(message.platform_message_id.encode(), digest_size=6).digest()
    return base64.urlsafe_b64encode(digest).decode()


def turn(conv: Conversation, message: Message) -> datetime:
    """When ``conv`` last changed hands once ``message`` is accounted (lists sort by it).

    The hands change when the customer writes after a person's reply (they wait again), and when a person
    replies to a waiting customer. A follow-up on the same side, an automatic message, and a late
    (reordered) message leave it; so a busy conversation moves its list sort key once per exchange.
    """
    current = conv.turn_at
    if current is None:  # the first message
        return message.sent_at
    if message.sent_at <= current:
        return current
    if message.direction is Direction.IN:
        answered = conv.last_response_at is not None and (
            conv.last_inbound_at is None or conv.last_inbound_at <= conv.last_response_at
        )
        return message.sent_at if answered else current
    if is_response(message.author):
        waiting = conv.last_inbound_at is not None and (
            conv.last_response_at is None or conv.last_response_at < conv.last_inbound_at
        )
        return message.sent_at if waiting else current
    return current


def place_message(
    event: MessageEvent,
    latest: Conversation | None,
    now: datetime,
    reopen_window: timedelta,
    keeps_resolved: KeepsResolved | None = None,
) -> Placement:
    """Thread a platform message and account for it (pure): what the store is then asked to write."""
    conv, is_new, reopened = thread(event, latest, now, reopen_window, keeps_resolved)
    message = message_from_event(event, conv.id, now)
    placed = apply_message(conv, message)
    if reopened:
        # A reopened conversation comes back to the top of its list.
        placed.turn_at = max(message.sent_at, placed.turn_at or message.sent_at)
    return Placement(
        conversation=placed,
        message=message,
        before=None if is_new else latest,
        new_conversation=is_new,
        reopened=reopened,
        previous_conversation=latest if is_new else None,
    )


def started_at(conv: Conversation) -> datetime:
    """When the customer started waiting: the first inbound message, else the conversation's creation."""
    return conv.first_inbound_at or conv.created_at
