"""ChannelHealthFunction (scheduled): are the Meta webhook subscriptions still active? Email ops if not."""

from __future__ import annotations

from typing import Any

from carehooks import clock
from carehooks.observability import logger, metrics
from carehooks.reports.channel_health import check_channels
from carehooks.store import get_store


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = check_channels(get_store(), clock.now())
    return {"checked": len(report.checks), "problems": len(report.problems), "alerted": report.alerted}
