"""AgentApiFunction: the agent API under /api (JWT-authorized conversations, replies, changes, reports)."""

from __future__ import annotations

from typing import Any

from carehooks.api.app import handle
from carehooks.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context)
