"""SlaMonitorFunction (every minute): email the SLA warnings, breaches and escalations that fell due, once each."""

from __future__ import annotations

from typing import Any

from carehooks.observability import logger, metrics
from carehooks.wiring.sla_monitor import run_sla_monitor


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = run_sla_monitor(run_id=getattr(context, "aws_request_id", None))
    logger.info("SLA monitor run", extra=result.as_dict())
    return result.as_dict()
