"""The summary report over data written through the real store equals an independent computation.

The test generates two weeks of conversations (seeded), keeps its own ground truth while writing them,
and computes the expected figures from that truth with the standard library (``statistics``) and a
minute-by-minute business-hours count, sharing no code with the report.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from carehooks import clock
from carehooks.config.calendars import Calendar
from carehooks.config.sla import SlaConfig
from carehooks.config.surveys import SurveyConfig
from carehooks.domain.models import Channel
from carehooks.reports.service import summary_report
from carehooks.reports.summary import Filters, Period
from carehooks.store import Store
from carehooks.wiring.store import get_store
from tests.config_support import use_document
from tests.integration.conftest import Aws
from tests.integration.survey_support import agent_replies, customer_writes, resolve, use_survey_config

WEEK = timedelta(days=7)
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
PERIOD = Period(START, START + WEEK)
TAGS = ["billing", "delivery", "returns", "vip", "complaint"]
CHANNELS = [Channel.MESSENGER, Channel.WHATSAPP, Channel.TELEGRAM, Channel.SMS]
AGENTS = ["agent-ann", "agent-bo", "agent-cy"]


# Monday to Friday, 09:00-17:00 UTC: the report's business-hours calendar.
OFFICE_HOURS = Calendar.model_validate(
    {"timezone": "UTC", "hours": {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}}
)


def office_seconds(start: datetime, end: datetime) -> float:
    """Independent business-time count: second by second would be exact; minutes suffice (whole minutes)."""
    total = 0
    t = start
    while t < end:
        if t.weekday() < 5 and 9 <= t.hour < 17:
            total += 60
        t += timedelta(minutes=1)
    return float(total)


@dataclass
class Truth:
    """What the test wrote for one conversation."""

    created: datetime
    channel: str
    tags: list[str]
    agent: str | None
    first_response: datetime | None
    resolved: datetime | None
    score: int | None
    surveyed: bool
    sla: list[dict[str, Any]] = field(default_factory=list)


def generate(store: Store, rng: random.Random) -> list[Truth]:
    truths: list[Truth] = []
    for i in range(72):
        # Whole minutes, so the minute-stepping business count is exact.
        created = START - WEEK + timedelta(minutes=rng.randrange(0, 2 * 7 * 24 * 60))
        channel = rng.choice(CHANNELS)
        with clock.frozen(created):
            conv = customer_writes(store, created, channel=channel, contact=f"c-{i}")
        agent = first = resolved = score = None
        if rng.random() < 0.8:
            first = created + timedelta(minutes=rng.randrange(1, 3 * 24 * 60))
            agent = rng.choice(AGENTS)
            with clock.frozen(first):
                conv = agent_replies(store, conv, first, agent=agent)
        tags = rng.sample(TAGS, rng.randrange(0, 3))
        surveyed = False
        sla: list[dict[str, Any]] = []
        if first is not None and rng.random() < 0.7:
            resolved = first + timedelta(minutes=rng.randrange(1, 2 * 24 * 60))
            with clock.frozen(resolved):
                conv = resolve(store, conv.id, resolved)
            surveyed = rng.random() < 0.8
            if surveyed and rng.random() < 0.6:
                score = rng.randrange(1, 6)
            sla = [{"metric": "first_response", "met": rng.random() < 0.7}]
        with clock.frozen(resolved or first or created):
            current = store.get_conversation(conv.id)
            assert current is not None
            extra = dict(current.extra)
            if surveyed:
                extra["survey"] = {"status": "sent", "at": "x", "capture_until": "2099-01-01T00:00:00.000Z"}
            if sla:
                extra["sla_attainment"] = sla
            csat = {"score": score, "comment": None, "agent": agent} if score else None
            store.save_conversation(replace(current, tags=tags, extra=extra, csat=csat))
        truths.append(Truth(created, str(channel), tags, agent, first, resolved, score, surveyed, sla))
    return truths


def spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median_seconds": None, "p90_seconds": None}
    if len(values) == 1:
        return {"median_seconds": round(values[0], 1), "p90_seconds": round(values[0], 1)}
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    return {"median_seconds": round(statistics.median(values), 1), "p90_seconds": round(deciles[8], 1)}


def expected(truths: list[Truth], filters: Filters) -> dict[str, Any]:
    def keep(t: Truth) -> bool:
        return (
            (filters.channel is None or t.channel == filters.channel)
            and (filters.tag is None or filters.tag in t.tags)
            and (filters.agent is None or t.agent == filters.agent)
        )

    now = [t for t in truths if PERIOD.start <= t.created < PERIOD.end and keep(t)]
    before = [t for t in truths if t.created < PERIOD.start and keep(t)]
    responded = [t for t in now if t.first_response]
    resolved = [t for t in now if t.resolved]
    scores = [t.score for t in now if t.score]
    surveyed = [t for t in now if t.surveyed]
    tag_now = Counter(tag for t in now for tag in t.tags)
    tag_before = Counter(tag for t in before for tag in t.tags)
    sla = Counter(entry["met"] for t in now for entry in t.sla)
    return {
        "total": len(now),
        "previous_total": len(before),
        "first_calendar": spread([(t.first_response - t.created).total_seconds() for t in responded]),  # type: ignore[operator]
        "first_business": spread([office_seconds(t.created, t.first_response) for t in responded]),  # type: ignore[arg-type]
        "resolution_calendar": spread([(t.resolved - t.created).total_seconds() for t in resolved]),  # type: ignore[operator]
        "resolution_business": spread([office_seconds(t.created, t.resolved) for t in resolved]),  # type: ignore[arg-type]
        "csat_average": round(sum(scores) / len(scores), 2) if scores else None,
        "csat_distribution": {str(n): scores.count(n) for n in range(1, 6)},
        "surveys_sent": len(surveyed),
        "response_rate": round(len([t for t in surveyed if t.score]) / len(surveyed), 4)
        if surveyed
        else None,
        "tags": {tag: (count, tag_before[tag]) for tag, count in tag_now.items()},
        "sla_met": (sla[True], sla[False]),
    }


@pytest.fixture
def dataset(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, list[Truth]]:
    use_survey_config(monkeypatch, SurveyConfig(enabled=False))
    # The SLA outcomes are the dataset's own (below): no policy of the packaged configuration adds any.
    use_document(monkeypatch, sla=SlaConfig())
    store = get_store()
    return store, generate(store, random.Random(20260302))


FILTERS = [
    Filters(),
    Filters(channel="whatsapp"),
    Filters(tag="delivery"),
    Filters(agent="agent-bo"),
    Filters(channel="messenger", tag="vip"),
]


def test_the_summary_equals_an_independent_computation(dataset: tuple[Store, list[Truth]]) -> None:
    store, truths = dataset
    # The dataset must exercise every figure, or this test would prove little.
    current = [t for t in truths if t.created >= START]
    assert len(current) > 20
    assert sum(1 for t in current if t.score) > 5
    assert sum(1 for t in current if t.resolved) > 8
    assert any(t.tags for t in truths if t.created < START)
    for filters in FILTERS:
        check(store, truths, filters)


def check(store: Store, truths: list[Truth], filters: Filters) -> None:
    report = summary_report(store, PERIOD, filters, OFFICE_HOURS)
    want = expected(truths, filters)
    assert report["conversations"]["total"] == want["total"]
    assert report["conversations"]["previous_total"] == want["previous_total"]
    assert report["first_response"]["calendar"] == want["first_calendar"]
    assert report["first_response"]["business"] == want["first_business"]
    assert report["resolution"]["calendar"] == want["resolution_calendar"]
    assert report["resolution"]["business"] == want["resolution_business"]
    assert report["csat"]["average"] == want["csat_average"]
    assert report["csat"]["distribution"] == want["csat_distribution"]
    assert report["csat"]["surveys_sent"] == want["surveys_sent"]
    assert report["csat"]["response_rate"] == want["response_rate"]
    got_tags = {row["tag"]: (row["count"], row["previous"]) for row in report["tags"]}
    assert got_tags == want["tags"]
    met, missed = want["sla_met"]
    if met + missed:
        assert report["sla"]["first_response"]["met"] == met
        assert report["sla"]["first_response"]["missed"] == missed
    else:
        assert report["sla"] == {}


def test_daily_series_cover_every_day_of_the_period(dataset: tuple[Store, list[Truth]]) -> None:
    store, _ = dataset
    report = summary_report(store, PERIOD, Filters())
    days = report["daily"]
    assert [d["date"] for d in days] == [(START + timedelta(days=i)).date().isoformat() for i in range(7)]
    assert sum(d["conversations"] for d in days) == report["conversations"]["total"]
    assert report["first_response"]["business"] is None  # no calendar given


def test_an_empty_period_reports_zeros_and_nulls(aws: Aws) -> None:
    report = summary_report(get_store(), Period(START, START + timedelta(days=1)), Filters())
    assert report["conversations"]["total"] == 0
    assert report["first_response"] == {
        "count": 0,
        "calendar": {"median_seconds": None, "p90_seconds": None},
        "business": None,
    }
    assert report["csat"]["average"] is None
    assert report["csat"]["response_rate"] is None
    assert report["tags"] == []


def test_a_conversation_at_the_period_end_belongs_to_the_next_period(aws: Aws) -> None:
    store = get_store()
    with clock.frozen(START + WEEK):
        customer_writes(store, START + WEEK, contact="edge")
    with clock.frozen(START):
        customer_writes(store, START, contact="start")
    assert summary_report(store, PERIOD, Filters())["conversations"]["total"] == 1
