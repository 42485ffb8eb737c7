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
    """Set (or remove) ``survey_due_pk`` / ``survey_due_at``, the keys of the BySurveyDue index."""
    due = survey_due_at(conv, survey_settings.survey_config())
    extra = dict(conv.extra)
    if due is None:
        extra.pop(keys.SURVEY_DUE_PK_ATTR, None)
        extra.pop(keys.SURVEY_DUE_SK_ATTR, None)
    else:
        extra[keys.SURVEY_DUE_PK_ATTR] = keys.SURVEY_DUE_PARTITION
        extra[keys.SURVEY_DUE_SK_ATTR] = keys.survey_due_sk(due, conv.id)
    return replace(conv, extra=extra)
