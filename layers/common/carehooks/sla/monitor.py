"""The SLA monitor (run every minute): find what is due, claim each alert once, email digests.

1. After a policy change, re-derive the open conversations (a bounded number per run) so their due
   times follow the new policies.
2. Read the due conversations: one Query per shard of the sparse ``BySlaDue`` index, then a consistent
   batch read of just those conversations.
3. Re-evaluate each with the current policies and ``now``; claim every due rung
   ``(conversation, metric, clock cycle, rung)`` with a conditional write before anything is sent, so
   overlapping runs and retries never send it twice.
4. Send one digest per recipient group. On success, mark the claims as sent and record the rungs as
   done on the conversations (which moves their due marker to the next rung). On an SES failure, release
   the claims: the next run retries them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from carehooks.config.settings import secret
from carehooks.config.sla import LevelKind
from carehooks.domain.models import AUTOMATION_AUTHOR, Conversation
from carehooks.notify.email import EmailError
from carehooks.observability import logger, metrics
from carehooks.sla.actions import apply_actions
from carehooks.sla.clocks import Due, due_now, mark_done
from carehooks.sla.current import SlaSetup
from carehooks.sla.digest import Alert, LinkFor, build_digests
from carehooks.store import ConflictError, Store, StoreError, keys
from carehooks.store.events import ConversationEvent
from carehooks.store.retry import attempts
from carehooks.store.sla import (
    PolicyMarker,
    ReadStats,
)

# A claim nobody marked as sent (its run died mid-send) is taken again after this; far longer than a run.
CLAIM_TTL = timedelta(minutes=15)
# How long a sent alert's claim is kept (it also guards against a duplicate if the conversation update
# after the send was lost).
SENT_KEEP = timedelta(days=90)
# Conversations re-derived per run after a policy change (the rest continue next minute).
REFRESH_BUDGET = 300
SAVE_ATTEMPTS = 5
REFRESH_STATUSES = ("open", "pending")
# A read or claim that DynamoDB fails (throttling) is asked again this many times in the run.

Mailer = Callable[[Sequence[str], str, str, str], str]

KIND_METRICS = {
    LevelKind.WARNING: "SlaWarnings",
    LevelKind.BREACH: "SlaBreaches",
    LevelKind.ESCALATION: "SlaEscalations",
}


@dataclass
class MonitorResult:
    """What one run did (returned by the function and logged)."""

    due_conversations: int = 0
    alerts_sent: int = 0
    emails_sent: int = 0
    emails_failed: int = 0
    superseded: int = 0
    already_sent: int = 0
    claimed_elsewhere: int = 0
    rederived: int = 0
    actions_run: int = 0  # rung actions that changed a conversation (issue 17)
    sent_by_kind: dict[str, int] = field(default_factory=dict)
    reads: ReadStats = field(default_factory=ReadStats)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reads"]["total_items"] = self.reads.total_items
        return data


def run_monitor(
    store: Store,
    now: datetime,
    setup: SlaSetup,
    mailer: Mailer,
    link_for: LinkFor,
    run_id: str | None = None,
) -> MonitorResult:
    """One monitor run at ``now``. Raises only on storage faults (claims then expire and are retried)."""
    result = MonitorResult()
    owner = run_id or str(uuid.uuid4())
    result.rederived = refresh_after_policy_change(store, now, setup, result.reads)

    due_keys = _due_keys(store, now, result.reads)
    conversations = attempts(lambda: store.get_conversations(due_keys, result.reads))
    result.due_conversations = len(conversations)

    alerts: list[Alert] = []
    finished: dict[str, tuple[Conversation, list[Due]]] = {}
    for read in conversations:
        conv = read
        send, superseded = due_now(conv, now, setup.config, setup.calendar_for)
        done = list(superseded)
        result.superseded += len(superseded)
        for due in send:
            try:
                acted, conv = run_rung_actions(store, conv, due, now, owner, result)
                if not acted:
                    continue  # the rung stays due: its actions (then its email) are tried next run
                _claim_one(store, conv, due, now, owner, alerts, done, result)
            except Exception:
                # A storage fault on one alert never costs the run the alerts it already claimed.
                logger.warning(
                    "SLA alert not claimed this run", exc_info=True, extra={"conversation_id": conv.id}
                )
        if done:
            finished[conv.id] = (conv, done)
        elif not send and _stale_marker(conv, now):
            # Due under older policies, not under the current ones: rewrite so the index forgets it.
            finished[conv.id] = (conv, [])

    sent: list[Alert] = []
    for digest in build_digests(alerts, now, link_for):
        try:
            message_id = mailer(list(digest.recipients), digest.subject, digest.html, digest.text)
        except EmailError as exc:
            _release(store, digest.alerts)
            result.emails_failed += 1
            logger.warning(
                "SLA digest not sent; its alerts are released for the next run",
                extra={"recipients": digest.recipients, "alerts": len(digest.alerts), "error": str(exc)},
            )
            continue
        except Exception:
            _release(store, digest.alerts)
            raise
        result.emails_sent += 1
        for alert in digest.alerts:
            _mark_sent(store, alert, message_id, now)
            entry = finished.setdefault(alert.conversation.id, (alert.conversation, []))
            entry[1].append(alert.due)
            result.alerts_sent += 1
            sent.append(alert)
            kind = alert.due.step.kind.value
            result.sent_by_kind[kind] = result.sent_by_kind.get(kind, 0) + 1
        logger.info(
            "SLA digest sent",
            extra={"subject": digest.subject, "recipients": digest.recipients, "message_id": message_id},
        )

    for conv, dues in finished.values():
        _record_done_or_log(store, conv, dues)
    _emit_metrics(result, sent)
    return result


def _due_keys(store: Store, now: datetime, reads: ReadStats) -> list[dict[str, Any]]:
    """The due conversations of every shard. A shard that cannot be read this run is read the next
    minute (its rungs stay due); it never costs the run the other shards' alerts."""
    found: list[dict[str, Any]] = []
    failed = 0
    for shard in range(keys.SLA_DUE_SHARDS):
        try:
            found.extend(attempts(partial(store.due_conversation_keys, shard, now, reads)))
        except Exception:
            failed += 1
            logger.warning("SLA due shard not read this run", exc_info=True, extra={"shard": shard})
    if failed == keys.SLA_DUE_SHARDS:
        raise StoreError("no SLA due shard could be read")
    if failed:
        metrics.add_metric(name="SlaShardsNotRead", unit="Count", value=failed)
    return found


def _claim_one(
    store: Store,
    conv: Conversation,
    due: Due,
    now: datetime,
    owner: str,
    alerts: list[Alert],
    done: list[Due],
    result: MonitorResult,
) -> None:
    """Claim one due rung for this run, or note that an earlier run sent it or another run holds it."""
    scope = keys.sla_alert_scope(conv.id, due.metric, due.cycle, due.step.name)
    if attempts(lambda: store.claim(keys.SLA_CLAIM_KIND, scope, now, CLAIM_TTL, owner=owner)):
        alerts.append(Alert(conv, due, scope))
    elif store.alert_was_sent(scope, result.reads):
        # An earlier run sent it but stopped before recording it on the conversation.
        done.append(due)
        result.already_sent += 1
    else:
        result.claimed_elsewhere += 1


def run_rung_actions(
    store: Store, conv: Conversation, due: Due, now: datetime, owner: str, result: MonitorResult
) -> tuple[bool, Conversation]:
    """Run a due rung's ``actions`` once (issue 17): claimed, then the change, its event and the claim's
    final state in one transaction. (True, the conversation as stored) when done now or by an earlier
    run; (False, ``conv``) when another run holds the claim or the write failed (given back, next run)."""
    if not due.step.actions:
        return True, conv
    kind = keys.SLA_ACTION_CLAIM_KIND
    scope = keys.sla_alert_scope(conv.id, due.metric, due.cycle, due.step.name)
    if not attempts(lambda: store.claim(kind, scope, now, CLAIM_TTL, owner=owner)):
        held = store.get_claim(kind, scope) or {}
        return held.get("state") == "done", conv
    rung = f"{due.policy.id}/{due.metric}/{due.step.name}"
    current: Conversation | None = conv
    try:
        for _ in range(SAVE_ATTEMPTS):
            if current is None:
                break
            changed, trace = apply_actions(current, due.step.actions, rung)
            event = ConversationEvent(
                conversation_id=conv.id,
                action="sla_actions",
                at=now,
                actor=AUTOMATION_AUTHOR,
                details={"rung": rung, "actions": trace},
            )
            try:
                stored = store.save_with_event_and_claim(
                    changed, event, (kind, scope), {"outcome": "ran"}, SENT_KEEP
                )
            except ConflictError:
                current = store.get_conversation(conv.id)
                continue
            ran = sum(1 for t in trace if t["status"] == "ran")
            result.actions_run += ran
            logger.info("SLA rung actions run", extra={"conversation_id": conv.id, "rung": rung, "ran": ran})
            return True, stored
    except Exception:
        logger.warning("SLA rung actions not run this run", exc_info=True, extra={"conversation_id": conv.id})
    store.release_claim(kind, scope)
    return False, conv


def _mark_sent(store: Store, alert: Alert, message_id: str, now: datetime) -> None:
    """Record a sent alert on its claim; never abort the run once its email went out.

    If the mark cannot be written, the rung recorded on the conversation (below) still keeps it from
    being sent again.
    """
    try:
        store.mark_alert_sent(alert.scope, message_id, now, SENT_KEEP)
    except Exception:
        logger.exception("SLA alert sent but not marked on its claim", extra={"scope": alert.scope})
        metrics.add_metric(name="SlaAlertsNotMarked", unit="Count", value=1)


def _record_done_or_log(store: Store, conv: Conversation, dues: list[Due]) -> None:
    """One conversation's write never stops the others; its claims still say what was sent."""
    try:
        _record_done(store, conv, dues)
    except Exception:
        logger.exception("SLA rungs not recorded", extra={"conversation_id": conv.id})


def _stale_marker(conv: Conversation, now: datetime) -> bool:
    return conv.sla_due_at is not None and conv.sla_due_at <= now


def _release(store: Store, alerts: Sequence[Alert]) -> None:
    """Give unsent alerts back for the next run; one that cannot be given back expires (CLAIM_TTL)."""
    for alert in alerts:
        try:
            store.release_claim(keys.SLA_CLAIM_KIND, alert.scope)
        except Exception:
            logger.warning("SLA claim not released; it expires", exc_info=True, extra={"scope": alert.scope})


def _record_done(store: Store, conv: Conversation, dues: list[Due]) -> None:
    """Record sent (or superseded) rungs on the conversation; the deriver then moves its due marker on."""
    current: Conversation | None = conv
    for _ in range(SAVE_ATTEMPTS):
        if current is None:
            return
        try:
            store.save_conversation(mark_done(current, dues))
            return
        except ConflictError:
            current = store.get_conversation(conv.id)
    # The claims are marked as sent, so the next run records the rungs without sending them again.
    logger.warning("SLA rungs not recorded on a busy conversation", extra={"conversation_id": conv.id})


def refresh_after_policy_change(store: Store, now: datetime, setup: SlaSetup, stats: ReadStats) -> int:
    """Re-derive open and pending conversations when the policies changed; how many were rewritten.

    Walks the ByStatus index (every shard of each status) in pages, at most :data:`REFRESH_BUDGET`
    conversations per run, and keeps its place in the policy marker, so a large backlog (or a walk a
    throttled read stopped) finishes over a few runs.
    """
    marker = store.get_policy_marker(stats)
    if marker is not None and marker.fingerprint == setup.fingerprint and marker.status is None:
        return 0
    if marker is None or marker.fingerprint != setup.fingerprint:
        status: str | None = REFRESH_STATUSES[0]
        cursor: dict[str, Any] | None = None
    else:
        status, cursor = marker.status, marker.cursor
    examined = rewritten = 0
    while status is not None and examined < REFRESH_BUDGET:
        try:
            page, after = attempts(
                partial(store.status_page, status, cursor, min(100, REFRESH_BUDGET - examined), stats)
            )
            found = attempts(partial(store.get_conversations, page, stats))
        except StoreError:
            raise
        except Exception:
            # The walk keeps its place (the marker below): the next run goes on from here.
            logger.warning("SLA policy refresh stopped for this run", exc_info=True, extra={"status": status})
            break
        cursor = after
        for conv in found:
            examined += 1
            if store.derive(conv, now) == conv:
                continue
            try:
                store.save_conversation(conv)
                rewritten += 1
            except ConflictError:
                pass  # written meanwhile, so derived with the current policies already
        if cursor is None:
            position = REFRESH_STATUSES.index(status) + 1
            status = REFRESH_STATUSES[position] if position < len(REFRESH_STATUSES) else None
    attempts(partial(store.put_policy_marker, PolicyMarker(setup.fingerprint, status, cursor), now))
    if rewritten:
        logger.info("SLA due times re-derived after a policy change", extra={"conversations": rewritten})
    return rewritten


def _emit_metrics(result: MonitorResult, sent: list[Alert]) -> None:
    """Totals for alarms and dashboards, and sent alerts per policy."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    for kind, name in KIND_METRICS.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=result.sent_by_kind.get(kind.value, 0))
    metrics.add_metric(name="SlaEmailsSent", unit=MetricUnit.Count, value=result.emails_sent)
    metrics.add_metric(name="SlaEmailsFailed", unit=MetricUnit.Count, value=result.emails_failed)
    metrics.add_metric(name="SlaDueConversations", unit=MetricUnit.Count, value=result.due_conversations)
    metrics.add_metric(name="SlaItemsRead", unit=MetricUnit.Count, value=result.reads.total_items)
    metrics.add_metric(name="SlaActionsRun", unit=MetricUnit.Count, value=result.actions_run)
    per_policy: dict[tuple[str, LevelKind], int] = {}
    for alert in sent:
        key = (alert.due.policy.id, alert.due.step.kind)
        per_policy[key] = per_policy.get(key, 0) + 1
    for (policy, kind), count in sorted(per_policy.items()):
        with single_metric(
            name=KIND_METRICS[kind], unit=MetricUnit.Count, value=count, namespace="carehooks"
        ) as m:
            m.add_dimension(name="policy", value=policy)


def default_link_for(setup: SlaSetup) -> LinkFor:
    """``sla.link`` with the conversation id, else the agent API resource under ``PUBLIC_BASE_URL``."""
    template = setup.config.link
    if template is not None:
        return lambda conversation_id: template.format(conversation_id=conversation_id)
    try:
        base = secret("PUBLIC_BASE_URL").rstrip("/")
    except Exception:  # a link is a convenience: never lose an alert for want of one
        logger.warning("PUBLIC_BASE_URL unavailable; SLA emails go without links", exc_info=True)
        base = ""
    if not base:
        return lambda conversation_id: None
    return lambda conversation_id: f"{base}/api/conversations/{conversation_id}"
