"""SurveyDispatchFunction (every minute): send the CSAT surveys that are due, each exactly once."""

from __future__ import annotations

from typing import Any

from carehooks import clock
from carehooks.observability import logger, metrics
from carehooks.store import get_store
from carehooks.surveys.config import survey_config
from carehooks.surveys.dispatch import default_sender, dispatch_surveys


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = dispatch_surveys(get_store(), clock.now(), survey_config(), default_sender())
    return report.as_dict()
