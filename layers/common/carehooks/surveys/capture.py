"""Capturing survey answers from the customer's replies (an after-store step of the inbound processor).

A rating that arrives within the capture window of a sent survey is stored as the conversation's CSAT;
the next free-text message is stored as its comment. Neither reopens the resolved conversation: the
processor asks :func:`answers_survey` while threading, before the message is stored.
"""

from __future__ import annotations

from datetime import datetime

from carehooks.clock import parse_iso
from carehooks.config.surveys import SurveyConfig
from carehooks.domain.conversations import StoredMessage
from carehooks.domain.models import Conversation, Direction, MessageEvent
from carehooks.store import Store
from carehooks.surveys.answers import record_answer, record_comment
from carehooks.surveys.policy import capture_until
from carehooks.surveys.rating import parse_rating


def answers_survey(conv: Conversation, event: MessageEvent, now: datetime) -> bool:
    """Whether a customer message answers the resolved conversation's survey (a rating, or the
    comment after one) within the capture window, so it must not reopen the conversation."""
    if event.direction is not Direction.IN or conv.status != "resolved":
        return False
    until = capture_until(conv)
    if until is None or now > until:
        return False
    if conv.resolved_at is not None and event.sent_at <= conv.resolved_at:
        # A message from before the resolution (reordered, or redelivered and resumed) answers nothing.
        return False
    if parse_rating(event.text, event.reply_payload) is not None:
        return True
    csat = conv.csat or {}
    if not csat or csat.get("comment") or not event.text.strip():
        return False
    # Only what the customer wrote after their rating is its comment (platform times on both sides).
    rated_at = csat.get("message_at")
    return not isinstance(rated_at, str) or event.sent_at > parse_iso(rated_at)


def capture_survey_answer(stored: StoredMessage, *, store: Store, config: SurveyConfig) -> None:
    """After-store step: record a rating (or the comment that follows it) on the conversation."""
    outcome = stored.outcome
    conv = outcome.conversation
    if conv is None or outcome.new_conversation or outcome.reopened:
        return
    if not answers_survey(conv, stored.event, stored.now):
        return
    event = stored.event
    score = parse_rating(event.text, event.reply_payload)
    if score is not None:
        record_answer(store, conv.id, score, None, "message", stored.now, config, message_at=event.sent_at)
    else:
        record_comment(store, conv.id, event.text, stored.now)
