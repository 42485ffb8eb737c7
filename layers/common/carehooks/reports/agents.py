"""Per-agent and per-team figures (pure), from the conversations of a period and their agents' ledgers.

"In the range" means what it means for the summary: the conversations **created** in ``[from, to)`` (a
cohort), with everything that happened in them, also after ``to``. Each figure is credited to the person
who acted (:mod:`carehooks.domain.ledger`); a reassigned conversation counts for each agent for what
each did. Definitions (``docs/reports.md`` repeats them):

- conversations handled: the agent was assigned to it at some write, replied in it, or resolved it;
- replies: the agent's replies (a person's message; acknowledgements and surveys never count);
- first response: the conversation's first reply by a person, credited to that person, from the
  customer's first message; next response: each later reply to a customer who waited (from the first
  customer message of the wait); resolution: from the customer's first message to the resolution,
  credited to whoever resolved it;
- SLA attainment: the SLA clocks that stopped, each credited to whoever stopped it (the replier for the
  response clocks, the resolver for resolution), ``met / (met + missed)`` per metric;
- CSAT: the ratings credited to the agent (the survey's agent), their average, count and the share of
  4 and 5;
- first-contact resolution: of the conversations the agent resolved, the share that had exactly one
  reply by a person and were never reopened (a reopening happens within the reopen window, at most
  7 days; later the customer starts a new conversation);
- handle time: the sum, over the agent's replies, of the time from the customer's latest message (or the
  previous person's reply, whichever is later) to the reply, each capped at 15 minutes
  (:data:`carehooks.domain.ledger.HANDLE_CAP`); also per conversation handled.

A team's figures are the union of its members' (agents list their ``teams`` in the configuration): a
conversation two members handled counts once for the team; agents in no team form the team ``(none)``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from carehooks.clock import iso
from carehooks.config.calendars import Calendar, working_time_between
from carehooks.domain import ledger
from carehooks.domain.conversations import apply_message, started_at
from carehooks.domain.models import Conversation, Message
from carehooks.reports.summary import Filters, Period, quantile

EVERYTHING = Filters()

NO_TEAM = "(none)"
SATISFIED = 4  # a score of 4 or 5


@dataclass
class Tally:
    """What one agent (or team) did in the conversations of a period."""

    handled: set[str] = field(default_factory=set)
    replies: int = 0
    first: list[tuple[datetime, datetime]] = field(default_factory=list)
    next: list[tuple[datetime, datetime]] = field(default_factory=list)
    resolution: list[tuple[datetime, datetime]] = field(default_factory=list)
    sla: dict[str, list[int]] = field(default_factory=lambda: {m: [0, 0] for m in ledger.SLA_METRICS})
    scores: list[int] = field(default_factory=list)
    resolved: int = 0
    first_contact: int = 0
    handle_seconds: int = 0


def replayed(conv: Conversation, messages: Iterable[Message]) -> Conversation:
    """``conv`` with its replies and hours rebuilt from its messages, without the item's caps (for a
    conversation marked ``lg_full``); assignment and SLA credits are kept as stored."""
    stored = ledger.entries(conv)
    state = Conversation(
        id=conv.id,
        channel=conv.channel,
        account_id=conv.account_id,
        contact_id=conv.contact_id,
        created_at=conv.created_at,
    )
    uncapped: dict[str, Any] = {}
    for message in sorted(messages, key=lambda m: (m.sent_at, m.platform_message_id)):
        ledger.after_message(replace(state, extra=uncapped), uncapped, message, capped=False)
        state = apply_message(state, message)
    rebuilt = ledger.entries(replace(state, extra=uncapped))
    for agent, entry in stored.items():
        mine = rebuilt.setdefault(agent, ledger.AgentEntry())
        mine.assigned, mine.sla = entry.assigned, entry.sla
    extra = {**conv.extra, ledger.HOURS_ATTR: uncapped.get(ledger.HOURS_ATTR, "")}
    extra[ledger.LEDGER_ATTR] = {agent: entry.encode() for agent, entry in rebuilt.items()}
    return replace(conv, extra=extra)


def _score(conv: Conversation) -> int | None:
    score = (conv.csat or {}).get("score")
    return score if isinstance(score, int) and 1 <= score <= 5 else None


def _person_replies(entries: Mapping[str, ledger.AgentEntry]) -> int:
    return sum(entry.replies for entry in entries.values())


def tally(
    convs: Iterable[Conversation], groups_of: Callable[[str], Sequence[str]], only: str | None = None
) -> dict[str, Tally]:
    """Each group's tally over ``convs``; ``groups_of(agent)`` names the groups an agent's actions count
    for (the agent itself, or their teams). ``only``: count one agent's actions alone."""
    out: dict[str, Tally] = defaultdict(Tally)

    def groups(agent: str | None) -> Sequence[str]:
        if not agent or (only is not None and agent != only):
            return ()
        return groups_of(agent)

    for conv in convs:
        entries = ledger.entries(conv)
        base = ledger.base_hour(conv)
        resolver = conv.extra.get(ledger.RESOLVED_BY_ATTR)
        resolver = str(resolver) if resolver else None
        actors = set(entries) | {a for a in (conv.assignee, conv.first_responder) if a}
        if conv.status == "resolved" and resolver:
            actors.add(resolver)
        for agent in actors:
            for group in groups(agent):
                out[group].handled.add(conv.id)
        for agent, entry in entries.items():
            for group in groups(agent):
                _add_entry(out[group], entry, base)
        if conv.first_response_at is not None:
            for group in groups(conv.first_responder):
                out[group].first.append((started_at(conv), conv.first_response_at))
        if conv.status == "resolved" and conv.resolved_at is not None:
            single = _person_replies(entries) == 1 and "reopened_at" not in conv.extra
            for group in groups(resolver):
                t = out[group]
                t.resolution.append((started_at(conv), conv.resolved_at))
                t.resolved += 1
                t.first_contact += int(single)
        score = _score(conv)
        rated = (conv.csat or {}).get("agent")
        if score is not None and rated:
            for group in groups(str(rated)):
                out[group].scores.append(score)
    return dict(out)


def _add_entry(t: Tally, entry: ledger.AgentEntry, base: datetime) -> None:
    t.replies += entry.replies
    t.handle_seconds += entry.handle_seconds
    for start, seconds in entry.next_responses:
        wait = base + timedelta(seconds=start)
        t.next.append((wait, wait + timedelta(seconds=seconds)))
    for metric, (met, missed) in entry.sla.items():
        t.sla[metric][0] += met
        t.sla[metric][1] += missed


def _spread(values: list[float]) -> dict[str, float | None]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {"median_seconds": rounded(quantile(values, 0.5)), "p90_seconds": rounded(quantile(values, 0.9))}


def durations(pairs: list[tuple[datetime, datetime]], calendar: Calendar | None) -> dict[str, Any]:
    """Count, median and p90 in calendar time, and in the calendar's open hours (None without one)."""
    seconds = [max((end - start).total_seconds(), 0.0) for start, end in pairs]
    business = None
    if calendar is not None:
        business = _spread([working_time_between(calendar, s, e).total_seconds() for s, e in pairs])
    return {"count": len(pairs), "calendar": _spread(seconds), "business": business}


def figures(t: Tally, calendar: Calendar | None) -> dict[str, Any]:
    """The report row of one tally (without its name)."""
    sla: dict[str, Any] = {}
    for metric, (met, missed) in t.sla.items():
        total = met + missed
        sla[metric] = {"met": met, "missed": missed, "attainment": round(met / total, 4) if total else None}
    satisfied = sum(1 for s in t.scores if s >= SATISFIED)
    handled = len(t.handled)
    return {
        "conversations_handled": handled,
        "replies": t.replies,
        "first_response": durations(t.first, calendar),
        "next_response": durations(t.next, calendar),
        "resolution": durations(t.resolution, calendar),
        "sla": sla,
        "csat": {
            "responses": len(t.scores),
            "average": round(sum(t.scores) / len(t.scores), 2) if t.scores else None,
            "satisfied_share": round(satisfied / len(t.scores), 4) if t.scores else None,
        },
        "first_contact_resolution": {
            "resolved": t.resolved,
            "first_contact": t.first_contact,
            "rate": round(t.first_contact / t.resolved, 4) if t.resolved else None,
        },
        "handle_time": {
            "total_seconds": t.handle_seconds,
            "per_conversation_seconds": round(t.handle_seconds / handled, 1) if handled else None,
        },
    }


def _cohort(convs: Iterable[Conversation], period: Period, filters: Filters) -> list[Conversation]:
    # The agent filter picks whose actions count, not conversations.
    matches = replace(filters, agent=None).matches
    return [c for c in convs if period.start <= c.created_at < period.end and matches(c)]


def _head(period: Period, filters: Filters) -> dict[str, Any]:
    return {"period": {"from": iso(period.start), "to": iso(period.end)}, "filters": filters.as_dict()}


def agents_report(
    convs: Iterable[Conversation],
    period: Period,
    filters: Filters = EVERYTHING,
    calendar: Calendar | None = None,
    names: Mapping[str, str] | None = None,
    teams: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """One row per person who acted in the conversations created in ``period`` (sorted by id)."""
    tallies = tally(_cohort(convs, period, filters), lambda agent: (agent,), filters.agent)
    items = [
        {
            "agent": agent,
            "name": (names or {}).get(agent),
            "teams": list((teams or {}).get(agent, ())),
            **figures(tallies[agent], calendar),
        }
        for agent in sorted(tallies)
    ]
    return {**_head(period, filters), "items": items}


def teams_report(
    convs: Iterable[Conversation],
    period: Period,
    filters: Filters = EVERYTHING,
    calendar: Calendar | None = None,
    team_names: Mapping[str, str] | None = None,
    teams: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """One row per team whose members acted in the conversations created in ``period``; agents in no
    team form :data:`NO_TEAM`."""
    membership = teams or {}

    def teams_of(agent: str) -> Sequence[str]:
        return list(membership.get(agent) or ()) or (NO_TEAM,)

    tallies = tally(_cohort(convs, period, filters), teams_of, filters.agent)
    members: dict[str, set[str]] = defaultdict(set)
    for agent, mine in membership.items():
        for team in mine:
            members[team].add(agent)
    items = [
        {
            "team": team,
            "name": (team_names or {}).get(team),
            "agents": sorted(members.get(team, ())),
            **figures(tallies[team], calendar),
        }
        for team in sorted(tallies)
    ]
    return {**_head(period, filters), "items": items}
