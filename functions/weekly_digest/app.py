"""WeeklyDigestFunction (Mondays): last week's figures and chart, emailed to operations once."""

from __future__ import annotations

from typing import Any

from carehooks.observability import logger, metrics
from carehooks.wiring.weekly_digest import run_weekly_digest


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcome = run_weekly_digest()
    return {"status": outcome.status, "week": outcome.period.start.date().isoformat()}
