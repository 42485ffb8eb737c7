"""The survey deriver: a resolved conversation awaiting a survey carries its due time.

The store runs it on every conversation write (the composition point gives it to the store), so the due
marker is written in the same write as the resolution and removed in the same write as a reopening.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from carehooks.config.surveys import SurveyConfig
from carehooks.domain.conversations import Deriver
from carehooks.domain.models import Conversation
from carehooks.observability import logger, metrics
from carehooks.surveys.policy import survey_due_at


def survey_deriver(surveys: Callable[[], SurveyConfig]) -> Deriver:
    """The deriver of ``Conversation.survey_due_at``, with the survey settings in force (``surveys()``)."""

    def derive_survey_due(conv: Conversation, now: datetime) -> Conversation:
        """Never raises: when the configuration cannot be read, the conversation is written with its
        due time as it was (a survey late or missed is better than a customer message lost)."""
        try:
            config = surveys()
        except Exception:
            logger.exception("survey configuration unavailable; due marker left as it was")
            metrics.add_metric(name="SurveyDeriveErrors", unit="Count", value=1)
            return conv
        return replace(conv, survey_due_at=survey_due_at(conv, config))

    return derive_survey_due
