"""AutomationFunction (every minute): auto-resolve stale conversations and run the assignee timer, once each."""

from __future__ import annotations

from typing import Any

from carehooks.observability import logger, metrics
from carehooks.wiring.automation import run_automation_once


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = run_automation_once()
    logger.info("automation run", extra=result.as_dict())
    return result.as_dict()
