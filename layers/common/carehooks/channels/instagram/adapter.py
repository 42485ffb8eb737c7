"""Instagram adapter: messaging events → canonical events (pure).

Differences from Messenger live in the shared parser's checks: ``is_self`` test messages and
``is_deleted`` are ignored, reads come from ``messaging_seen`` with a ``read.mid``, and echoes arrive on
the ``messages`` subscription with ``is_echo``.
"""

from __future__ import annotations

from carehooks.channels.meta.messaging import parse_messaging
from carehooks.domain.models import CanonicalEvent, IgnoredEvent, QueuedEvent


def parse(event: QueuedEvent) -> list[CanonicalEvent]:
    if event.payload.get("kind") == "change":
        field = (event.payload.get("change") or {}).get("field", "unknown")
        return [
            IgnoredEvent(
                channel=event.channel, kind=f"change:{field}", reason="Instagram changes not handled"
            )
        ]
    return parse_messaging(event)
