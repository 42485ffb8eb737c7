"""When automation is due (pure: a configuration, a conversation or an index item, a time).

Timers count calendar time: a customer who does not answer for 48 hours over a weekend has not answered
for 48 hours (business hours would keep a conversation pending over every weekend). Times are UTC instants,
so a daylight-saving change neither shortens nor lengthens a wait.

- ``pending`` auto-resolve: due ``after`` past the conversation's turn (when a person's reply made it wait
  on the customer: the turn is the list sort key, :func:`carehooks.domain.conversations.turn`);
- ``open`` auto-resolve: due ``after`` past its last message, either side;
- assignee timer: an open, assigned conversation, due ``after`` past the turn (when the customer started
  waiting).

A run reads, per timer, the ``ByStatus`` index items that turned between the timer's cursor and
``now - after`` (the first entry matching the index item's channel, tags and priority decides whether it
is this timer's), acts on those due, and moves the cursor over what it dealt with: never past an item it
must look at again (``hold``: a fault, an open conversation with later messages), and never closer to
``now - after`` than :data:`MARGIN`, so a message stored late (a platform or queue delay) with an older
turn is still found. Items inside the margin that are not this timer's are read again by the next runs
(at most MARGIN's worth of runs); everything acted on leaves the index partition (resolved) or is known by
its claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from carehooks.config.automation import AutomationConfig, ResolvableStatus, ResolveEntry
from carehooks.domain.models import Conversation
from carehooks.store import keys
from carehooks.store.automation import StatusEntry

MARGIN = timedelta(minutes=10)
TimerKind = Literal["resolve", "assignee"]
Outcome = Literal["done", "skip", "hold"]
DONE: Outcome = "done"
SKIP: Outcome = "skip"
HOLD: Outcome = "hold"


@dataclass(frozen=True)
class Timer:
    """One scan: a timer kind, the status it reads and its ``after``."""

    kind: TimerKind
    status: ResolvableStatus
    after: timedelta

    @property
    def name(self) -> str:
        return keys.automation_cursor_sk(self.kind, self.status, int(self.after.total_seconds()))


def timers(config: AutomationConfig) -> list[Timer]:
    """Every scan the configuration asks for: one per status and distinct ``after``, and the assignee
    timer's when enabled."""
    found: list[Timer] = []
    for status in ("pending", "open"):
        afters = sorted({entry.after for entry in config.auto_resolve.entries(status)})
        found.extend(Timer("resolve", status, after) for after in afters)
    if config.assignee_timer.enabled:
        found.append(Timer("assignee", "open", config.assignee_timer.after))
    return found


def selects(timer: Timer, entry: StatusEntry, config: AutomationConfig) -> bool:
    """Whether an index item (already turned at or before ``now - after``) is this timer's to act on."""
    if timer.kind == "assignee":
        return entry.assignee is not None
    found = config.auto_resolve.entry_for(timer.status, entry.channel, entry.tags, entry.priority)
    return found is not None and found[1].after == timer.after


def resolve_due(conv: Conversation, config: AutomationConfig) -> tuple[datetime, int, ResolveEntry] | None:
    """When the conversation is auto-resolved, by which entry (its index): None when no entry applies."""
    if conv.status not in ("pending", "open"):
        return None
    status: ResolvableStatus = "pending" if conv.status == "pending" else "open"
    found = config.auto_resolve.entry_for(status, conv.channel, conv.tags, conv.priority)
    if found is None:
        return None
    index, entry = found
    since = turn_of(conv)
    if status == "open":
        since = max(since, (conv.last_activity_at or since).astimezone(UTC))
    return since + entry.after, index, entry


def assignee_due(conv: Conversation, config: AutomationConfig) -> datetime | None:
    """When the assignee timer fires for this conversation (None: not enabled, not open, unassigned)."""
    timer = config.assignee_timer
    if not timer.enabled or conv.status != "open" or conv.assignee is None:
        return None
    return turn_of(conv) + timer.after


def turn_of(conv: Conversation) -> datetime:
    """The conversation's turn as its list sort key holds it, in UTC (so adding a duration adds real time:
    Python adds wall-clock time to a datetime of a zone with daylight saving)."""
    return (conv.turn_at or conv.last_activity_at or conv.created_at).astimezone(UTC)


def next_mark(old: str | None, seen: Sequence[tuple[str, Outcome]], upto: str, floor: str) -> str | None:
    """The cursor of one partition after a run: past everything dealt with in ``seen`` (the run's index
    items in sort order, each with its outcome; all of them ``<= upto``), up to the first ``hold``, and
    never past ``floor`` (now - after - MARGIN) nor back before ``old``."""
    candidate = upto
    last = old
    for list_sk, outcome in seen:
        if outcome == HOLD:
            candidate = last or ""
            break
        last = list_sk
    new = min(candidate, floor)
    if old is not None and new <= old:
        return old
    return new or None
