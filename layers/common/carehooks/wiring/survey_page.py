"""Composition of SurveyPageFunction: the survey link with its configuration, store, key and clock."""

from __future__ import annotations

from typing import Any

from carehooks import clock
from carehooks.config.surveys import SurveyConfig
from carehooks.surveys.page import answer_link
from carehooks.surveys.token import signing_key
from carehooks.wiring.config import load_config
from carehooks.wiring.store import get_store


def survey_config() -> SurveyConfig:
    """The surveys section of the configuration document in force."""
    return load_config().surveys_in_force


def survey_link(event: dict[str, Any]) -> dict[str, Any]:
    """Answer one request to ``/survey/{token}`` (always a page, never a 500)."""
    return answer_link(event, survey_config, get_store, signing_key, clock.now)
