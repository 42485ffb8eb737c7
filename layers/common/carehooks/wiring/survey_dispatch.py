"""SurveyDispatchFunction's composition: the surveys due now, sent through the channels."""

from __future__ import annotations

from carehooks import clock
from carehooks.surveys.dispatch import DispatchReport, default_sender, dispatch_surveys
from carehooks.wiring.config import load_config
from carehooks.wiring.store import get_store


def run_survey_dispatch() -> DispatchReport:
    """Send the surveys due now."""
    return dispatch_surveys(get_store(), clock.now(), load_config().surveys_in_force, default_sender())
