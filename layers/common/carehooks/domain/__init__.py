"""Canonical models shared by every channel: channels, events, conversations and messages."""

from carehooks.domain.models import (
    Attachment,
    Channel,
    Conversation,
    Direction,
    IgnoredEvent,
    Message,
    MessageEvent,
    QueuedEvent,
    StatusEvent,
)

__all__ = [
    "Attachment",
    "Channel",
    "Conversation",
    "Direction",
    "IgnoredEvent",
    "Message",
    "MessageEvent",
    "QueuedEvent",
    "StatusEvent",
]
