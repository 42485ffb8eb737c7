"""What a send asks for and what it returns, and the one error taxonomy of every channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SendKind = Literal["ack", "agent_reply", "survey", "rule_reply", "public_reply", "private_reply", "closing"]
AttachmentType = Literal["image", "file"]


@dataclass(frozen=True)
class Choice:
    """A tappable answer (quick reply, reply button, inline keyboard button)."""

    id: str
    title: str


@dataclass(frozen=True)
class TemplateRef:
    """An approved template for sends outside the messaging window (WhatsApp name / Twilio ContentSid)."""

    name: str
    language: str = "en_US"
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True)
class MediaAttachment:
    """A file sent by URL: the platform fetches it (carehooks never downloads it).

    ``type`` is ``image`` (shown inline) or ``file`` (a document the customer downloads).
    """

    url: str
    type: AttachmentType = "image"


@dataclass(frozen=True)
class OutboundMessage:
    """A message carehooks wants to send in a conversation.

    ``author`` is ``"carehooks"`` for automation, or the agent's id for a person's reply (only a
    person's reply may use Messenger/Instagram's HUMAN_AGENT tag, and only a person's reply counts as
    a response for SLA and first-response time). ``origin_tag`` is echoed back by the platform so the
    echo is recognised as ours. ``attachments`` are files sent by URL with (or instead of) the text;
    :func:`carehooks.outbound.media.split` turns them into the platform messages a channel can carry.
    """

    text: str
    kind: SendKind
    author: str = "carehooks"
    origin_tag: str | None = None
    choices: tuple[Choice, ...] = ()
    template: TemplateRef | None = None
    reply_to: str | None = None
    attachments: tuple[MediaAttachment, ...] = ()
    # Recorded on the stored outbound message (e.g. ``saved_reply_id``); never sent to the platform.
    attributes: dict[str, str] = field(default_factory=dict)


SendStatus = Literal["sent", "skipped", "failed"]


@dataclass(frozen=True)
class SendResult:
    """The outcome of one send. ``reason`` is readable (never a bare platform code).

    ``part_ids``: a message that went out as several platform messages (attachments on a platform
    that takes one per message) lists each one's id, in order; ``platform_message_id`` is the first.
    When a later part fails, the result is ``failed`` and ``part_ids`` lists the parts that went out.
    """

    status: SendStatus
    platform_message_id: str | None = None
    reason: str | None = None
    error_class: str | None = None
    retryable: bool = False
    details: dict[str, str] = field(default_factory=dict)
    part_ids: tuple[str, ...] = ()


class SendError(Exception):
    """A send failed. Subclasses say whether retrying can help."""

    retryable = False
    error_class = "permanent"

    def __init__(self, reason: str, platform_code: str | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.platform_code = platform_code
        self.retry_after = retry_after


class OutsideWindowError(SendError):
    error_class = "outside_window"


class RecipientUnreachableError(SendError):
    error_class = "recipient_unreachable"


class AuthConfigError(SendError):
    error_class = "auth_config"


class RateLimitedError(SendError):
    retryable = True
    error_class = "rate_limited"


class TransientError(SendError):
    retryable = True
    error_class = "transient"


class PermanentError(SendError):
    error_class = "permanent"


class OutcomeUnknownError(SendError):
    """The request reached the platform, and its answer was lost (a read timeout, a dropped connection).

    The platform may have accepted the message. Not retryable: a sender that must send at most once
    keeps its claim and records the outcome as unknown instead of sending it a second time.
    """

    error_class = "unknown"
