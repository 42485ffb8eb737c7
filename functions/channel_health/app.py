"""ChannelHealthFunction (scheduled): are the Meta webhook subscriptions still active? Email ops if not."""

from __future__ import annotations

from typing import Any

from carehooks.observability import logger, metrics
from carehooks.wiring.channel_health import run_channel_health


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = run_channel_health()
    return {"checked": len(report.checks), "problems": len(report.problems), "alerted": report.alerted}
