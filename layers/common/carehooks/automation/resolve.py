"""Auto-resolve one due conversation: closing message (window-aware), then resolve, then the survey.

Exactly once per wait of the customer: the claim ``auto-resolve#<conversation id>#<turn ms>`` is taken
before anything is done (reentrant for the automation's own owner while it is only ``claimed``, like the
survey claim, so a run that died before sending does not lock it out); the closing message is sent only
by the run that moves the claim to ``sending`` (:meth:`Store.begin_send`). The resolution, its
conversation event and the claim's final state are one transaction. A send whose outcome is unknown, or a
claim left ``sending`` by a run that stopped, is never sent again: the conversation is resolved without
it. A retryable send failure (rate limit, outage) gives the send back for the next run, for up to
:data:`GIVE_UP_AFTER` past the due time; after that the conversation is resolved without the message.

If the customer writes (or a person replies) between the read and the write, the wait is over: nothing is
resolved, and the claim says ``cancelled``. The survey follows as for any resolution (the survey deriver
sees a resolved conversation), unless the entry says ``survey: false``: the conversation then records a
skipped survey, as a survey the dispatcher skipped would be.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from carehooks.automation.due import DONE, HOLD, SKIP, Outcome, resolve_due, turn_of
from carehooks.clock import iso, parse_iso, to_epoch_ms
from carehooks.config.automation import AutomationConfig, ResolveEntry
from carehooks.domain.models import AUTOMATION_AUTHOR, Conversation
from carehooks.observability import logger
from carehooks.outbound.models import OutboundMessage, OutcomeUnknownError, SendError, SendResult
from carehooks.store import ConflictError, Store, keys
from carehooks.store.events import ConversationEvent
from carehooks.store.retry import attempts

Sender = Callable[[Conversation, OutboundMessage, Store, datetime], SendResult]

CLAIM_OWNER = "automation"
CLAIM_KEEP = timedelta(days=90)
STALE_CLAIM = timedelta(minutes=15)
GIVE_UP_AFTER = timedelta(hours=1)
SAVE_ATTEMPTS = 5
# The conversation attribute of the survey outcome (carehooks.surveys.policy.SURVEY_ATTR; surveys is a
# sibling layer, so the name is repeated here and a test keeps the two equal).
SURVEY_ATTR = "survey"
RESOLVED_BY = "resolved_by"


def resolve_one(
    store: Store, conv: Conversation, now: datetime, config: AutomationConfig, send: Sender
) -> tuple[Outcome, dict[str, Any]]:
    """Auto-resolve ``conv`` (read consistently this run) if it is due; the outcome and what was done."""
    due = resolve_due(conv, config)
    if due is None:
        return SKIP, {}
    due_at, index, entry = due
    if due_at > now:
        return HOLD, {}  # an open conversation with later messages: not yet
    turn = turn_of(conv)
    claim = (keys.AUTO_RESOLVE_CLAIM_KIND, keys.auto_resolve_scope(conv.id, turn))
    closing: dict[str, Any] | None
    if attempts(lambda: store.claim(*claim, now, CLAIM_KEEP, owner=CLAIM_OWNER, reentrant=True)):
        closing = _closing(store, conv, entry, now, due_at, send, claim)
    else:
        held = attempts(lambda: store.get_claim(*claim)) or {}
        if held.get("state") == "done":
            return DONE, {}
        claimed_at = held.get("claimed_at")
        stale = isinstance(claimed_at, str) and now - parse_iso(claimed_at) > STALE_CLAIM
        if held.get("state") != "sending" or not stale:
            return HOLD, {}  # another run is on it
        closing = {"status": "unknown", "reason": "an earlier run stopped while sending the closing message"}
    if closing is None:
        return HOLD, {}
    status = conv.status
    details = {
        "from": status,
        "reason": "auto_resolve",
        "rule": f"automation.auto_resolve.{status}.{index}",
        "after": _duration(entry.after),
        "closing_message": closing,
        "survey": entry.survey,
    }
    return _resolve(store, conv, turn, entry, details, now, claim, reread=closing.get("status") == "sent")


def _closing(  # noqa: PLR0911 - one answer per outcome
    store: Store,
    conv: Conversation,
    entry: ResolveEntry,
    now: datetime,
    due_at: datetime,
    send: Sender,
    claim: tuple[str, str],
) -> dict[str, Any] | None:
    """Send the closing message (None: not now, the next run tries again); what happened to it."""
    if entry.message is None:
        return {"status": "none"}
    if conv.public:
        return {"status": "skipped", "reason": "public conversation: no closing message in the thread"}
    if not attempts(lambda: store.begin_send(*claim, CLAIM_OWNER)):
        return None  # an overlapping run is sending it
    message = OutboundMessage(
        text=entry.message,
        kind="closing",
        author=AUTOMATION_AUTHOR,
        origin_tag=f"closing:{conv.id}:{to_epoch_ms(turn_of(conv))}",
    )
    try:
        result = send(conv, message, store, now)
    except SendError as exc:
        result = SendResult(
            status="failed", reason=exc.reason, error_class=exc.error_class, retryable=exc.retryable
        )
    except Exception:
        logger.exception("closing message failed unexpectedly", extra={"conversation_id": conv.id})
        result = SendResult(status="failed", reason="unexpected error while sending", retryable=True)
    if result.status == "sent":
        return {"status": "sent", "message_id": result.platform_message_id or ""}
    if result.error_class == OutcomeUnknownError.error_class:
        return {"status": "unknown", "reason": result.reason or "unknown"}
    if result.retryable and now - due_at < GIVE_UP_AFTER:
        attempts(lambda: store.cancel_send(*claim, CLAIM_OWNER))
        logger.warning(
            "closing message will be retried",
            extra={"conversation_id": conv.id, "error_class": result.error_class},
        )
        return None
    return {
        "status": "skipped" if result.status == "skipped" else "failed",
        "reason": result.error_class or result.reason or "not sent",
    }


def _resolve(
    store: Store,
    conv: Conversation,
    turn: datetime,
    entry: ResolveEntry,
    details: dict[str, Any],
    now: datetime,
    claim: tuple[str, str],
    *,
    reread: bool,
) -> tuple[Outcome, dict[str, Any]]:
    current: Conversation | None = attempts(lambda: store.get_conversation(conv.id)) if reread else conv
    for _ in range(SAVE_ATTEMPTS):
        if current is None or current.status != details["from"] or turn_of(current) != turn:
            # The customer wrote, or a person acted, meanwhile: this wait is over.
            held = attempts(lambda: store.get_claim(*claim)) or {}
            if held.get("state") == "done":
                return DONE, {}
            attempts(lambda: store.mark_claim(*claim, outcome="cancelled"))
            return SKIP, details
        extra = {**current.extra, RESOLVED_BY: AUTOMATION_AUTHOR}
        if not entry.survey:
            extra[SURVEY_ATTR] = {
                "status": "skipped",
                "reason": "auto-resolved without a survey",
                "at": iso(now),
            }
        resolved = replace(current, status="resolved", resolved_at=now, tags=list(current.tags), extra=extra)
        event = ConversationEvent(
            conversation_id=conv.id, action="resolve", at=now, actor=AUTOMATION_AUTHOR, details=details
        )
        outcome = {"outcome": json.dumps(details["closing_message"], separators=(",", ":"))}
        try:
            attempts(partial(store.save_with_event_and_claim, resolved, event, claim, outcome, CLAIM_KEEP))
        except ConflictError:
            current = attempts(lambda: store.get_conversation(conv.id))
            continue
        logger.info(
            "conversation auto-resolved",
            extra={
                "conversation_id": conv.id,
                "rule": details["rule"],
                "closing": details["closing_message"]["status"],
            },
        )
        return DONE, details
    return HOLD, {}


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
