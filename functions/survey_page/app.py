"""SurveyPageFunction: ``GET/POST /survey/{token}``, the signed CSAT link for customers.

Always answers a page, never a 500: unexpected failures become a 503 "try again later" page.
"""

from __future__ import annotations

from typing import Any

from carehooks.observability import logger, metrics
from carehooks.wiring.survey_page import survey_link


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return survey_link(event)
