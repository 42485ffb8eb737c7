"""The report deriver: every conversation carries its creation day (the ByDay index) and its start.

``first_inbound_at`` is the platform time of the earliest customer message seen on the conversation: the
moment the customer started waiting, from which first response and resolution times are measured.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from carehooks.clock import iso, parse_iso
from carehooks.domain.models import Conversation
from carehooks.store import keys

FIRST_INBOUND_ATTR = "first_inbound_at"


def derive_report_day(conv: Conversation, now: datetime) -> Conversation:
    """Set ``day_pk`` / ``day_sk`` (ByDay) and keep ``first_inbound_at`` at the earliest inbound time."""
    extra = dict(conv.extra)
    extra[keys.DAY_PK_ATTR] = keys.day_pk(conv.created_at.astimezone(UTC).date())
    extra[keys.DAY_SK_ATTR] = keys.day_sk(conv.created_at, conv.id)
    if conv.last_inbound_at is not None:
        known = extra.get(FIRST_INBOUND_ATTR)
        if not isinstance(known, str) or conv.last_inbound_at < parse_iso(known):
            extra[FIRST_INBOUND_ATTR] = iso(conv.last_inbound_at)
    return replace(conv, extra=extra)


def started_at(conv: Conversation) -> datetime:
    """When the customer started waiting: the first inbound message, else the conversation's creation."""
    known = conv.extra.get(FIRST_INBOUND_ATTR)
    if isinstance(known, str):
        return parse_iso(known)
    return conv.created_at
