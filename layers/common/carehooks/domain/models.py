"""Canonical models.

``QueuedEvent`` crosses a boundary (the inbound queue), so it is a pydantic model. The canonical events
an adapter returns, and the conversation and message records, are plain frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class Channel(StrEnum):
    """Where a conversation happens. Twilio SMS and WhatsApp-via-Twilio are distinct channels."""

    MESSENGER = "messenger"
    INSTAGRAM = "instagram"
    WHATSAPP = "whatsapp"
    X = "x"
    TELEGRAM = "telegram"
    SMS = "sms"
    TWILIO_WHATSAPP = "twilio_whatsapp"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


# Who wrote a business message: carehooks' own automation (acknowledgements, surveys, closing messages),
# which never counts as a person's response, or a person typing in the platform's own inbox.
AUTOMATION_AUTHOR = "carehooks"
PLATFORM_INBOX_AUTHOR = "platform-inbox"


Source = Literal["meta", "x", "telegram", "twilio"]


class QueuedEvent(BaseModel):
    """One platform event as the webhook enqueues it: the raw slice of the batch plus routing keys."""

    model_config = ConfigDict(frozen=True)

    v: int = 1
    source: Source
    channel: Channel
    account_id: str
    contact_id: str
    event_id: str
    received_at: datetime
    position: int = 0
    payload: dict[str, Any]
    thread_id: str | None = None  # a public comment thread: its events are ordered per thread

    @property
    def group_id(self) -> str:
        """FIFO group: one customer on one business account of one channel is processed in order.

        Public comments are grouped by their thread instead (several people write in one thread, and
        the thread is one conversation), so a thread's comments, edits and removals stay in order.
        """
        if self.thread_id:
            return f"{self.channel}#{self.account_id}#thread:{self.thread_id}"
        return f"{self.channel}#{self.account_id}#{self.contact_id}"


@dataclass(frozen=True)
class Attachment:
    kind: str
    url: str | None = None
    media_id: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True)
class MessageEvent:
    """A message in a conversation: from the customer (``in``) or from the business (``out``, an echo).

    ``origin_tag`` is the marker carehooks attached when it sent the message itself (Messenger
    ``metadata``, WhatsApp ``biz_opaque_callback_data``); an echo without one was typed by a person in
    the platform's own inbox.

    ``per_thread`` marks a public comment (Facebook Page, Instagram): its conversation is the comment
    thread ``thread_id`` (the top-level comment), whoever writes in it, not the author's conversation.
    ``post_id`` and ``permalink`` say where the thread is.
    """

    channel: Channel
    account_id: str
    contact_id: str
    platform_message_id: str
    sent_at: datetime
    direction: Direction
    text: str = ""
    kind: str = "text"
    attachments: tuple[Attachment, ...] = ()
    reply_payload: str | None = None
    origin_tag: str | None = None
    contact_name: str | None = None
    public: bool = False
    thread_id: str | None = None
    reply_to: str | None = None
    position: int = 0
    standby: bool = False  # a thread another app owns (Meta handover): stored, never auto-answered
    per_thread: bool = False
    post_id: str | None = None
    permalink: str | None = None


CommentChange = Literal["edited", "removed", "hidden", "unhidden"]


@dataclass(frozen=True)
class CommentChangeEvent:
    """A public comment already seen changed: its author edited or removed it, or the Page hid it.

    ``text`` is the new text of an edit. ``fallback`` is the comment as a message, stored instead when
    the original was never received (an edit of a comment from before the subscription).
    """

    channel: Channel
    account_id: str
    thread_id: str
    platform_message_id: str
    change: CommentChange
    at: datetime
    text: str | None = None
    fallback: MessageEvent | None = None


@dataclass(frozen=True)
class StatusEvent:
    """A delivery, read or failure report about messages already sent."""

    channel: Channel
    account_id: str
    contact_id: str
    status: str
    at: datetime
    platform_message_id: str | None = None
    watermark: datetime | None = None
    error_code: str | None = None
    error_title: str | None = None


@dataclass(frozen=True)
class IgnoredEvent:
    """An event carehooks does not handle (yet): recorded with a metric, never an error."""

    channel: Channel
    kind: str
    reason: str


type CanonicalEvent = MessageEvent | StatusEvent | IgnoredEvent | CommentChangeEvent


class MalformedEventError(ValueError):
    """A queued record that can never be processed: parked in the DLQ at once with its reason.

    ``code`` is what operators see (the DLQ message's ``ErrorCode``); the message must be short and
    carry no customer text and no secret (it becomes ``ErrorMessage``).
    """

    code = "malformed_record"


class AdapterError(MalformedEventError):
    """A signed payload an adapter cannot understand (raised by the adapter itself)."""

    code = "malformed_payload"


ConversationStatus = Literal["open", "pending", "resolved"]


@dataclass
class Conversation:
    """One conversation between a business account and a customer on one channel."""

    id: str
    channel: Channel
    account_id: str
    contact_id: str
    created_at: datetime
    status: ConversationStatus = "open"
    tags: list[str] = field(default_factory=list)
    priority: str = "normal"
    assignee: str | None = None
    contact_name: str | None = None
    public: bool = False
    last_activity_at: datetime | None = None
    last_inbound_at: datetime | None = None
    last_outbound_at: datetime | None = None
    first_response_at: datetime | None = None
    first_responder: str | None = None
    last_responder: str | None = None
    last_response_at: datetime | None = None  # a person's latest reply (never an automatic one)
    resolved_at: datetime | None = None
    # The platform time of the earliest customer message seen (a late one too): when the customer
    # started waiting, from which first response and resolution are measured.
    first_inbound_at: datetime | None = None
    # Derived on every write by the functions the store is given (see ``Store``'s ``derive``): when the
    # survey and the next SLA rung are due (None: nothing due), and the SLA state lists filter on.
    survey_due_at: datetime | None = None
    sla_due_at: datetime | None = None
    sla_state: str = "none"
    message_count: int = 0
    preview: str = ""
    csat: dict[str, Any] | None = None
    version: int = 0
    # Set when the conversation is one public comment thread: it and its messages live in the thread's
    # partition, not the customer's (see ``store/keys.py``).
    thread_id: str | None = None
    # When the conversation last changed hands: the customer's first message since the last reply, or
    # the reply (lists sort by it; a follow-up does not move it). Data model v1: the last activity.
    turn_at: datetime | None = None
    # How many messages have been accounted on it; each stored message records the count it made (its
    # ``seq``), so a retried record knows whether its message was accounted (``store.table``).
    seq: int = 0
    seq_msg: str = ""  # the digest of the message that made ``seq`` (domain.conversations.message_digest)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Message:
    """A stored message."""

    conversation_id: str
    channel: Channel
    account_id: str
    contact_id: str
    platform_message_id: str
    direction: Direction
    sent_at: datetime
    text: str = ""
    kind: str = "text"
    attachments: list[dict[str, Any]] = field(default_factory=list)
    reply_payload: str | None = None
    origin_tag: str | None = None
    author: str | None = None
    status: str | None = None
    stored_at: datetime | None = None
    thread_id: str | None = None  # as its conversation's (public comment threads)
    seq: int = 0  # its conversation's ``seq`` once it was accounted (0: data model v1)
    extra: dict[str, Any] = field(default_factory=dict)
