"""Attributes derived from a conversation's state, recomputed on every write of the conversation.

The store calls :func:`derive` before it writes a conversation, so due times (SLA, surveys) and their
sparse index keys are always consistent with the state in the same single write. Each deriver is a pure
function ``(conversation, now) -> conversation``; list new ones in :func:`derivers`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from carehooks.domain.models import Conversation

Deriver = Callable[[Conversation, datetime], Conversation]


def derivers() -> list[Deriver]:
    """The derivers, imported on first use (keeps cold starts of functions that never write small)."""
    from carehooks.reports.index import derive_report_day
    from carehooks.sla.deriver import derive_sla_due
    from carehooks.store.queries import derive_list_keys
    from carehooks.surveys.due import derive_survey_due

    # derive_list_keys reads what the others wrote (the SLA state): keep it last.
    return [derive_survey_due, derive_report_day, derive_sla_due, derive_list_keys]


def derive(conv: Conversation, now: datetime) -> Conversation:
    for deriver in derivers():
        conv = deriver(conv, now)
    return conv
