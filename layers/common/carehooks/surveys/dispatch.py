"""The dispatch use case: send every due survey exactly once, or record why it was not sent.

Run every minute by ``SurveyDispatchFunction``. It reads only what is due (the sparse BySurveyDue
index), claims each survey with a conditional write before sending (``survey#<conversation id>``), and
records the outcome on the conversation, which removes its due marker in the same write.

The claim is reentrant while it is only ``claimed`` (a run that failed before sending, or could not
give it back, does not lock the survey out); a run moves it to ``sending`` (a compare-and-set only one
run wins) just before the send. A send whose outcome is unknown (the platform may have accepted it) is
recorded as ``unknown`` and never sent again.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from carehooks.clock import iso, parse_iso
from carehooks.config.surveys import SurveyConfig
from carehooks.delivery.send import deliver
from carehooks.domain.models import Conversation
from carehooks.observability import logger, metrics
from carehooks.outbound.models import OutboundMessage, OutcomeUnknownError, SendError, SendResult
from carehooks.store import ConflictError, Store, StoreError, keys
from carehooks.store.retry import attempts
from carehooks.surveys.message import plan_survey
from carehooks.surveys.policy import SURVEY_ATTR, survey_due_at
from carehooks.surveys.token import survey_link

Sender = Callable[[Conversation, OutboundMessage, Store, datetime], SendResult]
LinkMaker = Callable[[str, datetime], str | None]

SURVEY_CLAIM = "survey"
COOLDOWN_CLAIM = "survey-contact"
# The survey claim outlives any retry of the same resolution; the outcome on the conversation is what
# keeps it from being asked again afterwards.
SURVEY_CLAIM_TTL = timedelta(days=90)
# A claim with no outcome this old belongs to a run that stopped between claiming and recording.
STALE_CLAIM = timedelta(minutes=15)
SAVE_ATTEMPTS = 5
CLAIM_OWNER = "survey-dispatch"


@dataclass
class DispatchReport:
    """What one run did (also logged and counted as metrics)."""

    due: int = 0
    sent: int = 0
    retry_later: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    outcomes: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "due": self.due,
            "sent": self.sent,
            "retry_later": self.retry_later,
            "skipped": dict(self.skipped),
        }


def dispatch_surveys(
    store: Store,
    now: datetime,
    config: SurveyConfig,
    send: Sender,
    link_for: LinkMaker = survey_link,
    limit: int = 100,
) -> DispatchReport:
    """Send the surveys due at ``now`` (at most ``limit`` per run; the rest are due next run)."""
    report = DispatchReport()
    for pk, sk in _due_keys(store, now, limit):
        report.due += 1
        conv = store.conversation_at(pk, sk)
        if conv is None:
            continue
        outcome = _dispatch_one(store, conv, now, config, send, link_for)
        report.outcomes[conv.id] = outcome
        if outcome == "sent":
            report.sent += 1
        elif outcome == "retry":
            report.retry_later += 1
        elif outcome.startswith("skipped:"):
            report.skipped[outcome.removeprefix("skipped:")] += 1
    metrics.add_metric(name="SurveysSent", unit="Count", value=report.sent)
    metrics.add_metric(name="SurveysSkipped", unit="Count", value=sum(report.skipped.values()))
    logger.info("surveys dispatched", extra=report.as_dict())
    return report


def _due_keys(store: Store, now: datetime, limit: int) -> list[tuple[str, str]]:
    """The due survey markers of every shard, oldest due first. A shard that cannot be read this run is
    read the next one (its surveys stay due); it never costs the run the other shards' surveys."""
    found: list[tuple[str, str, str]] = []
    partitions = keys.survey_due_partitions()
    failed = 0
    for partition in partitions:
        try:
            found.extend(attempts(partial(store.due_survey_markers, partition, now, limit)))
        except StoreError:
            raise
        except Exception:
            failed += 1
            logger.warning("survey due shard not read this run", exc_info=True, extra={"shard": partition})
    if failed == len(partitions):
        raise StoreError("no survey due shard could be read")
    if failed:
        metrics.add_metric(name="SurveyShardsNotRead", unit="Count", value=failed)
    return [(pk, sk) for _, pk, sk in sorted(found)[:limit]]


def _dispatch_one(
    store: Store, conv: Conversation, now: datetime, config: SurveyConfig, send: Sender, link_for: LinkMaker
) -> str:
    due = survey_due_at(conv, config)
    if due is None or due > now:
        # The index lags the table, or the configuration changed since the marker was written:
        # rewriting the conversation lets the deriver correct (or drop) the marker.
        if conv.survey_due_at is not None and conv.survey_due_at != due:
            _save(store, conv.id, lambda _c: None)
        return "not_due"
    if not store.claim(SURVEY_CLAIM, conv.id, now, SURVEY_CLAIM_TTL, owner=CLAIM_OWNER, reentrant=True):
        return _recover(store, conv, now)
    return _send_claimed(store, conv, now, due, config, send, link_for)


def _send_claimed(
    store: Store,
    conv: Conversation,
    now: datetime,
    due: datetime,
    config: SurveyConfig,
    send: Sender,
    link_for: LinkMaker,
) -> str:
    """Send a survey this run has claimed, and record what happened."""
    contact = f"{conv.channel}#{conv.account_id}#{conv.contact_id}"
    cooldown = timedelta(days=config.cooldown_days)
    if config.cooldown_days > 0 and not store.claim(
        COOLDOWN_CLAIM, contact, now, cooldown, owner=conv.id, reentrant=True
    ):
        reason = f"the customer was asked for a rating in the last {config.cooldown_days:g} days"
        return _finish(store, conv, now, {"status": "skipped", "reason": reason})
    plan = plan_survey(conv, config, now, _link(conv, now, config, link_for))
    if plan.message is None:
        _release_cooldown(store, config, contact)
        return _finish(store, conv, now, {"status": "skipped", "reason": plan.skip_reason or "not sendable"})
    if not store.begin_send(SURVEY_CLAIM, conv.id, CLAIM_OWNER):
        return "in_progress"  # an overlapping run is sending it
    result = _send(send, conv, plan.message, store, now)
    state: dict[str, Any]
    if result.status == "sent":
        state = {
            "status": "sent",
            "via": plan.via,
            "message_id": result.platform_message_id or "",
            "capture_until": iso(now + timedelta(hours=config.capture_window_hours)),
        }
    elif result.error_class == OutcomeUnknownError.error_class:
        # The customer may have it: keep both claims, and never ask again.
        state = {"status": "unknown", "reason": result.reason or "unknown", "error_class": result.error_class}
    elif result.retryable and now - due < timedelta(hours=config.give_up_after_hours):
        # Rate limits and outages: give both claims back so the next run tries again.
        _release_cooldown(store, config, contact)
        store.release_claim(SURVEY_CLAIM, conv.id)
        logger.warning(
            "survey send will be retried",
            extra={"conversation_id": conv.id, "error_class": result.error_class},
        )
        return "retry"
    else:
        _release_cooldown(store, config, contact)
        skipped = result.status == "skipped" or result.error_class == "outside_window"
        state = {
            "status": "skipped" if skipped else "failed",
            "reason": result.reason or result.error_class or "not sent",
            "error_class": result.error_class,
        }
    return _finish(store, conv, now, state)


def _send(
    send: Sender, conv: Conversation, message: OutboundMessage, store: Store, now: datetime
) -> SendResult:
    try:
        return send(conv, message, store, now)
    except SendError as exc:
        return SendResult(
            status="failed", reason=exc.reason, error_class=exc.error_class, retryable=exc.retryable
        )
    except Exception:
        # An unclassified failure (a bug, an unexpected response): retried until the give-up time, and
        # one bad conversation never stops the others of the run.
        logger.exception("survey send failed unexpectedly", extra={"conversation_id": conv.id})
        return SendResult(status="failed", reason="unexpected error while sending", retryable=True)


def _link(conv: Conversation, now: datetime, config: SurveyConfig, link_for: LinkMaker) -> str | None:
    if not config.link.enabled:
        return None
    return link_for(conv.id, now + timedelta(hours=config.link.expires_hours))


def _release_cooldown(store: Store, config: SurveyConfig, contact: str) -> None:
    if config.cooldown_days > 0:
        store.release_claim(COOLDOWN_CLAIM, contact)


def _finish(store: Store, conv: Conversation, now: datetime, state: dict[str, Any]) -> str:
    """Record the outcome on the claim first (so a crash can be recovered), then on the conversation."""
    state = {"at": iso(now), **{k: v for k, v in state.items() if v is not None}}
    store.mark_claim(SURVEY_CLAIM, conv.id, outcome=json.dumps(state, separators=(",", ":")))
    _record(store, conv.id, state)
    status = str(state["status"])
    if status == "sent":
        logger.info("survey sent", extra={"conversation_id": conv.id, "via": state.get("via")})
        return "sent"
    # A platform's reason can quote its error message (which may echo the text or a token): log the
    # error class then, and only carehooks' own reasons (cooldown, window, configuration).
    logged = {k: v for k, v in state.items() if k != "reason" or "error_class" not in state}
    logger.info("survey not sent", extra={"conversation_id": conv.id, **logged})
    # Counted (and logged) by error class when the platform said why: its reason may quote content.
    return f"skipped:{state.get('error_class') or state.get('reason', status)}"


def _recover(store: Store, conv: Conversation, now: datetime) -> str:
    """The survey is already claimed: apply a recorded outcome, or close a claim whose run died."""
    claim = store.get_claim(SURVEY_CLAIM, conv.id) or {}
    outcome = claim.get("outcome")
    if isinstance(outcome, str):
        _record(store, conv.id, json.loads(outcome))
        return "recovered"
    claimed_at = claim.get("claimed_at")
    if isinstance(claimed_at, str) and now - parse_iso(claimed_at) > STALE_CLAIM:
        # Never send again: the earlier run may have sent it before it stopped.
        state = {
            "status": "unknown",
            "at": iso(now),
            "reason": "an earlier run claimed this survey and stopped before recording whether it was sent",
        }
        _record(store, conv.id, state)
        return "skipped:unknown outcome of an earlier run"
    return "in_progress"


def _record(store: Store, conversation_id: str, state: dict[str, Any]) -> None:
    def apply(conv: Conversation) -> None:
        conv.extra[SURVEY_ATTR] = state

    _save(store, conversation_id, apply)


def _save(store: Store, conversation_id: str, change: Callable[[Conversation], None]) -> None:
    """Re-read, change and write the conversation, retrying when another writer got there first."""
    for _ in range(SAVE_ATTEMPTS):
        current = store.get_conversation(conversation_id)
        if current is None:
            return
        current.extra = dict(current.extra)
        change(current)
        try:
            store.save_conversation(current)
        except ConflictError:
            continue
        return
    raise ConflictError(f"conversation {conversation_id} kept changing while its survey was recorded")


def default_sender() -> Sender:
    """The channels' ``deliver`` (window check → channel client → stored outbound message)."""

    return deliver
