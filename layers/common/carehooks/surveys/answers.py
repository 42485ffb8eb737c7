"""Recording a CSAT answer on its conversation (from a chat reply or the survey link), exactly once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal

from carehooks.clock import iso
from carehooks.config.surveys import SurveyConfig
from carehooks.domain.models import Conversation
from carehooks.observability import logger, metrics
from carehooks.store import ConflictError, Store
from carehooks.surveys import alerts

AnswerOutcome = Literal["recorded", "already_answered", "not_found", "reopened"]
Alerter = Callable[[Conversation, SurveyConfig], None]

ALERT_CLAIM = "csat-alert"
ALERT_CLAIM_TTL = timedelta(days=90)
SAVE_ATTEMPTS = 5
MAX_COMMENT_CHARS = 2000


def agent_of(conv: Conversation) -> str | None:
    """The agent a rating is credited to: the assignee, else whoever answered last, else first."""
    return conv.assignee or conv.last_responder or conv.first_responder


def record_answer(
    store: Store,
    conversation_id: str,
    score: int,
    comment: str | None,
    via: str,
    now: datetime,
    config: SurveyConfig,
    alert: Alerter | None = None,
    message_at: datetime | None = None,
    while_resolved: bool = False,
) -> AnswerOutcome:
    """Store ``score`` (and an optional comment) as the conversation's CSAT, unless it already has one.

    A low score (``<= low_score.threshold``) adds the configured tag in the same write and alerts
    operations once (claimed, so a retried record never alerts twice). ``message_at``: the platform
    time of the rating message (a following comment must be later).

    ``while_resolved`` (the survey link): the rating is stored only while the conversation is resolved,
    checked in the same conditional write, so a reopen that wins the race is never rated; otherwise the
    outcome is ``reopened`` and nothing is written or emailed. A rating message needs no such check: the
    processor decides, while placing the message, that it answers the resolved conversation's survey.
    """
    if score not in range(1, 6):
        raise ValueError("score must be 1 to 5")
    for _ in range(SAVE_ATTEMPTS):
        current = store.get_conversation(conversation_id)
        if current is None:
            return "not_found"
        if current.csat and current.csat.get("score") is not None:
            return "already_answered"
        if while_resolved and current.status != "resolved":
            return "reopened"
        low = score <= config.low_score.threshold
        tags = list(current.tags)
        if low and config.low_score.tag and config.low_score.tag not in tags:
            tags.append(config.low_score.tag)
        csat: dict[str, Any] = {
            "score": score,
            "comment": _clean(comment),
            "agent": agent_of(current),
            "answered_at": iso(now),
            "via": via,
        }
        if message_at is not None:
            csat["message_at"] = iso(message_at)
        try:
            saved = store.save_conversation(replace(current, csat=csat, tags=tags))
        except ConflictError:
            continue
        metrics.add_metric(name="CsatAnswers", unit="Count", value=1)
        logger.info("csat recorded", extra={"conversation_id": conversation_id, "score": score, "via": via})
        if low and config.low_score.alert and store.claim(ALERT_CLAIM, conversation_id, now, ALERT_CLAIM_TTL):
            _alert(store, saved, config, alert)
        return "recorded"
    raise ConflictError(f"conversation {conversation_id} kept changing while its rating was recorded")


def record_comment(store: Store, conversation_id: str, comment: str, now: datetime) -> bool:
    """Add the free-text comment that follows a rating. False when there is no rating awaiting one."""
    text = _clean(comment)
    if not text:
        return False
    for _ in range(SAVE_ATTEMPTS):
        current = store.get_conversation(conversation_id)
        if current is None or not current.csat or current.csat.get("comment"):
            return False
        csat = {**current.csat, "comment": text, "commented_at": iso(now)}
        try:
            store.save_conversation(replace(current, csat=csat))
        except ConflictError:
            continue
        return True
    raise ConflictError(f"conversation {conversation_id} kept changing while its comment was recorded")


def _clean(comment: str | None) -> str | None:
    text = (comment or "").strip()
    return text[:MAX_COMMENT_CHARS] or None


def _alert(store: Store, conv: Conversation, config: SurveyConfig, alert: Alerter | None) -> None:
    """Alert once. A failed alert gives its claim back and is logged, never raised: the rating is
    already stored, and failing the inbound record would not bring the alert back (a redelivered
    message is a duplicate and runs no steps)."""
    metrics.add_metric(name="CsatLowScores", unit="Count", value=1)
    if alert is None:
        alert = alerts.email_ops
    try:
        alert(conv, config)
    except Exception:
        store.release_claim(ALERT_CLAIM, conv.id)
        metrics.add_metric(name="CsatAlertFailures", unit="Count", value=1)
        logger.exception("low csat alert failed", extra={"conversation_id": conv.id})
