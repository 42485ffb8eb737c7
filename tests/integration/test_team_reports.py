"""``GET /api/reports/agents|teams|hours`` through AgentApiFunction's handler, on the real store.

A month is generated (several agents and teams, reassignments, reopenings, SLA misses, ratings) and
driven through the agent API and the processor; every figure is then computed independently from the
raw events of that month and compared with the API's answer.
"""

from __future__ import annotations

import csv
import io
import random
import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carehooks import clock
from carehooks.config.calendars import working_time_between
from carehooks.config.document import Agent, Team
from carehooks.config.loader import load_config
from carehooks.config.sla import SlaConfig
from carehooks.config.surveys import SurveyConfig
from carehooks.domain.models import Channel, Conversation, Direction, MessageEvent
from carehooks.inbound.processor import store_message
from carehooks.outbound.models import OutboundMessage, SendResult
from carehooks.reports.service import business_calendar
from carehooks.store import Store
from carehooks.wiring.store import get_store
from tests.config_support import use_document
from tests.helpers import FakeContext, load_handler
from tests.integration.agent_api_client import api_event, call, install
from tests.integration.conftest import Aws

MONTH = datetime(2026, 3, 1, tzinfo=UTC)
NOW = datetime(2026, 4, 10, tzinfo=UTC)
AGENTS = ("ada", "bob", "cy", "dee")
TEAMS = {"ada": ["orders"], "bob": ["orders", "billing"], "cy": ["billing"], "dee": []}
TARGETS = {"first_response": 30 * 60, "next_response": 60 * 60, "resolution": 4 * 3600}
HANDLE_CAP = 15 * 60


@dataclass
class Clock:
    now: datetime = MONTH


@dataclass
class UniqueDeliver:
    """Stands in for the channels: every send accepted with its own platform id, stored as sent."""

    clock: Clock
    sent: int = 0
    calls: list[Any] = field(default_factory=list)

    def __call__(
        self, conv: Conversation, message: OutboundMessage, store: Store, now: datetime
    ) -> SendResult:
        from carehooks.domain.models import Message

        self.sent += 1
        pid = f"out-{self.sent}"
        store.put_outbound_message(
            conv,
            Message(
                conversation_id=conv.id,
                channel=conv.channel,
                account_id=conv.account_id,
                contact_id=conv.contact_id,
                platform_message_id=pid,
                direction=Direction.OUT,
                sent_at=now,
                text=message.text,
                kind=message.kind,
                origin_tag=message.origin_tag,
                author=message.author,
                status="sent",
                stored_at=now,
            ),
        )
        return SendResult(status="sent", platform_message_id=pid)


@pytest.fixture
def world(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Store, Clock]]:
    use_document(
        monkeypatch,
        surveys=SurveyConfig(enabled=False),
        agents=[Agent(id=a, name=a.title(), teams=TEAMS[a]) for a in AGENTS],
        teams=[Team(id="support"), Team(id="orders", name="Orders"), Team(id="billing", name="Billing")],
        sla=SlaConfig.model_validate(
            {"policies": [{"id": "all", "first_response": "30m", "next_response": "1h", "resolution": "4h"}]}
        ),
    )
    store = get_store()
    now = Clock()
    gen = install(store, UniqueDeliver(now), lambda: now.now)  # type: ignore[arg-type]
    next(gen)
    try:
        yield store, now
    finally:
        gen.close()


def as_agent(agent: str) -> dict[str, str]:
    return {"sub": agent, "email": f"{agent}@example.com", "name": agent.title()}


# -- the raw events, as they happen ---------------------------------------------------------------
@dataclass
class Log:
    """Every event of the month: (kind, conversation key, time, agent)."""

    events: list[tuple[str, str, datetime, str | None]] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    ratings: dict[str, tuple[str, int]] = field(default_factory=dict)
    counter: int = 0


def customer(store: Store, now: Clock, log: Log, key: str, at: datetime) -> None:
    now.now = at
    log.counter += 1
    with clock.frozen(at):
        outcome = store_message(
            store,
            MessageEvent(
                channel=Channel.MESSENGER,
                account_id="page-1",
                contact_id=key,
                platform_message_id=f"in-{log.counter}",
                sent_at=at,
                direction=Direction.IN,
                text="hello",
            ),
            at,
            timedelta(hours=24),
        )
    assert outcome.conversation is not None
    log.ids.setdefault(key, outcome.conversation.id)
    log.events.append(("in", key, at, None))


def act(now: Clock, log: Log, kind: str, key: str, agent: str, at: datetime) -> None:
    now.now = at
    conv_id = log.ids[key]
    body: dict[str, Any] | None = None
    path = f"/api/conversations/{conv_id}/{kind}"
    if kind == "reply":
        body = {"text": "on it"}
    elif kind == "assign":
        body = {"assignee": agent}
    else:
        body = {}
    with clock.frozen(at):
        answer = call(api_event("POST", path, body=body, claims=as_agent(agent)))
    assert answer.status in {200, 201}, answer.body
    log.events.append((kind, key, at, agent))


def generate(store: Store, now: Clock, seed: int = 7) -> Log:
    """About forty conversations over March: replies, reassignments, reopenings, misses, ratings."""
    rng = random.Random(seed)
    log = Log()
    for n in range(40):
        key = f"c{n}"
        t = MONTH + timedelta(days=rng.randrange(30), hours=rng.randrange(24), minutes=rng.randrange(60))
        first, second = rng.sample(AGENTS, 2)
        customer(store, now, log, key, t)
        if rng.random() < 0.7:
            t += timedelta(minutes=rng.randrange(1, 20))
            act(now, log, "assign", key, first, t)
        t += timedelta(minutes=rng.randrange(2, 60))  # a first response: some miss 30 minutes
        act(now, log, "reply", key, first, t)
        exchanges = rng.choice([0, 0, 1, 2])
        for _ in range(exchanges):
            t += timedelta(minutes=rng.randrange(1, 120))
            customer(store, now, log, key, t)
            if rng.random() < 0.3:  # a follow-up before anyone answers
                t += timedelta(minutes=rng.randrange(1, 10))
                customer(store, now, log, key, t)
            who = first
            if rng.random() < 0.5:
                t += timedelta(minutes=rng.randrange(1, 10))
                act(now, log, "assign", key, second, t)
                who = second
            t += timedelta(minutes=rng.randrange(1, 100))  # next responses: some miss an hour
            act(now, log, "reply", key, who, t)
        if rng.random() < 0.85:
            resolver = rng.choice([first, second]) if exchanges else first
            t += timedelta(minutes=rng.randrange(1, 400))
            act(now, log, "resolve", key, resolver, t)
            if rng.random() < 0.25:  # the customer comes back within the reopen window
                t += timedelta(hours=rng.randrange(1, 20))
                customer(store, now, log, key, t)
                t += timedelta(minutes=rng.randrange(1, 90))
                act(now, log, "reply", key, second, t)
                t += timedelta(minutes=rng.randrange(1, 60))
                act(now, log, "resolve", key, second, t)
            if rng.random() < 0.6:
                rated = log_last(log, key, "reply")
                score = rng.randrange(1, 6)
                conv = store.get_conversation(log.ids[key])
                assert conv is not None
                conv.csat = {"score": score, "comment": None, "agent": rated}
                store.save_conversation(conv)
                log.ratings[key] = (rated, score)
    return log


def log_last(log: Log, key: str, kind: str) -> str:
    return next(e[3] for e in reversed(log.events) if e[1] == key and e[0] == kind and e[3])


# -- the independent computation ------------------------------------------------------------------
def median_p90(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median_seconds": None, "p90_seconds": None}
    if len(values) == 1:
        return {"median_seconds": round(values[0], 1), "p90_seconds": round(values[0], 1)}
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    return {"median_seconds": round(statistics.median(values), 1), "p90_seconds": round(deciles[8], 1)}


def expected(log: Log) -> dict[str, dict[str, Any]]:
    per: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "handled": set(),
            "replies": 0,
            "first": [],
            "first_pairs": [],
            "next": [],
            "resolution": [],
            "sla": {m: [0, 0] for m in TARGETS},
            "scores": [],
            "resolved": 0,
            "fcr": 0,
            "handle": 0,
        }
    )
    by_conv: dict[str, list[tuple[str, str, datetime, str | None]]] = defaultdict(list)
    for event in sorted(log.events, key=lambda e: e[2]):
        by_conv[event[1]].append(event)
    for key, events in by_conv.items():
        first_in = events[0][2]
        last_in: datetime | None = None
        last_reply: datetime | None = None
        wait_start: datetime | None = None
        answered = False
        reopened = False
        resolved_by: str | None = None
        resolved_at: datetime | None = None
        res_used = timedelta(0)
        res_running = False
        replies = 0
        for kind, _, at, agent in events:
            if kind == "in":
                if resolved_by is not None:
                    reopened, resolved_by, resolved_at = True, None, None
                if wait_start is None:
                    wait_start = at
                    res_running = True
                last_in = at
            elif kind == "assign":
                assert agent is not None
                per[agent]["handled"].add(key)
            elif kind == "reply":
                assert agent is not None
                mine = per[agent]
                mine["handled"].add(key)
                mine["replies"] += 1
                replies += 1
                since = max(t for t in (last_in, last_reply) if t is not None)
                mine["handle"] += int(min((at - since).total_seconds(), HANDLE_CAP))
                if wait_start is not None:
                    seconds = (at - wait_start).total_seconds()
                    metric = "next_response" if answered else "first_response"
                    if answered:
                        mine["next"].append(seconds)
                    else:
                        mine["first"].append(seconds)
                        mine["first_pairs"].append((wait_start, at))
                    mine["sla"][metric][0 if seconds <= TARGETS[metric] else 1] += 1
                    res_used += at - wait_start
                    wait_start, res_running = None, False
                answered = True
                last_reply = at
            elif kind == "resolve":
                assert agent is not None
                if res_running and wait_start is not None:
                    res_used += at - wait_start
                per[agent]["sla"]["resolution"][
                    0 if res_used.total_seconds() <= TARGETS["resolution"] else 1
                ] += 1
                res_used, res_running, wait_start = timedelta(0), False, None
                resolved_by, resolved_at = agent, at
        if resolved_by is not None and resolved_at is not None:
            mine = per[resolved_by]
            mine["handled"].add(key)
            mine["resolution"].append((resolved_at - first_in).total_seconds())
            mine["resolved"] += 1
            mine["fcr"] += int(replies == 1 and not reopened)
        if key in log.ratings:
            rated, score = log.ratings[key]
            per[rated]["scores"].append(score)
    return per


def test_every_agent_figure_matches_an_independent_computation(world: tuple[Store, Clock]) -> None:
    store, now = world
    log = generate(store, now)
    want = expected(log)
    calendar = business_calendar(load_config())
    assert calendar is not None
    now.now = NOW
    answer = call(api_event("GET", "/api/reports/agents", query={"from": "2026-03-01", "to": "2026-03-31"}))
    assert answer.status == 200, answer.body
    rows = {row["agent"]: row for row in answer.body["items"]}
    assert set(rows) == {a for a in want if want[a]["handled"]}
    misses = 0
    for agent, w in want.items():
        row = rows[agent]
        assert row["name"] == agent.title()
        assert row["teams"] == TEAMS[agent]
        assert row["conversations_handled"] == len(w["handled"]), agent
        assert row["replies"] == w["replies"], agent
        assert row["first_response"]["count"] == len(w["first"])
        assert row["first_response"]["calendar"] == median_p90(w["first"]), agent
        # Business time: the same pairs measured in the packaged default calendar's open hours.
        business = [working_time_between(calendar, s, e).total_seconds() for s, e in w["first_pairs"]]
        assert row["first_response"]["business"] == median_p90(business), agent
        assert row["next_response"]["count"] == len(w["next"])
        assert row["next_response"]["calendar"] == median_p90(w["next"]), agent
        assert row["resolution"]["calendar"] == median_p90(w["resolution"]), agent
        for metric, (met, missed) in w["sla"].items():
            got = row["sla"][metric]
            assert (got["met"], got["missed"]) == (met, missed), (agent, metric)
            misses += missed
        assert row["csat"]["responses"] == len(w["scores"])
        if w["scores"]:
            assert row["csat"]["average"] == round(sum(w["scores"]) / len(w["scores"]), 2)
            satisfied = sum(1 for s in w["scores"] if s >= 4) / len(w["scores"])
            assert row["csat"]["satisfied_share"] == round(satisfied, 4)
        assert row["first_contact_resolution"]["resolved"] == w["resolved"]
        assert row["first_contact_resolution"]["first_contact"] == w["fcr"]
        assert row["handle_time"]["total_seconds"] == w["handle"], agent
    # The month really has what the figures are about.
    assert misses > 0
    assert any(e[0] == "in" for e in log.events[1:])
    assert sum(len(w["next"]) for w in want.values()) > 0
    assert sum(w["fcr"] for w in want.values()) > 0
    assert sum(w["resolved"] for w in want.values()) > sum(w["fcr"] for w in want.values())

    # Teams: the union of their members' actions, a conversation counted once.
    teams = call(api_event("GET", "/api/reports/teams", query={"from": "2026-03-01", "to": "2026-03-31"}))
    assert teams.status == 200
    team_rows = {row["team"]: row for row in teams.body["items"]}
    for team in ("orders", "billing", "(none)"):
        members = [a for a in AGENTS if (team in TEAMS[a]) or (team == "(none)" and not TEAMS[a])]
        handled = set().union(*(want[a]["handled"] for a in members))
        assert team_rows[team]["conversations_handled"] == len(handled)
        assert team_rows[team]["replies"] == sum(want[a]["replies"] for a in members)
        firsts = [v for a in members for v in want[a]["first"]]
        assert team_rows[team]["first_response"]["calendar"] == median_p90(firsts)
    assert team_rows["orders"]["agents"] == ["ada", "bob"]
    assert team_rows["orders"]["name"] == "Orders"

    # Hours: every customer message in its local weekday and hour.
    zone = ZoneInfo("America/New_York")
    hours = call(
        api_event(
            "GET", "/api/reports/hours", query={"from": "2026-03-01", "to": "2026-03-31", "tz": zone.key}
        )
    )
    assert hours.status == 200
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for kind, _, at, _ in log.events:
        if kind == "in":
            local = at.astimezone(zone)
            counts[local.weekday(), local.hour] += 1
    got = {(c["weekday"], c["hour"]): c["messages"] for c in hours.body["cells"]}
    assert len(got) == 168
    assert got == {cell: counts.get(cell, 0) for cell in got}
    assert hours.body["total_messages"] == sum(counts.values())


def test_a_reassigned_conversation_counts_for_each_agent_for_what_each_did(
    world: tuple[Store, Clock],
) -> None:
    store, now = world
    log = Log()
    t = MONTH + timedelta(days=2, hours=10)
    customer(store, now, log, "r1", t)
    act(now, log, "assign", "r1", "ada", t + timedelta(minutes=1))
    act(now, log, "reply", "r1", "ada", t + timedelta(minutes=10))
    customer(store, now, log, "r1", t + timedelta(minutes=20))
    act(now, log, "assign", "r1", "bob", t + timedelta(minutes=21))
    act(now, log, "reply", "r1", "bob", t + timedelta(minutes=50))
    act(now, log, "resolve", "r1", "bob", t + timedelta(minutes=55))
    now.now = NOW
    body = call(
        api_event("GET", "/api/reports/agents", query={"from": "2026-03-01", "to": "2026-03-31"})
    ).body
    rows = {row["agent"]: row for row in body["items"]}
    assert rows["ada"]["replies"] == 1
    assert rows["ada"]["first_response"]["calendar"]["median_seconds"] == 600.0
    assert rows["ada"]["next_response"]["count"] == 0
    assert rows["ada"]["resolution"]["count"] == 0
    assert rows["bob"]["replies"] == 1
    assert rows["bob"]["first_response"]["count"] == 0
    assert rows["bob"]["next_response"]["calendar"]["median_seconds"] == 1800.0
    assert rows["bob"]["resolution"]["calendar"]["median_seconds"] == 3300.0
    assert rows["bob"]["first_contact_resolution"] == {"resolved": 1, "first_contact": 0, "rate": 0.0}
    assert rows["ada"]["conversations_handled"] == rows["bob"]["conversations_handled"] == 1
    # The agent filter keeps one agent's actions.
    only = call(
        api_event(
            "GET", "/api/reports/agents", query={"from": "2026-03-01", "to": "2026-03-31", "agent": "bob"}
        )
    ).body
    assert [row["agent"] for row in only["items"]] == ["bob"]


def csv_call(query: dict[str, str], accept: str | None = None) -> tuple[int, str, str]:
    from tests.helpers import http_event

    event = http_event("GET", "/api/reports/agents", None, {"Accept": accept} if accept else None, query)
    event["requestContext"]["authorizer"] = {"jwt": {"claims": as_agent("ada"), "scopes": None}}
    result = load_handler("agent_api").handler(event, FakeContext())
    return result["statusCode"], result["headers"]["Content-Type"], result["body"]


def test_csv_has_the_same_rows_as_json(world: tuple[Store, Clock]) -> None:
    store, now = world
    log = Log()
    t = MONTH + timedelta(days=3, hours=9)
    customer(store, now, log, "k1", t)
    act(now, log, "reply", "k1", "ada", t + timedelta(minutes=5))
    customer(store, now, log, "k2", t)
    act(now, log, "reply", "k2", "=HYPERLINK(1)", t + timedelta(minutes=7))
    now.now = NOW
    query = {"from": "2026-03-01", "to": "2026-03-31"}
    json_rows = call(api_event("GET", "/api/reports/agents", query=query)).body["items"]
    for status, kind, text in (csv_call({**query, "format": "csv"}), csv_call(query, accept="text/csv")):
        assert status == 200
        assert kind.startswith("text/csv")
        assert text.endswith("\r\n")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [r["agent"] for r in rows] == ["'=HYPERLINK(1)", "ada"]
        assert [r["agent"] for r in rows][1:] == [r["agent"] for r in json_rows][1:]
        for row, want in zip(rows, json_rows, strict=True):
            assert int(row["replies"]) == want["replies"]
            median = want["first_response"]["calendar"]["median_seconds"]
            assert float(row["first_response_calendar_median_seconds"]) == median
            assert row["next_response_calendar_median_seconds"] == ""  # no next response: empty


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "yesterday"}, "query.from"),
        ({"from": "2026-03-09", "to": "2026-03-01"}, "query.from"),
        ({"channel": "fax"}, None),
        ({"format": "xml"}, "query.format"),
    ],
)
def test_a_bad_query_is_a_422_naming_the_field(
    world: tuple[Store, Clock], query: dict[str, str], field: str | None
) -> None:
    answer = call(api_event("GET", "/api/reports/agents", query=query))
    assert answer.status == 422
    assert answer.body["error"]["code"] == "invalid_input"
    if field is not None:
        assert any(f["field"] == field for f in answer.body["error"]["fields"])


def test_an_unknown_time_zone_is_a_422(world: tuple[Store, Clock]) -> None:
    answer = call(api_event("GET", "/api/reports/hours", query={"tz": "Mars/Olympus"}))
    assert answer.status == 422
    assert answer.body["error"]["fields"] == [{"field": "query.tz", "reason": "not an IANA time zone"}]


def test_reports_need_an_agent_token(world: tuple[Store, Clock]) -> None:
    for path in ("/api/reports/agents", "/api/reports/teams", "/api/reports/hours"):
        assert call(api_event("GET", path, claims=None)).status == 401


def test_the_summary_answers_csv_too(world: tuple[Store, Clock]) -> None:
    from tests.helpers import http_event

    store, now = world
    log = Log()
    t = MONTH + timedelta(days=3, hours=9)
    customer(store, now, log, "s1", t)
    act(now, log, "reply", "s1", "ada", t + timedelta(minutes=5))
    now.now = NOW
    event = http_event(
        "GET",
        "/api/reports/summary",
        None,
        {"Accept": "text/csv"},
        {"from": "2026-03-01", "to": "2026-03-31"},
    )
    event["requestContext"]["authorizer"] = {"jwt": {"claims": as_agent("ada"), "scopes": None}}
    result = load_handler("agent_api").handler(event, FakeContext())
    assert result["statusCode"] == 200
    assert result["headers"]["Content-Type"].startswith("text/csv")
    rows = {r["figure"]: r["value"] for r in csv.DictReader(io.StringIO(result["body"]))}
    assert rows["conversations_total"] == "1"
    assert rows["first_response_calendar_median_seconds"] == "300.0"
    assert rows["daily_2026-03-04_conversations"] == "1"
    assert rows["period_from"] == "2026-03-01T00:00:00.000Z"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(["agents", "teams", "hours"]),
    params=st.dictionaries(
        st.sampled_from(["from", "to", "tz", "format", "channel", "visibility", "agent", "tag"]),
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30),
        max_size=4,
    ),
)
def test_any_query_is_answered_or_refused_never_a_crash(
    world: tuple[Store, Clock], route: str, params: dict[str, str]
) -> None:
    event = api_event("GET", f"/api/reports/{route}", query=params or None)
    result = load_handler("agent_api").handler(event, FakeContext())
    assert result["statusCode"] in {200, 422}, result
    if result["statusCode"] == 422:
        assert '"invalid_input"' in result["body"]
