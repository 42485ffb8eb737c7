"""Composition of AgentApiFunction: the agent API's routes with the process's store, clock, delivery and
configuration."""

from __future__ import annotations

from typing import Any

from carehooks import clock
from carehooks.api import deps
from carehooks.api.app import handle
from carehooks.delivery.send import deliver
from carehooks.wiring.config import load_config
from carehooks.wiring.store import get_store


def services() -> deps.Services:
    """What every route works with: the store on the function's table, the one clock, the channels'
    delivery, and the configuration document in force."""
    return deps.Services(store=get_store(), now=clock.now, deliver=deliver, config=load_config)


deps.provide(services)


def agent_api(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer one agent API request."""
    return handle(event, context)
