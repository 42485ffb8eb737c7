"""The summary report (pure): figures over every conversation created in a period, never a sample.

Definitions (the README's report section repeats them):

- A period is ``[start, end)``; its figures cover the conversations **created** in it (a cohort), and
  the previous period is the one of the same length just before it.
- First response time: from the customer's first message (``first_inbound_at``, else the creation) to
  the first reply written by a person (automatic acknowledgements never count). Resolution time: from the
  same start to ``resolved_at``, for conversations resolved now.
- Median and p90 interpolate linearly between the two nearest values (numpy's default, Python's
  ``statistics.quantiles(method="inclusive")``). Business time counts only the open hours of the
  default business-hours calendar; without one it is ``null``.
- SLA attainment: the share of stopped SLA clocks that met their target, per metric, as the SLA module
  records them on the conversation.
- CSAT: average and distribution of the scores given; response rate = rated / surveyed (survey sent).
- Public and private: public conversations are comment threads (Facebook Page, Instagram; X posts),
  private ones direct conversations. ``visibility`` repeats volume, first response, resolution and SLA
  attainment for each, since public targets are usually tighter; ``filters.visibility`` keeps one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from carehooks.clock import iso
from carehooks.config.calendars import Calendar, working_time_between
from carehooks.domain.conversations import started_at
from carehooks.domain.models import Conversation
from carehooks.surveys.answers import agent_of
from carehooks.surveys.policy import survey_state

TOP_TAGS = 10
# Tags carehooks itself adds for reporting are still tags: they are counted like any other.
SLA_ATTAINMENT_ATTR = "sla_attainment"


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    def previous(self) -> Period:
        return Period(self.start - (self.end - self.start), self.start)

    def days(self) -> list[date]:
        first = self.start.astimezone(UTC).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(UTC).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


VISIBILITIES = ("public", "private")


def visibility(conv: Conversation) -> str:
    """``public`` for a comment thread (or public posts), ``private`` for a direct conversation."""
    return "public" if conv.public else "private"


@dataclass(frozen=True)
class Filters:
    channel: str | None = None
    tag: str | None = None
    agent: str | None = None
    visibility: str | None = None

    def matches(self, conv: Conversation) -> bool:
        if self.channel is not None and str(conv.channel) != self.channel:
            return False
        if self.tag is not None and self.tag not in conv.tags:
            return False
        if self.visibility is not None and visibility(conv) != self.visibility:
            return False
        return self.agent is None or agent_of(conv) == self.agent

    def as_dict(self) -> dict[str, str | None]:
        return {"channel": self.channel, "tag": self.tag, "agent": self.agent, "visibility": self.visibility}


def quantile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile by linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    fraction = position - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * fraction


def _spread(values: list[float]) -> dict[str, float | None]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {"median_seconds": rounded(quantile(values, 0.5)), "p90_seconds": rounded(quantile(values, 0.9))}


def _durations(pairs: list[tuple[datetime, datetime]], calendar: Calendar | None) -> dict[str, Any]:
    calendar_seconds = [max((end - start).total_seconds(), 0.0) for start, end in pairs]
    business: dict[str, float | None] | None = None
    if calendar is not None:
        business = _spread(
            [working_time_between(calendar, start, end).total_seconds() for start, end in pairs]
        )
    return {"count": len(pairs), "calendar": _spread(calendar_seconds), "business": business}


def first_response_pair(conv: Conversation) -> tuple[datetime, datetime] | None:
    if conv.first_response_at is None:
        return None
    return started_at(conv), conv.first_response_at


def resolution_pair(conv: Conversation) -> tuple[datetime, datetime] | None:
    if conv.status != "resolved" or conv.resolved_at is None:
        return None
    return started_at(conv), conv.resolved_at


def sla_outcomes(conv: Conversation) -> list[tuple[str, bool]]:
    """The SLA clocks that stopped on this conversation: (metric, met)."""
    recorded = conv.extra.get(SLA_ATTAINMENT_ATTR)
    out: list[tuple[str, bool]] = []
    if isinstance(recorded, list):
        for entry in recorded:
            if isinstance(entry, dict) and "metric" in entry and "met" in entry:
                out.append((str(entry["metric"]), bool(entry["met"])))
    return out


def _sla(convs: list[Conversation]) -> dict[str, dict[str, Any]]:
    counts: dict[str, Counter[bool]] = defaultdict(Counter)
    for conv in convs:
        for metric, was_met in sla_outcomes(conv):
            counts[metric][was_met] += 1
    out: dict[str, dict[str, Any]] = {}
    for metric in sorted(counts):
        met, missed = counts[metric][True], counts[metric][False]
        out[metric] = {"met": met, "missed": missed, "attainment": round(met / (met + missed), 4)}
    return out


def _score(conv: Conversation) -> int | None:
    score = (conv.csat or {}).get("score")
    return score if isinstance(score, int) and 1 <= score <= 5 else None


def _csat(convs: list[Conversation]) -> dict[str, Any]:
    scores = [s for s in (_score(c) for c in convs) if s is not None]
    surveyed = [c for c in convs if survey_state(c).get("status") == "sent"]
    rated_of_surveyed = sum(1 for c in surveyed if _score(c) is not None)
    by_agent: dict[str, list[int]] = defaultdict(list)
    for conv in convs:
        score = _score(conv)
        if score is not None:
            by_agent[str((conv.csat or {}).get("agent") or "unassigned")].append(score)
    return {
        "responses": len(scores),
        "average": round(sum(scores) / len(scores), 2) if scores else None,
        "distribution": {str(n): scores.count(n) for n in range(1, 6)},
        "surveys_sent": len(surveyed),
        "response_rate": round(rated_of_surveyed / len(surveyed), 4) if surveyed else None,
        "by_agent": {
            agent: {"responses": len(values), "average": round(sum(values) / len(values), 2)}
            for agent, values in sorted(by_agent.items())
        },
    }


def _tags(current: list[Conversation], previous: list[Conversation]) -> list[dict[str, Any]]:
    now_counts = Counter(tag for conv in current for tag in set(conv.tags))
    before = Counter(tag for conv in previous for tag in set(conv.tags))
    ranked = sorted(now_counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_TAGS]
    return [
        {
            "tag": tag,
            "count": count,
            "previous": before[tag],
            "change": count - before[tag],
            "change_pct": round((count - before[tag]) / before[tag] * 100, 1) if before[tag] else None,
        }
        for tag, count in ranked
    ]


def _daily(convs: list[Conversation], period: Period) -> list[dict[str, Any]]:
    by_day: dict[date, list[Conversation]] = {day: [] for day in period.days()}
    for conv in convs:
        by_day.setdefault(conv.created_at.astimezone(UTC).date(), []).append(conv)
    out = []
    for day in sorted(by_day):
        pairs = [p for p in (first_response_pair(c) for c in by_day[day]) if p is not None]
        median = quantile([(end - start).total_seconds() for start, end in pairs], 0.5)
        out.append(
            {
                "date": day.isoformat(),
                "conversations": len(by_day[day]),
                "first_response_median_seconds": None if median is None else round(median, 1),
            }
        )
    return out


def _visibility_part(convs: list[Conversation], calendar: Calendar | None) -> dict[str, Any]:
    """Volume, first response, resolution and SLA attainment of the public (or private) conversations."""
    return {
        "conversations": len(convs),
        "first_response": _durations([p for p in map(first_response_pair, convs) if p is not None], calendar),
        "resolution": _durations([p for p in map(resolution_pair, convs) if p is not None], calendar),
        "sla": _sla(convs),
    }


def summarize(
    current: Iterable[Conversation],
    previous: Iterable[Conversation],
    period: Period,
    filters: Filters = Filters(),
    calendar: Calendar | None = None,
) -> dict[str, Any]:
    """The summary of ``period`` from the conversations created in it and in the period before."""
    convs = [c for c in current if period.start <= c.created_at < period.end and filters.matches(c)]
    earlier = period.previous()
    before = [c for c in previous if earlier.start <= c.created_at < earlier.end and filters.matches(c)]
    statuses = Counter(c.status for c in convs)
    channels = Counter(str(c.channel) for c in convs)
    visibilities = Counter(visibility(c) for c in convs)
    first_responses = [p for p in (first_response_pair(c) for c in convs) if p is not None]
    resolutions = [p for p in (resolution_pair(c) for c in convs) if p is not None]
    return {
        "period": {"from": iso(period.start), "to": iso(period.end)},
        "previous_period": {"from": iso(earlier.start), "to": iso(earlier.end)},
        "filters": filters.as_dict(),
        "conversations": {
            "total": len(convs),
            "previous_total": len(before),
            "by_status": {s: statuses[s] for s in ("open", "pending", "resolved")},
            "by_channel": dict(sorted(channels.items())),
            "by_visibility": {v: visibilities[v] for v in VISIBILITIES},
        },
        "visibility": {
            v: _visibility_part([c for c in convs if visibility(c) == v], calendar) for v in VISIBILITIES
        },
        "first_response": _durations(first_responses, calendar),
        "resolution": _durations(resolutions, calendar),
        "sla": _sla(convs),
        "csat": _csat(convs),
        "tags": _tags(convs, before),
        "daily": _daily(convs, period),
    }
