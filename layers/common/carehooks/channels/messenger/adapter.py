"""Messenger adapter: a Page webhook event → canonical events (pure)."""

from __future__ import annotations

from carehooks.channels.meta.messaging import parse_messaging
from carehooks.domain.models import CanonicalEvent, IgnoredEvent, QueuedEvent


def parse(event: QueuedEvent) -> list[CanonicalEvent]:
    """Messages, postbacks, echoes (incl. replies typed in Meta's inbox), deliveries and reads."""
    if event.payload.get("kind") == "change":
        field = (event.payload.get("change") or {}).get("field", "unknown")
        return [
            IgnoredEvent(channel=event.channel, kind=f"change:{field}", reason="Page changes not handled")
        ]
    return parse_messaging(event)
