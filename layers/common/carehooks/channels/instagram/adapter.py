"""Instagram adapter: messaging events → canonical events (pure).

Differences from Messenger live in the shared parser's checks: ``is_self`` test messages and
``is_deleted`` are ignored, reads come from ``messaging_seen`` with a ``read.mid``, and echoes arrive on
the ``messages`` subscription with ``is_echo``. Comments and mentions (``changes``) are public
conversations (:mod:`carehooks.channels.meta.comments`).
"""

from __future__ import annotations

from carehooks.channels.meta.comments import parse_change
from carehooks.channels.meta.messaging import parse_messaging
from carehooks.domain.models import CanonicalEvent, QueuedEvent


def parse(event: QueuedEvent) -> list[CanonicalEvent]:
    """Messaging events, and comment / mention changes."""
    if event.payload.get("kind") == "change":
        return parse_change(event)
    return parse_messaging(event)
