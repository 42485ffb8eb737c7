"""AutomationFunction's use case with a moved clock, on the in-memory store and on DynamoDB Local.

Auto-resolve: a person's reply makes a conversation pending; 48 h later it is resolved once, with its
closing message once and the survey after it; a customer message or a later reply resets the wait. The
assignee timer reassigns once per wait. A fault in one conversation never stops the others.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from infra.template import table_create_kwargs

from carehooks.automation.resolve import SURVEY_ATTR as AUTOMATION_SURVEY_ATTR
from carehooks.domain.models import AUTOMATION_AUTHOR
from carehooks.store import Store, keys
from carehooks.store.memory import MemoryStore
from carehooks.surveys.policy import SURVEY_ATTR
from carehooks.wiring.store import derivation, make_store
from tests.integration.automation_support import (
    CONFIG,
    T0,
    FakeSender,
    agent_replies,
    config,
    current,
    customer_writes,
    run_at,
)

H = timedelta(hours=1)
M = timedelta(minutes=1)
DOC = config()
_names = itertools.count()


@pytest.fixture(params=["memory", pytest.param("ddblocal", marks=pytest.mark.ddblocal)])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore(derive=derivation(lambda: DOC))
        return
    endpoint = request.getfixturevalue("ddblocal")
    client: Any = boto3.client("dynamodb", endpoint_url=endpoint, region_name="eu-west-1")
    name = f"automation-{next(_names)}"
    client.create_table(**table_create_kwargs("Table", name))
    yield make_store(name, client=client, config=lambda: DOC)
    client.delete_table(TableName=name)


def test_a_persons_reply_makes_it_pending_and_the_customers_next_message_open_again(store: Store) -> None:
    conv = customer_writes(store, "c1", T0)
    assert conv.status == "open"
    assert agent_replies(store, conv, T0 + M).status == "pending"
    assert customer_writes(store, "c1", T0 + 2 * M).status == "open"


def test_a_pending_conversation_is_resolved_once_after_48h_with_its_closing_message_and_survey(
    store: Store,
) -> None:
    conv = agent_replies(store, customer_writes(store, "c1", T0), T0 + M)
    send = FakeSender()
    early = run_at(store, T0 + M + 48 * H - M, DOC, send)
    assert (early.resolved, send.sent) == (0, [])
    assert current(store, conv).status == "pending"

    done = run_at(store, T0 + M + 48 * H + M, DOC, send)
    assert (done.resolved, done.closing_sent) == (1, 1)
    resolved = current(store, conv)
    assert resolved.status == "resolved"
    assert resolved.resolved_at == T0 + M + 48 * H + M
    assert resolved.extra["resolved_by"] == AUTOMATION_AUTHOR
    assert send.sent == [(conv.id, "We're closing this conversation for now.")]
    # The survey follows as for any resolution (the deriver set its due time).
    assert resolved.survey_due_at == resolved.resolved_at + 5 * M
    events = [e for e in store.conversation_events(resolved) if e.action == "resolve"]
    assert len(events) == 1
    assert events[0].actor == AUTOMATION_AUTHOR
    assert events[0].details["rule"] == "automation.auto_resolve.pending.1"
    assert events[0].details["closing_message"]["status"] == "sent"
    # The closing message is stored on the conversation, and is not a person's response.
    closing = [m for m in store.messages(resolved) if m.kind == "closing"]
    assert len(closing) == 1
    assert resolved.last_responder == "alice"

    for later in (2 * M, 5 * M, 30 * M, 3 * H):
        again = run_at(store, T0 + M + 48 * H + later, DOC, send)
        assert again.resolved == 0
    assert len(send.sent) == 1
    assert len([e for e in store.conversation_events(resolved) if e.action == "resolve"]) == 1


def test_a_customer_message_cancels_the_wait_and_a_later_reply_starts_a_new_one(store: Store) -> None:
    conv = agent_replies(store, customer_writes(store, "c1", T0), T0 + M)
    customer_writes(store, "c1", T0 + 24 * H)
    send = FakeSender()
    assert run_at(store, T0 + 49 * H + M, DOC, send).resolved == 0
    assert current(store, conv).status == "open"
    agent_replies(store, conv, T0 + 30 * H)
    assert run_at(store, T0 + 77 * H, DOC, send).resolved == 0
    assert run_at(store, T0 + 78 * H + M, DOC, send).resolved == 1
    assert current(store, conv).status == "resolved"
    assert len(send.sent) == 1


def test_the_first_matching_entry_wins_and_survey_false_skips_the_survey(store: Store) -> None:
    quick = agent_replies(store, customer_writes(store, "q", T0), T0 + M)
    store.save_conversation(
        current(store, quick).__class__(**{**vars(current(store, quick)), "tags": ["quick"]})
    )
    slow = agent_replies(store, customer_writes(store, "s", T0), T0 + M)
    send = FakeSender()
    result = run_at(store, T0 + M + H + M, DOC, send)
    assert result.resolved == 1
    resolved = current(store, quick)
    assert resolved.status == "resolved"
    assert resolved.extra[SURVEY_ATTR]["status"] == "skipped"
    assert resolved.survey_due_at is None
    assert current(store, slow).status == "pending"
    assert send.sent == [(quick.id, "Closing quickly.")]


def test_the_survey_attribute_names_agree() -> None:
    assert AUTOMATION_SURVEY_ATTR == SURVEY_ATTR


def test_faults_hold_only_their_conversation_and_are_retried_next_run(store: Store) -> None:
    convs = [agent_replies(store, customer_writes(store, f"c{n}", T0), T0 + M) for n in range(3)]
    send = FakeSender(fail_for={convs[0].id}, raise_for={convs[1].id})
    first = run_at(store, T0 + 48 * H + 2 * M, DOC, send)
    assert first.resolved == 1
    assert first.held == 2
    assert [current(store, c).status for c in convs] == ["pending", "pending", "resolved"]
    send.fail_for.clear()
    send.raise_for.clear()
    second = run_at(store, T0 + 48 * H + 3 * M, DOC, send)
    assert second.resolved == 2
    assert [current(store, c).status for c in convs] == ["resolved"] * 3
    assert sorted(c for c, _ in send.sent) == sorted(c.id for c in convs)


def test_a_send_that_keeps_failing_gives_up_after_an_hour_and_resolves_without_it(store: Store) -> None:
    conv = agent_replies(store, customer_writes(store, "c1", T0), T0 + M)
    send = FakeSender(fail_for={conv.id})
    due = T0 + M + 48 * H
    assert run_at(store, due + M, DOC, send).resolved == 0
    assert run_at(store, due + 61 * M, DOC, send).resolved == 1
    resolved = current(store, conv)
    (event,) = [e for e in store.conversation_events(resolved) if e.action == "resolve"]
    assert event.details["closing_message"] == {"status": "failed", "reason": "rate_limited"}
    assert send.sent == []


def test_overlapping_runs_resolve_and_send_once(store: Store) -> None:
    convs = [agent_replies(store, customer_writes(store, f"c{n}", T0), T0 + M) for n in range(6)]
    send = FakeSender()
    at = T0 + 49 * H + M
    results: list[int] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            from carehooks.automation.run import run_automation

            results.append(run_automation(store, at, DOC, send).resolved)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(current(store, c).status == "resolved" for c in convs)
    assert sorted(c for c, _ in send.sent) == sorted(c.id for c in convs)  # each closing message once
    for conv in convs:
        assert len([e for e in store.conversation_events(current(store, conv)) if e.action == "resolve"]) == 1


def test_a_run_reads_what_is_due_not_every_pending_conversation(store: Store) -> None:
    # 30 pending conversations, 3 of them replied to 48 h before the run: the run reads those 3.
    for n in range(27):
        agent_replies(store, customer_writes(store, f"fresh{n}", T0 + 40 * H), T0 + 40 * H + M)
    due = [agent_replies(store, customer_writes(store, f"old{n}", T0), T0 + M) for n in range(3)]
    send = FakeSender()
    one_entry = config(
        CONFIG.replace(
            '      - after: 1h\n        when: {tags: [quick]}\n        message: "Closing quickly."\n        survey: false\n',
            "",
        )
    )
    assert len(one_entry.automation.auto_resolve.pending) == 1
    result = run_at(store, T0 + 49 * H + M, one_entry, send)
    assert result.resolved == 3
    assert result.reads.index_items == 3
    assert result.reads.items == 3
    # The next run reads nothing new (the cursors moved; the resolved left the pending shards).
    again = run_at(store, T0 + 49 * H + 2 * M, one_entry, send)
    assert (again.reads.index_items, again.reads.items) == (0, 0)
    assert {c.id for c in due} == {c for c, _ in send.sent}


ASSIGNEE_CONFIG = (
    CONFIG.replace(
        "assignee_timer: {enabled: false}",
        "assignee_timer: {enabled: true, after: 30m, reassign_to: REASSIGN}",
    )
    .replace("    pending:\n      - after: 1h", "    pending:\n      - after: 100d")
    .replace("after: 48h", "after: 100d")
)


def assigned(store: Store, contact: str, agent: str) -> Any:
    conv = customer_writes(store, contact, T0)
    with_team = conv.__class__(
        **{**vars(conv), "assignee": agent, "extra": {**conv.extra, "team": "support"}}
    )
    return store.save_conversation(with_team)


@pytest.mark.parametrize(
    ("reassign_to", "before", "after"),
    [
        ("team", "alice", None),
        ("next_agent", "bruno", "dina"),
        ("next_agent", "dina", "alice"),
        ("{agent: bruno}", "alice", "bruno"),
    ],
)
def test_the_assignee_timer_reassigns_once_per_wait(
    store: Store, reassign_to: str, before: str, after: str | None
) -> None:
    doc = config(ASSIGNEE_CONFIG.replace("REASSIGN", reassign_to))
    conv = assigned(store, "c1", before)
    send = FakeSender()
    assert run_at(store, T0 + 29 * M, doc, send).reassigned == 0
    assert run_at(store, T0 + 31 * M, doc, send).reassigned == 1
    moved = current(store, conv)
    assert moved.assignee == after
    assert moved.extra["team"] == "support"
    (event,) = [e for e in store.conversation_events(moved) if e.action == "assign"]
    assert event.actor == AUTOMATION_AUTHOR
    assert event.details["from"] == before
    assert "waited more than 30 min" in event.details["reason"]
    # Once per wait: the new assignee is not timed again (runs inside and past the cursor's margin).
    for later in (32 * M, 35 * M, 50 * M, 3 * H):
        assert run_at(store, T0 + later, doc, send).reassigned == 0
    assert current(store, conv).assignee == after


def test_the_assignee_timer_starts_again_when_the_customer_waits_again(store: Store) -> None:
    doc = config(ASSIGNEE_CONFIG.replace("REASSIGN", "next_agent"))
    conv = assigned(store, "c1", "alice")
    send = FakeSender()
    agent_replies(store, conv, T0 + 10 * M)  # answered in time: pending, no timer
    assert run_at(store, T0 + 41 * M, doc, send).reassigned == 0
    customer_writes(store, "c1", T0 + H)  # waits again
    assert run_at(store, T0 + H + 29 * M, doc, send).reassigned == 0
    assert run_at(store, T0 + H + 31 * M, doc, send).reassigned == 1
    assert current(store, conv).assignee == "bruno"


def test_the_closing_message_claim_and_cursor_keys_are_as_documented(store: Store) -> None:
    conv = agent_replies(store, customer_writes(store, "c1", T0), T0 + M)
    run_at(store, T0 + 49 * H + M, DOC, FakeSender())
    claim = store.get_claim(keys.AUTO_RESOLVE_CLAIM_KIND, keys.auto_resolve_scope(conv.id, T0 + M))
    assert claim is not None
    assert claim["state"] == "done"
    assert '"status":"sent"' in claim["outcome"]


def test_a_backlog_is_worked_off_oldest_first_over_several_runs(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from carehooks.automation import run

    monkeypatch.setattr(run, "MAX_ACTIONS_PER_RUN", 2)
    convs = [
        agent_replies(store, customer_writes(store, f"c{n}", T0 + n * M), T0 + (n + 1) * M) for n in range(5)
    ]
    send = FakeSender()
    at = T0 + 50 * H
    first = run_at(store, at, DOC, send)
    assert (first.resolved, first.deferred) == (2, 3)
    assert [current(store, c).status for c in convs] == [
        "resolved",
        "resolved",
        "pending",
        "pending",
        "pending",
    ]
    assert run_at(store, at + M, DOC, send).resolved == 2
    assert run_at(store, at + 2 * M, DOC, send).resolved == 1
    assert [current(store, c).status for c in convs] == ["resolved"] * 5
    assert len(send.sent) == 5
