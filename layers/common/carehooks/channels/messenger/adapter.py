"""Messenger adapter: a Page webhook event → canonical events (pure)."""

from __future__ import annotations

from carehooks.channels.meta.comments import parse_change
from carehooks.channels.meta.messaging import parse_messaging
from carehooks.domain.models import CanonicalEvent, QueuedEvent


def parse(event: QueuedEvent) -> list[CanonicalEvent]:
    """Messages, postbacks, echoes (incl. replies typed in Meta's inbox), deliveries and reads; comments
    on the Page's posts (``feed`` changes, see :mod:`carehooks.channels.meta.comments`)."""
    if event.payload.get("kind") == "change":
        return parse_change(event)
    return parse_messaging(event)
