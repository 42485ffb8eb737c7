"""Who gets a survey and when (pure: a conversation, a configuration, a time)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from carehooks.clock import iso, parse_iso
from carehooks.config.surveys import SurveyConfig
from carehooks.domain.models import Conversation

# Where a survey outcome (sent / skipped, with its reason) is kept on the conversation.
SURVEY_ATTR = "survey"


def sampled(conversation_id: str, rate: float) -> bool:
    """Whether a conversation falls in the sample: deterministic, so every write decides the same."""
    if rate >= 1:
        return True
    if rate <= 0:
        return False
    digest = hashlib.sha256(conversation_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def ineligible_reason(conv: Conversation, config: SurveyConfig) -> str | None:
    """Why this conversation gets no survey at all, or None when it is eligible."""
    tags = set(conv.tags)
    checks = (
        (not config.enabled, "surveys are disabled"),
        (conv.channel not in config.channels, f"surveys are not sent on {conv.channel}"),
        (conv.public, "public conversation: no in-thread survey"),
        (bool(config.tags) and not tags.intersection(config.tags), "no tag that gets surveys"),
        (bool(tags.intersection(config.exclude_tags)), "tagged to get no survey"),
    )
    for failed, reason in checks:
        if failed:
            return reason
    # Last: hashing is the only check that costs anything.
    if not sampled(conv.id, config.sample_rate):
        return "not in the survey sample"
    return None


def survey_due_at(conv: Conversation, config: SurveyConfig) -> datetime | None:
    """When the resolved conversation's survey is due, or None when it is not awaiting one.

    A conversation awaits a survey while it is resolved, eligible, not yet surveyed (sent or skipped)
    and not yet rated; reopening it (status no longer ``resolved``) cancels the survey.
    """
    if conv.status != "resolved" or conv.resolved_at is None:
        return None
    if SURVEY_ATTR in conv.extra or conv.csat:
        return None
    if ineligible_reason(conv, config) is not None:
        return None
    return conv.resolved_at + timedelta(minutes=config.delay_minutes)


def survey_state(conv: Conversation) -> dict[str, Any]:
    """The survey outcome recorded on a conversation (empty when none)."""
    state = conv.extra.get(SURVEY_ATTR)
    return dict(state) if isinstance(state, dict) else {}


def survey_overview(conv: Conversation) -> dict[str, Any] | None:
    """The recorded outcome and, while a survey is pending, when it is due (``due_at``); None when neither.

    The due time is the conversation's derived ``survey_due_at`` (what the survey dispatch will act on).
    """
    state = survey_state(conv)
    if conv.survey_due_at is not None:
        state["due_at"] = iso(conv.survey_due_at)
    return state or None


def capture_until(conv: Conversation) -> datetime | None:
    """Until when a reply may answer the conversation's survey (None when no survey was sent)."""
    state = survey_state(conv)
    if state.get("status") != "sent" or not isinstance(state.get("capture_until"), str):
        return None
    return parse_iso(str(state["capture_until"]))
