"""Races on DynamoDB Local: one event to two processors, two agents resolving, a rating racing a reopen.

Each race runs the real code paths (``process_queued`` with the after-store steps, the agent API's Lambda
handler) on threads released together by a barrier, several rounds, against one fresh table per test.
The clock is frozen once around each race: it is one module global, shared by the threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from carehooks import clock
from carehooks.api.deps import Services, services
from carehooks.config.surveys import LowScoreConfig, SurveyConfig
from carehooks.inbound.processor import ProcessResult
from carehooks.store import Store
from carehooks.surveys.dispatch import dispatch_surveys
from carehooks.wiring.inbound import process
from tests.integration.agent_api_client import ADA, BOB, Answer, FakeDeliver, api_event, call
from tests.integration.race_support import (
    PAGE,
    CountingPlatform,
    Webhook,
    fresh_table,
    install_platform,
    items,
    messenger_body,
    run_together,
    stub_webhook,
)
from tests.integration.survey_support import FakeSender, use_survey_config

pytestmark = pytest.mark.ddblocal

# Monday 2 March 2026, 10:00 UTC: within the default calendar's hours and every messaging window.
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ROUNDS = 4
SURVEYS = SurveyConfig(delay_minutes=60, capture_window_hours=72, low_score=LowScoreConfig(threshold=2))


@pytest.fixture
def store(ddblocal: str) -> Iterator[Store]:
    yield from fresh_table(ddblocal)


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> CountingPlatform:
    fake = CountingPlatform()
    install_platform(monkeypatch, fake)
    return fake


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Webhook:
    return stub_webhook(monkeypatch)


def conversations_of(store: Store, contact: str) -> list[Any]:
    return store.contact_conversations("messenger", PAGE, contact)


# ------------------------------------------------------------------ one event, two processors at once
def test_the_same_event_processed_by_two_processors_at_once_is_stored_and_acknowledged_once(
    store: Store, platform: CountingPlatform, webhook: Webhook
) -> None:
    # The send takes a while, so the second processor runs while the first one's acknowledgement is
    # still in flight. Each round is a new customer: the first message of a new conversation.
    platform.delay = 0.2
    for n in range(ROUNDS):
        contact = f"psid-race-{n}"
        at = T0 + timedelta(minutes=n)
        (body,) = webhook.bodies(messenger_body(contact, f"m_race_{n}", at, "where is my order?"))
        before = len(platform.acks())
        # When SQS hands the same record to two processors (a visibility timeout ran out) at once
        with clock.frozen(at + timedelta(seconds=2)):
            results = run_together(lambda b=body: process(b, store), lambda b=body: process(b, store))
        # Then both records succeed: one stores the message, the other finds the duplicate
        assert not [r for r in results if isinstance(r, BaseException)], results
        assert sorted((r.stored, r.duplicates) for r in results if isinstance(r, ProcessResult)) == [
            (0, 1),
            (1, 0),
        ]
        # and there is one conversation with one message, and one acknowledgement was sent
        (conv,) = conversations_of(store, contact)
        assert [m.platform_message_id for m in store.messages(conv) if m.direction == "in"] == [f"m_race_{n}"]
        assert len(platform.acks()) == before + 1
        claims = [i for i in items(store) if i["pk"] == f"CLAIM#ack#{conv.id}"]
        assert len(claims) == 1


def test_a_duplicate_that_loses_the_race_and_is_retried_acknowledges_nothing_more(
    store: Store, platform: CountingPlatform, webhook: Webhook
) -> None:
    # Given one record processed by two processors at once, then retried by SQS (say the loser's
    # Lambda timed out): the retry finds the message stored and the acknowledgement claimed
    (body,) = webhook.bodies(messenger_body("psid-retry", "m_retry", T0, "hello?"))
    with clock.frozen(T0 + timedelta(seconds=2)):
        run_together(lambda: process(body, store), lambda: process(body, store))
        retried = process(body, store)
    assert (retried.stored, retried.duplicates) == (0, 1)
    assert len(platform.acks()) == 1
    (conv,) = conversations_of(store, "psid-retry")
    assert conv.message_count == 2  # the customer's message and the acknowledgement


# ------------------------------------------------------------------ two agents resolve at once
class PerThreadApi:
    """One agent API resolver per thread, as two Lambda instances each have their own.

    Powertools' resolver keeps the current event on itself, so one instance must never serve two
    requests at once; the handler, the routes and the use cases are the real ones.
    """

    def __init__(self, store: Store, deliver: FakeDeliver) -> None:
        self.store = store
        self.deliver = deliver
        self.local = threading.local()

    def __call__(self) -> Any:
        from carehooks.api.app import build_app

        if not hasattr(self.local, "app"):
            app = build_app()
            app.dependency_overrides[services] = lambda: Services(
                store=self.store, now=clock.now, deliver=self.deliver
            )
            self.local.app = app
        return self.local.app


@pytest.fixture
def api(store: Store, monkeypatch: pytest.MonkeyPatch) -> PerThreadApi:
    from carehooks.api import app as app_module
    from tests.helpers import load_handler

    load_handler("agent_api")  # imported once, before any race (two threads must not import it at once)
    per_thread = PerThreadApi(store, FakeDeliver())
    monkeypatch.setattr(app_module, "app", per_thread)
    use_survey_config(monkeypatch, SURVEYS)
    return per_thread


def customer_conversation(store: Store, contact: str, at: datetime) -> Any:
    from tests.integration.agent_api_client import inbound

    with clock.frozen(at):
        return inbound(store, contact, "my parcel never arrived", at, mid=f"m_{contact}")


def test_two_agents_resolving_at_once_one_succeeds_the_other_gets_409(
    store: Store, api: PerThreadApi
) -> None:
    for n in range(ROUNDS):
        at = T0 + timedelta(hours=n)
        conv = customer_conversation(store, f"psid-resolve-{n}", at)
        path = f"/api/conversations/{conv.id}/resolve"
        # When Ada and Bob press "resolve" at the same moment
        with clock.frozen(at + timedelta(minutes=5)):
            answers = run_together(
                lambda p=path: call(api_event("POST", p, {}, claims=ADA)),
                lambda p=path: call(api_event("POST", p, {}, claims=BOB)),
            )
        # Then exactly one gets 200 and the other 409 (already resolved): never a 500
        assert all(isinstance(a, Answer) for a in answers), answers
        assert sorted(a.status for a in answers) == [200, 409], [a.body for a in answers]
        loser = next(a for a in answers if a.status == 409)
        assert loser.error["code"] in {"conflict", "state_conflict", "version_conflict"}
        winner = next(a for a in answers if a.status == 200)
        # and one `resolved` event, by the winner, and one survey due marker
        detail = call(api_event("GET", f"/api/conversations/{conv.id}"))
        resolved = [e for e in detail.body["events"] if e["action"] == "resolved"]
        assert len(resolved) == 1
        stored = store.get_conversation(conv.id)
        assert stored is not None
        assert stored.status == "resolved"
        assert stored.extra["resolved_by"] == resolved[0]["actor"]
        assert winner.body["status"] == "resolved"
        markers = [i for i in items(store) if i.get("survey_due_pk") and i.get("conv_id") == conv.id]
        assert len(markers) == 1


# ------------------------------------------------------------------ a rating races a reopen
def surveyed(store: Store, webhook: Webhook, contact: str, at: datetime) -> Any:
    """A conversation started (and acknowledged) at ``at``, resolved 10 min later, surveyed an hour later."""
    (first,) = webhook.bodies(messenger_body(contact, f"m_{contact}", at, "my parcel never arrived"))
    with clock.frozen(at + timedelta(seconds=1)):
        assert process(first, store).stored == 1
    (conv,) = conversations_of(store, contact)
    with clock.frozen(at + timedelta(minutes=5)):
        current = store.get_conversation(conv.id)
        assert current is not None
        current = store.save_conversation(replace(current, assignee="agent-ada"))
        store.save_conversation(replace(current, status="resolved", resolved_at=at + timedelta(minutes=10)))
    surveyed_at = at + timedelta(minutes=70)
    with clock.frozen(surveyed_at):
        report = dispatch_surveys(store, surveyed_at, SURVEYS, FakeSender(), lambda c, e: None)
    assert report.sent == 1
    return store.get_conversation(conv.id)


def rating_then_reopen_outcome(state: Any) -> bool:
    """The rating was threaded while the conversation was resolved: it counts, and the reopen follows."""
    return state.csat is not None and state.csat["score"] == 5


def reopen_then_rating_outcome(state: Any) -> bool:
    """The reopen came first: the "5" is an ordinary message of the open conversation, not a rating."""
    return state.csat is None


@pytest.mark.parametrize("serial", ["rating_first", "reopen_first"])
def test_a_rating_and_a_reopen_one_after_the_other(
    store: Store, api: PerThreadApi, webhook: Webhook, platform: CountingPlatform, serial: str
) -> None:
    """The two serial outcomes, which every race below must end in one of."""
    conv = surveyed(store, webhook, f"psid-serial-{serial}", T0)
    rated_at = T0 + timedelta(minutes=90)
    (body,) = webhook.bodies(messenger_body(conv.contact_id, f"m_rate_{serial}", rated_at, "5"))
    reopen = api_event("POST", f"/api/conversations/{conv.id}/reopen", {}, claims=ADA)
    with clock.frozen(rated_at + timedelta(seconds=1)):
        if serial == "rating_first":
            process(body, store)
            assert call(reopen).status == 200
        else:
            assert call(reopen).status == 200
            process(body, store)
    state = store.get_conversation(conv.id)
    assert state is not None
    assert state.status == "open"
    assert state.extra["reopened_by"] == ADA["sub"]
    assert conv.message_count + 1 == state.message_count
    if serial == "rating_first":
        assert rating_then_reopen_outcome(state)
    else:
        assert reopen_then_rating_outcome(state)


# How long the processor waits after the barrier: from "both at once" to "the reopen well under way".
STAGGERS = (0.0, 0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08)


def later(seconds: float, call: Any) -> Any:
    def run() -> Any:
        time.sleep(seconds)
        return call()

    return run


def test_a_rating_racing_a_reopen_ends_in_one_of_the_serial_outcomes_and_loses_no_write(
    store: Store, api: PerThreadApi, webhook: Webhook, platform: CountingPlatform
) -> None:
    for n, stagger in enumerate(STAGGERS):
        at = T0 + timedelta(hours=n)
        conv = surveyed(store, webhook, f"psid-rate-{n}", at)
        rated_at = at + timedelta(minutes=90)
        (body,) = webhook.bodies(messenger_body(conv.contact_id, f"m_rate_{n}", rated_at, "5"))
        reopen = api_event("POST", f"/api/conversations/{conv.id}/reopen", {}, claims=ADA)
        # When the customer's "5" is processed while the agent reopens the conversation
        with clock.frozen(rated_at + timedelta(seconds=1)):
            processed, answer = run_together(
                later(stagger, lambda b=body: process(b, store)), lambda r=reopen: call(r)
            )
        # Then neither fails: the record is processed and the reopen answers 200 (a rating never reopens)
        assert isinstance(processed, ProcessResult), processed
        assert processed.stored == 1
        assert isinstance(answer, Answer), answer
        assert answer.status == 200, answer.body
        # and nothing is lost: the message is stored once in the same conversation, the reopen holds,
        # and the state is one of the two serial outcomes
        (only,) = conversations_of(store, conv.contact_id)
        state = store.get_conversation(only.id)
        assert state is not None
        assert state.id == conv.id
        assert state.status == "open"
        assert state.extra["reopened_by"] == ADA["sub"]
        assert state.message_count == conv.message_count + 1
        assert [m.text for m in store.messages(state)][-1] == "5"
        detail = call(api_event("GET", f"/api/conversations/{conv.id}"))
        assert [e["action"] for e in detail.body["events"]].count("reopened") == 1
        assert rating_then_reopen_outcome(state) or reopen_then_rating_outcome(state), state.csat
        if state.csat is not None:
            # a rating that counts was threaded while resolved: credited, and never clobbered by the reopen
            assert state.csat["agent"] == "agent-ada"
            assert state.csat["message_at"] == clock.iso(rated_at)
