"""WeeklyDigestFunction (Mondays): last week's figures and chart, emailed to operations once."""

from __future__ import annotations

from typing import Any

from carehooks import clock
from carehooks.config.settings import settings
from carehooks.observability import logger, metrics
from carehooks.reports.digest import ops_recipients, send_weekly_digest, ses_mailer
from carehooks.reports.service import business_calendar
from carehooks.store import get_store


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcome = send_weekly_digest(
        get_store(),
        clock.now(),
        ops_recipients(),
        ses_mailer,
        settings().mail_from,
        business_calendar(),
    )
    return {"status": outcome.status, "week": outcome.period.start.date().isoformat()}
