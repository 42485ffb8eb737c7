"""The automation store methods (issue 17) behave the same on the in-memory store and DynamoDB Local."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import boto3
import pytest
from infra.template import table_create_kwargs

from carehooks.config.loader import parse_document
from carehooks.domain.models import Channel, Conversation
from carehooks.store import ConflictError, Store, keys
from carehooks.store.events import ConversationEvent
from carehooks.store.memory import MemoryStore
from carehooks.store.sla import ReadStats
from carehooks.wiring.store import make_store
from tests.integration.automation_support import T0

_names = itertools.count()
M = timedelta(minutes=1)


@pytest.fixture(params=["memory", pytest.param("ddblocal", marks=pytest.mark.ddblocal)])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    endpoint = request.getfixturevalue("ddblocal")
    client: Any = boto3.client("dynamodb", endpoint_url=endpoint, region_name="eu-west-1")
    name = f"auto-contract-{next(_names)}"
    client.create_table(**table_create_kwargs("Table", name))
    empty = parse_document("{}")
    yield make_store(name, client=client, config=lambda: empty)
    client.delete_table(TableName=name)


def pending(store: Store, n: int, turn_minutes: int, **changes: Any) -> Conversation:
    from carehooks.domain.conversations import new_conversation_id

    turn = T0 + turn_minutes * M
    conv = Conversation(
        id=new_conversation_id(turn, seed=str(n)),
        channel=Channel.TELEGRAM,
        account_id="bot",
        contact_id=f"chat{n}",
        created_at=turn - M,
        status="pending",
        turn_at=turn,
        last_activity_at=turn,
        tags=["a", "b"],
        priority="high",
        assignee="alice",
    )
    for name, value in changes.items():
        setattr(conv, name, value)
    return store.write_conversation(conv, expected_version=None, now=turn)  # type: ignore[attr-defined,no-any-return]


def entries(store: Store, status: str, after: str | None, upto: str) -> list[Any]:
    found = []
    for partition in keys.status_partitions(status):
        found.extend(store.status_entries(partition, after, upto, ReadStats()))
    return sorted(found, key=lambda e: e.list_sk)


def test_status_entries_are_bounded_by_turn_and_carry_the_projected_attributes(store: Store) -> None:
    convs = [pending(store, n, n * 10) for n in range(5)]  # turns at 0, 10, 20, 30, 40 minutes
    pending(store, 99, 5, status="open")
    upto = keys.list_key_upper_bound(T0 + 30 * M)
    found = entries(store, "pending", None, upto)
    assert [e.conversation_id for e in found] == [c.id for c in convs[:4]]
    first = found[0]
    assert (first.channel, first.tags, first.priority, first.assignee) == (
        "telegram",
        ("a", "b"),
        "high",
        "alice",
    )
    assert first.turn_at == T0
    # ``after`` is exclusive, ``upto`` inclusive
    after = entries(store, "pending", found[1].list_sk, upto)
    assert [e.conversation_id for e in after] == [c.id for c in convs[2:4]]
    assert entries(store, "pending", upto, upto) == []
    # the table key read back is the conversation's
    stats = ReadStats()
    read = store.get_conversations([first.table_key], stats)
    assert [c.id for c in read] == [convs[0].id]
    assert stats.items == 1


def test_cursors_round_trip_in_one_query(store: Store) -> None:
    assert store.automation_cursors(ReadStats()) == {}
    store.put_automation_cursor("resolve#pending#172800", {"STATUS#pending#3": "x#1"}, T0)
    store.put_automation_cursor("assignee#open#1800", {"STATUS#open#0": "y"}, T0)
    store.put_automation_cursor(
        "resolve#pending#172800", {"STATUS#pending#3": "x#2", "STATUS#pending#4": "z"}, T0
    )
    stats = ReadStats()
    assert store.automation_cursors(stats) == {
        "assignee#open#1800": {"STATUS#open#0": "y"},
        "resolve#pending#172800": {"STATUS#pending#3": "x#2", "STATUS#pending#4": "z"},
    }
    assert stats.queries == 1


def test_the_change_its_event_and_the_claim_are_written_together_or_not_at_all(store: Store) -> None:
    conv = pending(store, 1, 0)
    claim = (keys.AUTO_RESOLVE_CLAIM_KIND, keys.auto_resolve_scope(conv.id, T0))
    assert store.claim(*claim, T0, timedelta(days=1), owner="automation")
    event = ConversationEvent(
        conversation_id=conv.id, action="resolve", at=T0 + M, actor="carehooks", details={"x": 1}
    )
    stale = replace(conv, version=conv.version - 1, status="resolved", resolved_at=T0 + M)
    with pytest.raises(ConflictError):
        store.save_with_event_and_claim(stale, event, claim, {"outcome": "x"}, timedelta(days=90))
    assert store.conversation_events(conv) == []
    held = store.get_claim(*claim)
    assert held is not None
    assert held["state"] == "claimed"
    stored = store.save_with_event_and_claim(
        replace(conv, status="resolved", resolved_at=T0 + M),
        event,
        claim,
        {"outcome": "x"},
        timedelta(days=90),
    )
    assert stored.status == "resolved"
    assert [e.action for e in store.conversation_events(stored)] == ["resolve"]
    done = store.get_claim(*claim)
    assert done is not None
    assert (done["state"], done["outcome"]) == ("done", "x")
    assert entries(store, "pending", None, keys.list_key_upper_bound(T0 + M)) == []
