"""The survey deriver: a resolved conversation awaiting a survey carries a sparse due marker.

The store runs it on every conversation write (see :mod:`carehooks.domain.derived`), so the marker is
written in the same write as the resolution and removed in the same write as a reopening.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from carehooks.domain.models import Conversation
from carehooks.store import keys
from carehooks.surveys import config as survey_settings
from carehooks.surveys.policy import survey_due_at


def derive_survey_due(conv: Conversation, now: datetime) -> Conversation:
    """Set (or remove) ``survey_due_pk`` / ``survey_due_at``, the keys of the BySurveyDue index.

    Never raises: when the configuration cannot be read, the conversation is written with its marker
    as it was (a survey late or missed is better than a customer message lost).
    """
    try:
        config = survey_settings.survey_config()
    except Exception:
        from carehooks.observability import logger, metrics

        logger.exception("survey configuration unavailable; due marker left as it was")
        metrics.add_metric(name="SurveyDeriveErrors", unit="Count", value=1)
        return conv
    due = survey_due_at(conv, config)
    extra = dict(conv.extra)
    if due is None:
        extra.pop(keys.SURVEY_DUE_PK_ATTR, None)
        extra.pop(keys.SURVEY_DUE_SK_ATTR, None)
    else:
        extra[keys.SURVEY_DUE_PK_ATTR] = keys.SURVEY_DUE_PARTITION
        extra[keys.SURVEY_DUE_SK_ATTR] = keys.survey_due_sk(due, conv.id)
    return replace(conv, extra=extra)
