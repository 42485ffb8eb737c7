"""SurveyDispatchFunction (every minute): send the CSAT surveys that are due, each exactly once."""

from __future__ import annotations

from typing import Any

from carehooks.observability import logger, metrics
from carehooks.wiring.survey_dispatch import run_survey_dispatch


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_survey_dispatch().as_dict()
