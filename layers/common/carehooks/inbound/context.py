"""What every after-store step receives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from carehooks.domain.models import MessageEvent
from carehooks.store import RecordOutcome, Store


@dataclass(frozen=True)
class InboundContext:
    """A newly stored (not duplicate) message and its conversation, at processing time ``now``."""

    store: Store
    now: datetime
    event: MessageEvent
    outcome: RecordOutcome
