"""The SLA clocks of one conversation: a pure state machine over the conversation's own timestamps.

Two clocks run while the customer waits for a person (the customer wrote last and the conversation is
not resolved):

- the **response** clock, from the first customer message of the wait until a person answers: the
  first response of the conversation, or a next response after an earlier answer;
- the **resolution** clock, from the first customer message of the conversation (or of its reopening)
  until it is resolved. It pauses while the conversation waits on the customer (a person answered
  last) and resumes when the customer writes again; the open time already used is kept.

Automatic acknowledgements and other messages carehooks sends by itself never count as an answer: the
store sets ``first_response_at`` / ``last_response_at`` only for messages written by a person.

The state lives in ``conv.extra["sla"]``; what is due next is the typed ``Conversation.sla_due_at`` (the
store turns it into the sparse index keys), so the monitor finds due conversations with one Query per
shard. ``Conversation.sla_state`` is what agent lists filter on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from carehooks.clock import iso, parse_iso
from carehooks.config.calendars import Calendar, add_working_time, working_time_between
from carehooks.config.sla import LevelKind, Metric, Policy, SlaConfig, Step
from carehooks.domain.models import Conversation

STATE_ATTRIBUTE = "sla"
# Outcomes of the clocks that stopped, ``[{"metric", "met", "policy"}, …]`` (what reports count).
ATTAINMENT_ATTRIBUTE = "sla_attainment"
# A conversation with endless back-and-forth keeps its latest outcomes only (the item stays small).
ATTAINMENT_KEPT = 100

CalendarFor = Callable[[str | None], Calendar]


@dataclass
class SlaState:
    """What the clocks remember between writes of the conversation."""

    policy: str | None = None
    wait_metric: Metric | None = None
    wait_since: datetime | None = None
    wait_done: list[str] = field(default_factory=list)
    res_since: datetime | None = None
    res_running_since: datetime | None = None
    res_used: timedelta = timedelta(0)
    res_done: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, data: Any) -> SlaState:
        """Read the stored map (tolerant: an unreadable state starts afresh rather than blocking writes)."""
        if not isinstance(data, dict):
            return cls()
        try:
            return cls(
                policy=data.get("policy"),
                wait_metric=Metric(data["wait_metric"]) if data.get("wait_metric") else None,
                wait_since=_time(data.get("wait_since")),
                wait_done=[str(s) for s in data.get("wait_done") or []],
                res_since=_time(data.get("res_since")),
                res_running_since=_time(data.get("res_running_since")),
                res_used=timedelta(seconds=float(data.get("res_used_s") or 0)),
                res_done=[str(s) for s in data.get("res_done") or []],
            )
        except (ValueError, TypeError, KeyError):
            return cls()

    def dump(self) -> dict[str, Any]:
        """The map stored on the conversation (no empty values: DynamoDB keeps it small)."""
        data: dict[str, Any] = {
            "policy": self.policy,
            "wait_metric": str(self.wait_metric) if self.wait_metric else None,
            "wait_since": iso(self.wait_since) if self.wait_since else None,
            "wait_done": list(self.wait_done) or None,
            "res_since": iso(self.res_since) if self.res_since else None,
            "res_running_since": iso(self.res_running_since) if self.res_running_since else None,
            "res_used_s": round(self.res_used.total_seconds(), 3) or None,
            "res_done": list(self.res_done) or None,
        }
        return {k: v for k, v in data.items() if v is not None}


def _time(value: Any) -> datetime | None:
    return parse_iso(value) if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Due:
    """One rung of one clock and when it is (or was) due."""

    metric: Metric
    cycle: datetime  # when this clock's cycle started: identifies the alert across runs
    step: Step
    due_at: datetime
    policy: Policy
    waiting_since: datetime  # shown as the wait in alerts (wall-clock)

    @property
    def target(self) -> timedelta:
        value = self.policy.target(self.metric)
        assert value is not None
        return value


@dataclass(frozen=True)
class Attainment:
    """A clock that stopped: whether the target was met (for the attainment metric)."""

    policy: str
    metric: Metric
    met: bool


def answered_at(conv: Conversation) -> datetime | None:
    """When a person last answered (never an automatic message)."""
    times = [t for t in (conv.last_response_at, conv.first_response_at) if t is not None]
    return max(times) if times else None


def waiting_on_agent(conv: Conversation) -> bool:
    """True while the customer waits for a person: they wrote last and it is not resolved."""
    if conv.status == "resolved" or conv.last_inbound_at is None:
        return False
    answered = answered_at(conv)
    return answered is None or conv.last_inbound_at > answered


def state_of(conv: Conversation) -> SlaState:
    return SlaState.load(conv.extra.get(STATE_ATTRIBUTE))


def derive_sla(
    conv: Conversation, config: SlaConfig, calendar_for: CalendarFor
) -> tuple[Conversation, list[Attainment]]:
    """Advance the clocks to the conversation's state and write the next due time (pure).

    Returns the conversation with ``extra`` updated, and the clocks that stopped with their outcome.
    """
    state = state_of(conv)
    policy = config.policy_for(conv)
    calendar = calendar_for(policy.calendar if policy else None)
    outcomes = _advance_response(state, conv, policy, calendar)
    outcomes += _advance_resolution(state, conv, policy, calendar)
    state.policy = policy.id if policy else None

    extra = dict(conv.extra)
    extra[STATE_ATTRIBUTE] = state.dump()
    if outcomes:
        recorded = extra.get(ATTAINMENT_ATTRIBUTE)
        history = list(recorded) if isinstance(recorded, list) else []
        history += [{"metric": o.metric.value, "met": o.met, "policy": o.policy} for o in outcomes]
        extra[ATTAINMENT_ATTRIBUTE] = history[-ATTAINMENT_KEPT:]
    upcoming = schedule(state, policy, config, calendar)
    due_at = min(d.due_at for d in upcoming) if upcoming else None
    return replace(conv, extra=extra, sla_due_at=due_at, sla_state=list_state(state)), outcomes


def list_state(state: SlaState) -> str:
    """The SLA state agent lists filter on, as the monitor last left the clocks.

    ``none`` (no clock runs), ``running``, ``warning`` (the warning went out), ``breached`` (the breach or
    an escalation went out). It follows the monitor, which runs every minute.
    """
    done = [*state.wait_done, *state.res_done]
    if any(step == "breach" or step.startswith("escalation") for step in done):
        return "breached"
    if "warning" in done:
        return "warning"
    if state.wait_since or state.res_running_since:
        return "running"
    return "none"


def _advance_response(
    state: SlaState, conv: Conversation, policy: Policy | None, calendar: Calendar
) -> list[Attainment]:
    """A wait ends when a person answers after it began (or on resolution); a new one starts when the
    customer writes while nobody owes them an answer."""
    outcomes: list[Attainment] = []
    waiting = waiting_on_agent(conv)
    answered = answered_at(conv)
    ongoing = waiting and (answered is None or (state.wait_since is not None and state.wait_since > answered))
    if state.wait_since is not None and not ongoing:
        target = policy.target(state.wait_metric) if policy and state.wait_metric else None
        answered_this_wait = answered is not None and answered >= state.wait_since
        if (
            policy
            and state.wait_metric
            and target is not None
            and answered is not None
            and answered_this_wait
        ):
            due = add_working_time(calendar, state.wait_since, target)
            outcomes.append(Attainment(policy.id, state.wait_metric, due is None or answered <= due))
        state.wait_since, state.wait_metric, state.wait_done = None, None, []
    if waiting and state.wait_since is None:
        assert conv.last_inbound_at is not None
        state.wait_since = conv.last_inbound_at
        state.wait_metric = Metric.FIRST_RESPONSE if conv.first_response_at is None else Metric.NEXT_RESPONSE
        state.wait_done = []
    if waiting and state.wait_metric is Metric.FIRST_RESPONSE and state.wait_since is not None:
        _start_at_first_message(state, conv)
    return outcomes


def _start_at_first_message(state: SlaState, conv: Conversation) -> None:
    """Nobody has answered yet: the customer has waited since their first message, in platform time.

    A message delivered late (processed after a later one) moves the clocks' start back to it; the
    rungs already done stay done.
    """
    first = conv.first_inbound_at
    if first is None or state.wait_since is None or first >= state.wait_since:
        return
    before = state.wait_since
    state.wait_since = first
    if state.res_since == before:
        state.res_since = first
    if state.res_running_since == before:
        state.res_running_since = first


def _advance_resolution(
    state: SlaState, conv: Conversation, policy: Policy | None, calendar: Calendar
) -> list[Attainment]:
    """Runs while the customer waits for a person, pauses while waiting on the customer, ends on resolve."""
    outcomes: list[Attainment] = []
    if conv.status == "resolved":
        target = policy.target(Metric.RESOLUTION) if policy else None
        if state.res_since is not None and policy and target is not None:
            used = state.res_used
            if state.res_running_since is not None and conv.resolved_at is not None:
                used += working_time_between(calendar, state.res_running_since, conv.resolved_at)
            outcomes.append(Attainment(policy.id, Metric.RESOLUTION, used <= target))
        state.res_since = state.res_running_since = None
        state.res_used, state.res_done = timedelta(0), []
    elif waiting_on_agent(conv):
        if state.res_since is None:
            state.res_since = state.res_running_since = state.wait_since
            state.res_used, state.res_done = timedelta(0), []
        elif state.res_running_since is None:
            state.res_running_since = state.wait_since
    elif state.res_running_since is not None:
        answered = answered_at(conv)
        paused_at = answered if answered is not None else state.res_running_since
        state.res_used += working_time_between(calendar, state.res_running_since, paused_at)
        state.res_running_since = None
    return outcomes


def schedule(state: SlaState, policy: Policy | None, config: SlaConfig, calendar: Calendar) -> list[Due]:
    """Every rung not yet done of the running clocks, with its due time."""
    if policy is None:
        return []
    out: list[Due] = []
    if state.wait_since is not None and state.wait_metric is not None:
        for step in config.ladder(policy, state.wait_metric):
            if step.name in state.wait_done:
                continue
            due = add_working_time(calendar, state.wait_since, step.at)
            if due is not None:
                out.append(Due(state.wait_metric, state.wait_since, step, due, policy, state.wait_since))
    if state.res_since is not None and state.res_running_since is not None:
        for step in config.ladder(policy, Metric.RESOLUTION):
            if step.name in state.res_done:
                continue
            due = add_working_time(calendar, state.res_running_since, step.at - state.res_used)
            if due is not None:
                out.append(Due(Metric.RESOLUTION, state.res_since, step, due, policy, state.res_since))
    return out


def due_now(
    conv: Conversation, now: datetime, config: SlaConfig, calendar_for: CalendarFor
) -> tuple[list[Due], list[Due]]:
    """What to alert about now: ``(to_send, superseded)``.

    A warning that is due together with a later rung of the same clock (the monitor was late, or the
    target was changed) is superseded: it is marked done without an email, since the breach says more.
    """
    current, _ = derive_sla(conv, config, calendar_for)
    state = state_of(current)
    policy = config.policy_for(conv)
    if policy is None:
        return [], []
    calendar = calendar_for(policy.calendar)
    send: list[Due] = []
    superseded: list[Due] = []
    by_metric: dict[Metric, list[Due]] = {}
    for due in schedule(state, policy, config, calendar):
        if due.due_at <= now:
            by_metric.setdefault(due.metric, []).append(due)
    for dues in by_metric.values():
        dues.sort(key=lambda d: d.step.at)
        for due in dues:
            if due.step.kind is LevelKind.WARNING and len(dues) > 1:
                superseded.append(due)
            else:
                send.append(due)
    return send, superseded


def mark_done(conv: Conversation, done: list[Due]) -> Conversation:
    """Record rungs as done on the conversation, if their clock cycle is still the current one."""
    state = state_of(conv)
    for due in done:
        if due.metric is Metric.RESOLUTION:
            if state.res_since == due.cycle and due.step.name not in state.res_done:
                state.res_done.append(due.step.name)
        elif state.wait_since == due.cycle and due.step.name not in state.wait_done:
            state.wait_done.append(due.step.name)
    extra = dict(conv.extra)
    extra[STATE_ATTRIBUTE] = state.dump()
    return replace(conv, extra=extra, sla_state=list_state(state))
