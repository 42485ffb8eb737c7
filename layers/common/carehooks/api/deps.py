"""What the routes work with: the store, the clock and the sender, injected (tests replace them).

Routes declare ``services: Annotated[Services, Depends(services)]``; tests set
``app.dependency_overrides[services] = lambda: Services(...)`` to use a fake sender or another table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from carehooks import clock
from carehooks.config.document import ConfigDocument
from carehooks.config.loader import load_config
from carehooks.domain.models import Conversation
from carehooks.outbound.models import OutboundMessage, SendResult
from carehooks.store import Store

Deliver = Callable[[Conversation, OutboundMessage, Store, datetime], SendResult]


@dataclass(frozen=True)
class Services:
    """The collaborators of the agent API's use cases."""

    store: Store
    now: Callable[[], datetime]
    deliver: Deliver
    config: Callable[[], ConfigDocument] = load_config


def _deliver(conv: Conversation, message: OutboundMessage, store: Store, now: datetime) -> SendResult:
    from carehooks.delivery.send import deliver

    return deliver(conv, message, store, now)


def services() -> Services:
    """Route dependency: the process's store, the one clock, and the channels' delivery."""
    from carehooks.wiring.store import get_store  # TEMPORARY until wiring/api.py

    return Services(store=get_store(), now=clock.now, deliver=_deliver)
