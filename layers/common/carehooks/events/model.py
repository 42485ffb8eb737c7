"""The domain event: a detail-type and its detail (``id``, ``occurred_at`` and the ids it concerns)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SOURCE = "carehooks"
# Every detail id is a UUID in this namespace, named by what made the event (see ``event_id``).
ID_NAMESPACE = uuid.UUID("5f0c2a4e-3b1d-5c8e-9a7f-0d6b4e2c1a93")


class DetailType(StrEnum):
    """The detail-types of design.md §3.1; each has a JSON Schema in ``docs/events/<detail-type>.json``."""

    CONVERSATION_CREATED = "conversation.created"
    MESSAGE_RECEIVED = "message.received"
    MESSAGE_SENT = "message.sent"
    CONVERSATION_ASSIGNED = "conversation.assigned"
    CONVERSATION_RESOLVED = "conversation.resolved"
    CONVERSATION_REOPENED = "conversation.reopened"
    SLA_WARNING = "sla.warning"
    SLA_BREACH = "sla.breach"
    SLA_ESCALATION = "sla.escalation"
    CSAT_RECEIVED = "csat.received"
    CONTACT_ERASED = "contact.erased"


@dataclass(frozen=True)
class DomainEvent:
    """One event as it goes on the bus (source :data:`SOURCE`)."""

    detail_type: DetailType
    detail: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.detail["id"])

    @property
    def occurred_at(self) -> str:
        return str(self.detail["occurred_at"])


def event_id(detail_type: DetailType, *parts: str) -> str:
    """A deterministic id: the same change, read from the stream any number of times, has one id."""
    return str(uuid.uuid5(ID_NAMESPACE, "|".join((str(detail_type), *parts))))
