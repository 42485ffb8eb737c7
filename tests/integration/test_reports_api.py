"""``GET /api/reports/summary`` through AgentApiFunction's handler."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from carehooks import clock
from carehooks.config.surveys import SurveyConfig
from carehooks.store import Store
from carehooks.wiring.store import get_store
from tests.integration.agent_api_client import FakeDeliver, api_event, call, install
from tests.integration.conftest import Aws
from tests.integration.survey_support import agent_replies, customer_writes, resolve, use_survey_config

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
NOW = MONDAY + timedelta(days=7, hours=3)


@pytest.fixture
def store(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    use_survey_config(monkeypatch, SurveyConfig(enabled=False))
    store = get_store()
    gen = install(store, FakeDeliver(), lambda: NOW)
    next(gen)
    try:
        yield store
    finally:
        gen.close()


def summary(**query: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    answer = call(api_event("GET", "/api/reports/summary", query=query or None))
    return answer.status, answer.body


def test_the_summary_shows_first_response_and_csat(store: Store) -> None:
    at = MONDAY + timedelta(days=1, hours=9)
    with clock.frozen(at):
        conv = customer_writes(store, at)
        conv = agent_replies(store, conv, at + timedelta(minutes=12), agent="agent-ada")
        conv = resolve(store, conv.id, at + timedelta(hours=1))
        current = store.get_conversation(conv.id)
        assert current is not None
        current.csat = {"score": 4, "comment": None, "agent": "agent-ada"}
        store.save_conversation(current)
    status, body = summary(**{"from": "2026-03-02", "to": "2026-03-08"})
    assert status == 200
    assert body["period"] == {"from": "2026-03-02T00:00:00.000Z", "to": "2026-03-09T00:00:00.000Z"}
    assert body["conversations"]["total"] == 1
    assert body["first_response"]["calendar"] == {"median_seconds": 720.0, "p90_seconds": 720.0}
    assert body["csat"]["average"] == 4.0
    assert body["csat"]["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}
    assert body["csat"]["by_agent"] == {"agent-ada": {"responses": 1, "average": 4.0}}
    # The filters narrow it down
    assert summary(agent="agent-bob")[1]["conversations"]["total"] == 0
    assert summary(channel="messenger")[1]["conversations"]["total"] == 1


def test_the_default_period_is_the_last_seven_days(store: Store) -> None:
    status, body = summary()
    assert status == 200
    assert body["period"]["to"] == "2026-03-09T03:00:00.000Z"
    assert body["period"]["from"] == "2026-03-02T03:00:00.000Z"


@pytest.mark.parametrize(
    "query",
    [
        {"from": "last week"},
        {"from": "2026-03-09", "to": "2026-03-01"},
        {"from": "2025-01-01", "to": "2026-03-01"},
        {"channel": "fax"},
    ],
)
def test_a_bad_query_is_a_clear_4xx(store: Store, query: dict[str, str]) -> None:
    status, body = summary(**query)
    assert status == 422
    assert body["error"]["code"] == "invalid_input"


def test_the_summary_needs_an_agent_token(store: Store) -> None:
    answer = call(api_event("GET", "/api/reports/summary", claims=None))
    assert answer.status == 401
