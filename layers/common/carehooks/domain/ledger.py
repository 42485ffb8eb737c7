"""The per-agent ledger of a conversation: what each person did in it, for team reports (pure).

Kept on the conversation item, which every reply, assignment and resolution already writes, so the
figures cost no extra write and a report reads them with the conversations of its range (``ByCreated``).
Two compact string attributes (tens of bytes; a conversation item must stay under 1 KB):

- ``lg`` (a map): agent id → ``"<assigned> <replies> <handle s> <fr met> <fr missed> <nr met> <nr missed>
  <res met> <res missed>|<wait start>+<seconds>,…"``. Trailing zero counts are left out; after ``|`` come
  the agent's **next** responses (a reply to a customer who waited, after the conversation's first
  response), each as its wait's start (seconds after the conversation's creation hour) and its length in
  seconds, so business time can be measured later with any calendar. ``lg_n`` counts the SLA outcomes
  (``sla_attainment``) already credited to someone.
- ``lh``: ``"<slot> <count>,…"``: the customer's messages by quarter hour (slots of 15 minutes after the
  conversation's creation hour, in platform time), for the weekday-by-hour heatmap: a quarter hour falls
  in one local hour in every time zone (India's +05:30 and Nepal's +05:45 too).

Exact under redelivery and reordering: the ledger is updated in :func:`carehooks.domain.conversations.
apply_message`, which runs once per stored message (a redelivered message finds its ``seq`` accounted
and is not applied again), inside the same versioned conversation write; assignment and SLA outcomes are
credited by :func:`ledger_deriver`, idempotent on every write. A ledger that would outgrow its caps
(:data:`MAX_NEXT`, :data:`MAX_SLOTS`) is marked ``lg_full``: a report then rebuilds that conversation's
ledger from its messages (:func:`carehooks.reports.agents.replayed`), so figures stay exact and the item stays small.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from carehooks.domain.models import AUTOMATION_AUTHOR, Conversation, Direction, Message

LEDGER_ATTR = "lg"
HOURS_ATTR = "lh"
CREDITED_ATTR = "lg_n"  # SLA outcomes already credited to an agent
FULL_ATTR = "lg_full"  # a cap was reached: reports rebuild this conversation's ledger from its messages
SLA_OUTCOMES_ATTR = "sla_attainment"  # written by the SLA clocks (carehooks.sla.clocks)
RESOLVED_BY_ATTR = "resolved_by"  # written when an agent resolves (carehooks.api.conversations)

# Handle time: a reply's share is the time since the customer's latest message (or the previous
# person's reply, whichever is later), capped: an agent is taken to work on one reply at most this long.
HANDLE_CAP = timedelta(minutes=15)
MAX_NEXT = 12  # next responses kept per agent on the item
MAX_SLOTS = 24  # distinct quarter hours with customer messages kept on the item
SLOT = timedelta(minutes=15)
SLA_METRICS = ("first_response", "next_response", "resolution")
_COUNTS = 9  # assigned, replies, handle, then met/missed per SLA metric


@dataclass
class AgentEntry:
    """What one person did in one conversation."""

    assigned: bool = False
    replies: int = 0
    handle_seconds: int = 0
    sla: dict[str, list[int]] = field(default_factory=lambda: {m: [0, 0] for m in SLA_METRICS})
    # Next responses: (wait start, seconds after the conversation's creation hour; length in seconds).
    next_responses: list[tuple[int, int]] = field(default_factory=list)

    def encode(self) -> str:
        counts = [int(self.assigned), self.replies, self.handle_seconds]
        for metric in SLA_METRICS:
            counts += self.sla[metric]
        while counts and counts[-1] == 0:
            counts.pop()
        head = " ".join(str(c) for c in counts)
        if not self.next_responses:
            return head
        return head + "|" + ",".join(f"{start}+{seconds}" for start, seconds in self.next_responses)

    @classmethod
    def decode(cls, text: str) -> AgentEntry:
        head, _, tail = text.partition("|")
        counts = [int(c) for c in head.split()] + [0] * _COUNTS
        entry = cls(assigned=bool(counts[0]), replies=counts[1], handle_seconds=counts[2])
        for i, metric in enumerate(SLA_METRICS):
            entry.sla[metric] = [counts[3 + 2 * i], counts[4 + 2 * i]]
        for pair in filter(None, tail.split(",")):
            start, _, seconds = pair.partition("+")
            entry.next_responses.append((int(start), int(seconds)))
        return entry


def base_hour(conv: Conversation) -> datetime:
    """The conversation's creation hour: ledger times are counted from it."""
    return conv.created_at.replace(minute=0, second=0, microsecond=0)


def entries(conv: Conversation) -> dict[str, AgentEntry]:
    """The ledger of ``conv``: agent id → what they did (empty for conversations from before it)."""
    stored = conv.extra.get(LEDGER_ATTR)
    if not isinstance(stored, dict):
        return {}
    return {str(agent): AgentEntry.decode(str(text)) for agent, text in stored.items()}


def slot_of(at: datetime) -> datetime:
    """The start of the quarter hour ``at`` falls in."""
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)


def slots(conv: Conversation) -> dict[datetime, int]:
    """The customer's messages of ``conv`` by quarter hour (the slot's start → messages)."""
    stored = conv.extra.get(HOURS_ATTR)
    if not isinstance(stored, str) or not stored:
        return {}
    base = base_hour(conv)
    out: dict[datetime, int] = {}
    for pair in stored.split(","):
        slot, _, count = pair.partition(" ")
        out[base + SLOT * int(slot)] = int(count)
    return out


def is_full(conv: Conversation) -> bool:
    return bool(conv.extra.get(FULL_ATTR))


def _store(extra: dict[str, Any], ledger: dict[str, AgentEntry]) -> None:
    extra[LEDGER_ATTR] = {agent: entry.encode() for agent, entry in ledger.items()}


def _is_person(author: str | None) -> bool:
    return bool(author) and author != AUTOMATION_AUTHOR


def after_message(before: Conversation, extra: dict[str, Any], message: Message, capped: bool = True) -> None:
    """Account ``message`` in the ledger held by ``extra`` (the conversation's, being updated), given the
    conversation ``before`` it. Called once per stored message by ``apply_message``."""
    base = base_hour(before)
    if message.direction is Direction.IN:
        counted = slots(replace(before, extra=extra))
        slot = slot_of(message.sent_at)
        counted[slot] = counted.get(slot, 0) + 1
        if capped and len(counted) > MAX_SLOTS:
            extra[FULL_ATTR] = True
            return
        offsets = sorted((int((t - base) // SLOT), n) for t, n in counted.items())
        extra[HOURS_ATTR] = ",".join(f"{t} {n}" for t, n in offsets)
        return
    if not _is_person(message.author):
        return
    assert message.author is not None
    ledger = entries(replace(before, extra=extra))
    entry = ledger.setdefault(message.author, AgentEntry())
    entry.replies += 1
    since = max((t for t in (before.last_inbound_at, before.last_response_at) if t is not None), default=None)
    if since is not None and message.sent_at > since:
        entry.handle_seconds += int(min(message.sent_at - since, HANDLE_CAP).total_seconds())
    waiting = before.last_inbound_at is not None and (
        before.last_response_at is None or before.last_response_at < before.last_inbound_at
    )
    wait_start = before.turn_at
    answered_wait = waiting and before.first_response_at is not None and wait_start is not None
    if answered_wait and wait_start is not None and message.sent_at > wait_start:
        start = int((wait_start - base).total_seconds())
        entry.next_responses.append((start, int((message.sent_at - wait_start).total_seconds())))
        if capped and len(entry.next_responses) > MAX_NEXT:
            extra[FULL_ATTR] = True
            entry.next_responses.pop()
    _store(extra, ledger)


def credit(conv: Conversation) -> Conversation:
    """Credit the current assignee and the SLA outcomes not yet credited (idempotent).

    A response clock stops when a person answers: its outcome goes to the latest responder. The
    resolution clock stops on resolution: its outcome goes to whoever resolved (else the assignee).
    """
    ledger = entries(conv)
    changed = False
    if conv.assignee and not (conv.assignee in ledger and ledger[conv.assignee].assigned):
        ledger.setdefault(conv.assignee, AgentEntry()).assigned = True
        changed = True
    outcomes = conv.extra.get(SLA_OUTCOMES_ATTR)
    outcomes = outcomes if isinstance(outcomes, list) else []
    credited = int(conv.extra.get(CREDITED_ATTR) or 0)
    # The clocks keep their latest 100 outcomes only: past that, new ones are not credited (documented).
    credited = min(credited, len(outcomes))
    fresh = outcomes[credited:]
    for outcome in fresh:
        if not isinstance(outcome, dict) or outcome.get("metric") not in SLA_METRICS:
            continue
        metric = str(outcome["metric"])
        if metric == "resolution":
            who = conv.extra.get(RESOLVED_BY_ATTR) or conv.assignee
        else:
            who = conv.last_responder
        if not who or not _is_person(str(who)):
            continue
        ledger.setdefault(str(who), AgentEntry()).sla[metric][0 if outcome.get("met") else 1] += 1
        changed = True
    if not changed and not fresh:
        return conv
    extra = dict(conv.extra)
    if changed:
        _store(extra, ledger)
    extra[CREDITED_ATTR] = len(outcomes)
    return replace(conv, extra=extra)


def ledger_deriver(conv: Conversation, now: datetime) -> Conversation:
    """The deriver the store runs on every conversation write (after the SLA clocks): see :func:`credit`."""
    return credit(conv)
