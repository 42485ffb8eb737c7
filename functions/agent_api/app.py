"""AgentApiFunction: the agent API under /api (JWT-authorized conversations, replies, changes, reports)."""

from __future__ import annotations

from typing import Any

from carehooks.observability import logger, metrics
from carehooks.wiring.api import agent_api


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return agent_api(event, context)
