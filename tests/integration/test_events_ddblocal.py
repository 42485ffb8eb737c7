"""Domain events from DynamoDB Local's stream: nothing lost, refused puts retried, redelivery same ids.

The table (with its stream) is on DynamoDB Local; EventsFunction's handler runs in this process, driven
by the local stack's stream poller (``infra.local.streams``) exactly as the stack drives it; the bus is
moto's EventBridge with a rule sending every event to a queue.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from infra.template import table_create_kwargs
from moto import mock_aws

from carehooks.config.settings import settings
from carehooks.domain.models import Channel, Direction, MessageEvent
from carehooks.inbound.processor import store_message
from carehooks.store import Store
from carehooks.wiring import events as wiring_events
from carehooks.wiring.store import make_store
from tests.events_support import BusSink, InProcessRuntime, assert_valid, drain, stream_poller

pytestmark = pytest.mark.ddblocal

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
WINDOW = timedelta(hours=24)
PAGE = "112233445566778"
BUS = "carehooks-test-events"
_names = itertools.count()


@pytest.fixture
def table(ddblocal: str) -> Iterator[tuple[Any, str]]:
    dynamodb = boto3.client("dynamodb", endpoint_url=ddblocal, region_name="eu-west-1")
    name = f"events-{next(_names)}"
    dynamodb.create_table(**table_create_kwargs("Table", name, stream=True))
    yield dynamodb, name
    dynamodb.delete_table(TableName=name)


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[BusSink]:
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    settings.cache_clear()
    wiring_events.events_client.cache_clear()
    with mock_aws():
        yield BusSink.create(BUS)
    settings.cache_clear()
    wiring_events.events_client.cache_clear()


class FlakyBus:
    """PutEvents that refuses every entry of its first ``outage`` calls, then every ``nth`` entry."""

    def __init__(self, outage: int, nth: int) -> None:
        self.outage = outage
        self.nth = nth
        self.calls = 0
        self.refused = 0
        self.entries = itertools.count()

    def __call__(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.outage:
            self.refused += len(entries)
            return {
                "FailedEntryCount": len(entries),
                "Entries": [{"ErrorCode": "ThrottlingException"}] * len(entries),
            }
        refused = [i for i, _ in enumerate(entries) if next(self.entries) % self.nth == 0]
        sent = [e for i, e in enumerate(entries) if i not in refused]
        answers = iter(wiring_events.events_client().put_events(Entries=sent)["Entries"] if sent else [])
        self.refused += len(refused)
        return {
            "FailedEntryCount": len(refused),
            "Entries": [
                {"ErrorCode": "InternalFailure"} if i in refused else next(answers)
                for i in range(len(entries))
            ],
        }


def message(contact: str, n: int, at: datetime) -> MessageEvent:
    return MessageEvent(
        channel=Channel.MESSENGER,
        account_id=PAGE,
        contact_id=contact,
        platform_message_id=f"m_{contact}_{n}",
        sent_at=at,
        direction=Direction.IN,
        text=f"message {n}",
    )


def workload(store: Store) -> dict[str, set[str]]:
    """Four customers write three messages each; two conversations are assigned, one resolved.

    Returns what must be published: message ids, conversation ids, assigned and resolved ones.
    """
    expected: dict[str, set[str]] = {
        "messages": set(),
        "conversations": set(),
        "assigned": set(),
        "resolved": set(),
    }
    for c in range(4):
        contact = f"73188456120934{c:02d}"
        for n in range(3):
            outcome = store_message(store, message(contact, n, T0 + timedelta(minutes=n)), T0, WINDOW)
            assert outcome.conversation is not None
            expected["messages"].add(f"m_{contact}_{n}")
            expected["conversations"].add(outcome.conversation.id)
    for index, conversation_id in enumerate(sorted(expected["conversations"])[:2]):
        current = store.get_conversation(conversation_id)
        assert current is not None
        current = store.save_conversation(replace(current, assignee=f"agent-{index}"))
        expected["assigned"].add(conversation_id)
        if index == 0:
            store.save_conversation(replace(current, status="resolved", resolved_at=T0 + timedelta(hours=1)))
            expected["resolved"].add(conversation_id)
    return expected


def published(events: list[dict[str, Any]], detail_type: str, field: str) -> Counter[str]:
    return Counter(e["detail"][field] for e in events if e["detail-type"] == detail_type)


def test_every_change_is_published_although_puts_are_refused_and_retried(
    table: tuple[Any, str], bus: BusSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dynamodb, name = table
    store = make_store(name, client=dynamodb)
    flaky = FlakyBus(outage=5, nth=4)
    monkeypatch.setattr(wiring_events, "put_events", flaky)
    monkeypatch.setattr("carehooks.events.publishing.BACKOFF_SECONDS", 0.0)
    monkeypatch.setattr("infra.local.streams.RETRY_WAIT", 0.0)
    # Given conversations, messages, an assignment and a resolution written to the table
    expected = workload(store)
    runtime = InProcessRuntime()
    # When the stream is read while PutEvents refuses entries (a whole outage first, then every 4th entry)
    drain(stream_poller(dynamodb, name, runtime, tmp_path / "streams.json"))
    events = bus.collect()
    # Then the first record failed and was read again (not skipped), and every refused entry was sent again
    assert runtime.failed_records >= 1
    assert flaky.refused > 0
    # and nothing is lost: every message, conversation, assignment and resolution is on the bus
    assert set(published(events, "message.received", "message_id")) == expected["messages"]
    assert set(published(events, "conversation.created", "conversation_id")) == expected["conversations"]
    assigned = {
        e["detail"]["conversation_id"]
        for e in events
        if e["detail-type"] == "conversation.assigned" and e["detail"]["assignee"]
    }
    assert assigned == expected["assigned"]
    assert set(published(events, "conversation.resolved", "conversation_id")) == expected["resolved"]
    # and a change published more than once (at least once) always carries the same detail
    by_id: dict[str, dict[str, Any]] = {}
    for event in events:
        assert_valid(event)
        assert by_id.setdefault(event["detail"]["id"], event["detail"]) == event["detail"]


def test_a_stream_read_again_publishes_the_same_ids(
    table: tuple[Any, str], bus: BusSink, tmp_path: Path
) -> None:
    dynamodb, name = table
    store = make_store(name, client=dynamodb)
    workload(store)
    drain(stream_poller(dynamodb, name, InProcessRuntime(), tmp_path / "first.json"))
    first = [e["detail"]["id"] for e in bus.collect()]
    # When the whole stream is delivered again (a new reader from the start)
    drain(stream_poller(dynamodb, name, InProcessRuntime(), tmp_path / "again.json"))
    both = [e["detail"]["id"] for e in bus.collect()]
    # Then the second delivery published exactly the same ids: consumers dedupe it away
    assert len(first) > 10
    assert Counter(both) == Counter(dict.fromkeys(first, 2))


def test_a_record_that_never_publishes_is_named_on_the_failure_queue_and_the_rest_go_on(
    table: tuple[Any, str], bus: BusSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dynamodb, name = table
    store = make_store(name, client=dynamodb)
    monkeypatch.setattr("carehooks.events.publishing.BACKOFF_SECONDS", 0.0)
    monkeypatch.setattr("infra.local.streams.RETRY_WAIT", 0.0)
    poison = "m_7318845612093400_1"
    real = wiring_events.put_events

    def refuses_one_message(entries: list[dict[str, Any]]) -> dict[str, Any]:
        if any(poison in e["Detail"] for e in entries):
            return {
                "FailedEntryCount": len(entries),
                "Entries": [{"ErrorCode": "InternalFailure"}] * len(entries),
            }
        return real(entries)

    monkeypatch.setattr(wiring_events, "put_events", refuses_one_message)
    expected = workload(store)
    poller = stream_poller(dynamodb, name, InProcessRuntime(), tmp_path / "streams.json", max_retries=2)
    drain(poller)
    # Then the record that could never be published is named (shard, sequence numbers) after its retries
    assert len(poller.given_up) >= 1
    batch = poller.given_up[0]["DDBStreamBatchInfo"]
    assert batch["startSequenceNumber"] <= batch["endSequenceNumber"]
    assert poller.given_up[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"
    # and every other message still reached the bus
    received = set(published(bus.collect(), "message.received", "message_id"))
    assert received == expected["messages"] - {poison}
    assert batch["startSequenceNumber"] == batch["endSequenceNumber"]
