"""What the routes work with: the store, the clock and the sender, injected (tests replace them).

Routes declare ``services: Annotated[Services, Depends(services)]``; tests set
``app.dependency_overrides[services] = lambda: Services(...)`` to use a fake sender or another table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from carehooks.config.document import ConfigDocument
from carehooks.config.loader import load_config
from carehooks.domain.models import Conversation
from carehooks.outbound.models import OutboundMessage, SendResult
from carehooks.outbound.public_urls import Resolver, resolve_host
from carehooks.store import Store

Deliver = Callable[[Conversation, OutboundMessage, Store, datetime], SendResult]


@dataclass(frozen=True)
class Services:
    """The collaborators of the agent API's use cases."""

    store: Store
    now: Callable[[], datetime]
    deliver: Deliver
    config: Callable[[], ConfigDocument] = load_config
    # Attachments: the name lookup behind the public-address check (tests inject one; no network).
    resolve: Resolver = resolve_host


_provider: Callable[[], Services] | None = None


def provide(factory: Callable[[], Services]) -> None:
    """Install the process's services (the composition point, :mod:`carehooks.wiring.api`, does)."""
    global _provider
    _provider = factory


def services() -> Services:
    """Route dependency: the process's store, the one clock, the channels' delivery and the configuration."""
    if _provider is None:
        raise RuntimeError("the agent API is not wired: import carehooks.wiring.api")
    return _provider()
