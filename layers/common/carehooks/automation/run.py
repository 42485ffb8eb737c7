"""One ``AutomationFunction`` run (every minute): auto-resolve and the assignee timer, exactly once each.

1. Read the cursors (one Query), then per timer (:func:`carehooks.automation.due.timers`) one Query per
   ``ByStatus`` shard of what turned between the cursor and ``now - after``; decide on the index items
   which are this timer's.
2. Read just those conversations (consistent BatchGetItem) and act on each: claimed, then done
   (:mod:`carehooks.automation.resolve`, :mod:`carehooks.automation.reassign`). A fault in one
   conversation is logged and counted and never stops the others (it is looked at again next run: the
   cursor stays before it). A shard that cannot be read is read the next run.
3. Move the cursors over what was dealt with (one write per timer whose cursor moved).

Spike alerts (issue 17b) are called from the function's wiring after this run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from carehooks.automation.due import (
    DONE,
    HOLD,
    MARGIN,
    SKIP,
    Outcome,
    Timer,
    next_mark,
    selects,
    timers,
    turn_of,
)
from carehooks.automation.reassign import reassign_one
from carehooks.automation.resolve import Sender, resolve_one
from carehooks.config.document import ConfigDocument
from carehooks.domain.models import Conversation
from carehooks.observability import logger, metrics
from carehooks.store import Store, StoreError, keys
from carehooks.store.automation import StatusEntry
from carehooks.store.retry import attempts
from carehooks.store.sla import ReadStats

# Conversations acted on per run at most (closing messages take a platform call each; the function has 60 s).
MAX_ACTIONS_PER_RUN = 150


@dataclass
class AutomationResult:
    """What one run did (returned by the function, logged, and counted as metrics)."""

    timers: int = 0
    due: int = 0
    resolved: int = 0
    closing_sent: int = 0
    reassigned: int = 0
    held: int = 0
    failed: int = 0
    shards_not_read: int = 0
    cursors_moved: int = 0
    deferred: int = 0  # due, left to the next runs (more than MAX_ACTIONS_PER_RUN)
    reads: ReadStats = field(default_factory=ReadStats)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. spike alerts' counts (issue 17b)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reads"]["total_items"] = self.reads.total_items
        return data


def run_automation(store: Store, now: datetime, config: ConfigDocument, send: Sender) -> AutomationResult:
    """One run at ``now``. Raises only when nothing at all could be read (the run is then retried)."""
    result = AutomationResult()
    scans = timers(config.automation)
    result.timers = len(scans)
    if not scans:
        _emit(result)
        return result
    cursors = attempts(partial(store.automation_cursors, result.reads))
    for timer in scans:
        _run_timer(store, timer, cursors.get(timer.name, {}), now, config, send, result)
    partitions = len(scans) * len(keys.status_partitions("open"))
    if result.shards_not_read == partitions:
        raise StoreError("no ByStatus shard could be read")
    _emit(result)
    return result


def _run_timer(
    store: Store,
    timer: Timer,
    marks: dict[str, str],
    now: datetime,
    config: ConfigDocument,
    send: Sender,
    result: AutomationResult,
) -> None:
    upto = keys.list_key_upper_bound(now - timer.after)
    floor = keys.list_key_upper_bound(now - timer.after - MARGIN)
    read: dict[str, list[StatusEntry]] = {}
    for partition in keys.status_partitions(timer.status):
        try:
            read[partition] = attempts(
                partial(store.status_entries, partition, marks.get(partition), upto, result.reads)
            )
        except Exception:
            result.shards_not_read += 1
            logger.warning(
                "automation shard not read this run", exc_info=True, extra={"partition": partition}
            )
    chosen = sorted(
        (e for entries in read.values() for e in entries if selects(timer, e, config.automation)),
        key=lambda e: e.list_sk,
    )
    outcomes: dict[str, Outcome] = {}
    room = max(0, MAX_ACTIONS_PER_RUN - result.due)
    for deferred in chosen[room:]:
        # A backlog (a first run, an outage) is worked off oldest first over the next runs: the cursor
        # stays before what this run leaves, and a run stays well inside its timeout.
        outcomes[deferred.list_sk] = HOLD
        result.deferred += 1
    chosen = chosen[:room]
    if chosen:
        found = _conversations(store, chosen, result)
        for entry in chosen:
            outcomes[entry.list_sk] = _act(
                store, timer, entry, found.get(entry.conversation_id), now, config, send, result
            )
    moved = dict(marks)
    for partition, entries in read.items():
        mark = next_mark(
            marks.get(partition), [(e.list_sk, outcomes.get(e.list_sk, SKIP)) for e in entries], upto, floor
        )
        if mark is not None:
            moved[partition] = mark
    if moved != marks:
        try:
            attempts(partial(store.put_automation_cursor, timer.name, moved, now))
            result.cursors_moved += 1
        except Exception:
            # The next run reads the same items again; their claims keep every action once.
            logger.warning("automation cursor not written", exc_info=True, extra={"timer": timer.name})


def _conversations(
    store: Store, chosen: list[StatusEntry], result: AutomationResult
) -> dict[str, Conversation]:
    try:
        found = attempts(partial(store.get_conversations, [e.table_key for e in chosen], result.reads))
    except Exception:
        logger.warning("due conversations not read this run", exc_info=True, extra={"count": len(chosen)})
        return {}
    return {conv.id: conv for conv in found}


def _act(
    store: Store,
    timer: Timer,
    entry: StatusEntry,
    conv: Conversation | None,
    now: datetime,
    config: ConfigDocument,
    send: Sender,
    result: AutomationResult,
) -> Outcome:
    if conv is None:
        result.held += 1
        return HOLD  # not read this run (or a lagging index entry of a removed item): next run
    if conv.status != timer.status or turn_of(conv) != entry.turn_at:
        return SKIP  # the index lags the table: the conversation's current entry sorts later
    result.due += 1
    try:
        if timer.kind == "resolve":
            outcome, details = resolve_one(store, conv, now, config.automation, send)
            if outcome == DONE and details:
                result.resolved += 1
                result.closing_sent += int(details.get("closing_message", {}).get("status") == "sent")
        else:
            outcome, details = reassign_one(store, conv, now, config)
            if outcome == DONE and details:
                result.reassigned += 1
    except Exception:
        result.failed += 1
        logger.exception("automation failed on one conversation", extra={"conversation_id": conv.id})
        return HOLD
    if outcome == HOLD:
        result.held += 1
    return outcome


def _emit(result: AutomationResult) -> None:
    for name, value in (
        ("AutoResolved", result.resolved),
        ("ClosingMessagesSent", result.closing_sent),
        ("AssigneeTimerReassigned", result.reassigned),
        ("AutomationFailures", result.failed),
        ("AutomationShardsNotRead", result.shards_not_read),
        ("AutomationDue", result.due),
        ("AutomationItemsRead", result.reads.total_items),
    ):
        metrics.add_metric(name=name, unit="Count", value=value)


Runner = Callable[[Store, datetime, ConfigDocument, Sender], AutomationResult]
