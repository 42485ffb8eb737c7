"""The inbound processor end to end on the in-memory store: parse, store, thread, rules, acknowledge.

Queue bodies are built from the sample webhook bodies under ``events/`` the way the webhook enqueues
them; the steps are the function's own (``carehooks.wiring.processor.steps``) with a fake delivery.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from carehooks.channels.meta.ingress import split
from carehooks.domain.models import Channel, Conversation
from carehooks.inbound.processor import Inbound, ProcessResult, process_queued
from carehooks.outbound.models import OutboundMessage, SendResult
from carehooks.rules.acknowledge import ACK_CLAIM
from carehooks.store import Store
from carehooks.store.memory import MemoryStore
from carehooks.surveys.capture import answers_survey
from carehooks.wiring.inbound import steps
from carehooks.wiring.store import derivation
from tests.helpers import event_json
from tests.rules_support import rules_document

PAGE = "112233445566778"
CUSTOMER = "7318845612093471"
SENT = datetime(2025, 11, 22, 8, 0, tzinfo=UTC)  # the sample message's platform time
NOW = SENT + timedelta(seconds=2)
CONFIG = rules_document(
    """
    - id: orders
      when: {text: {keyword: [order]}}
      then: [{add_tags: [order]}, acknowledge]
    """
)


@dataclass
class FakeDeliver:
    """Stands in for the window-aware send: records what it is asked to send."""

    sent: list[tuple[str, OutboundMessage]] = field(default_factory=list)

    def __call__(
        self, conv: Conversation, outbound: OutboundMessage, store: Store, now: datetime
    ) -> SendResult:
        self.sent.append((conv.id, outbound))
        return SendResult(status="sent", platform_message_id=f"m_ack_{len(self.sent)}")


@dataclass
class Processor:
    store: MemoryStore
    deliver: FakeDeliver

    def process(self, body: str, now: datetime = NOW) -> ProcessResult:
        inbound = Inbound(
            store=self.store,
            steps=steps(self.store, config=lambda: CONFIG, deliver=self.deliver),
            reopen_window=timedelta(hours=24),
            answers_survey=answers_survey,
            now=lambda: now,
        )
        return process_queued(body, inbound)

    def conversations(self) -> list[Conversation]:
        return self.store.contact_conversations(Channel.MESSENGER, PAGE, CUSTOMER)


@pytest.fixture
def processor() -> Processor:
    return Processor(MemoryStore(derive=derivation(lambda: CONFIG)), FakeDeliver())


def queued(mid: str | None = None, sent: datetime | None = None, text: str | None = None) -> str:
    """The queue body of the sample Messenger text, optionally as another message (id, time, text)."""
    raw: dict[str, Any] = event_json("meta/messenger_text.json")
    messaging = raw["entry"][0]["messaging"][0]
    if mid is not None:
        messaging["message"]["mid"] = mid
    if sent is not None:
        messaging["timestamp"] = raw["entry"][0]["time"] = int(sent.timestamp() * 1000)
    if text is not None:
        messaging["message"]["text"] = text
    (event,) = split(json.dumps(raw).encode(), NOW)
    return event.model_dump_json()


def test_a_new_customers_message_is_stored_threaded_tagged_and_acknowledged_once(
    processor: Processor,
) -> None:
    result = processor.process(queued())
    assert (result.stored, result.duplicates) == (1, 0)
    [conv] = processor.conversations()
    assert (conv.status, conv.tags, conv.message_count) == ("open", ["order"], 1)
    assert conv.first_inbound_at == SENT
    [message] = processor.store.messages(conv)
    assert message.text == "where is my order? #1234"
    decision = message.extra["rules"]
    assert decision["matched"] == ["orders"]
    assert decision["ack"]["status"] == "sent"
    assert [(cid, m.kind) for cid, m in processor.deliver.sent] == [(conv.id, "ack")]
    claim = processor.store.get_claim(ACK_CLAIM, conv.id)
    assert claim is not None
    assert (claim["state"], claim["outcome"]) == ("done", "sent")


def test_a_redelivery_stores_nothing_and_acknowledges_nothing(processor: Processor) -> None:
    processor.process(queued())
    [before] = processor.conversations()
    [message_before] = processor.store.messages(before)
    again = processor.process(queued(text="an edited redelivery"), now=NOW + timedelta(minutes=5))
    assert (again.stored, again.duplicates) == (0, 1)
    [after] = processor.conversations()
    assert after == before
    assert processor.store.messages(after) == [message_before]
    assert len(processor.deliver.sent) == 1


def test_a_reordered_older_message_moves_first_inbound_back(processor: Processor) -> None:
    processor.process(queued("m_later", SENT + timedelta(minutes=1), "and another thing"))
    processor.process(queued(), now=NOW + timedelta(minutes=1))
    [conv] = processor.conversations()
    assert conv.first_inbound_at == SENT
    assert conv.last_inbound_at == SENT + timedelta(minutes=1)
    assert conv.preview == "and another thing"
    assert [m.platform_message_id for m in processor.store.messages(conv)] == [
        "m_AbCdEf0123456789text",
        "m_later",
    ]
    # The late message is the order question: the rules tag the conversation and acknowledge it, once.
    assert [m.kind for _, m in processor.deliver.sent] == ["ack"]
    assert conv.tags == ["order"]
    later = processor.store.get_message(Channel.MESSENGER, PAGE, CUSTOMER, "m_later")
    assert later is not None
    assert later.extra["rules"]["matched"] == []


# -- runs: consecutive messages of one conversation in one batch ------------------------------------------
def run_inbound(processor: Processor, now: datetime, failing_step_at: str | None = None) -> Inbound:
    """The processor's collaborators with the rules deciding before the store (as the function has them)."""
    from carehooks.rules.step import decider

    real = steps(processor.store, config=lambda: CONFIG, deliver=processor.deliver)

    def failing(stored: Any) -> None:
        if stored.event.platform_message_id == failing_step_at:
            raise RuntimeError("the platform is down")

    return Inbound(
        store=processor.store,
        steps=[failing, *real],
        decide=decider(processor.store, CONFIG),
        reopen_window=timedelta(hours=24),
        answers_survey=answers_survey,
        now=lambda: now,
    )


def follow_ups(count: int) -> list[tuple[str, str]]:
    return [
        (f"r{n}", queued(f"m_more_{n}", SENT + timedelta(seconds=10 + n), f"order detail {n}"))
        for n in range(count)
    ]


def conversation_writes(store: MemoryStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    writes: list[int] = []
    original = store.write_conversation

    def counted(*args: Any, **kwargs: Any) -> Conversation:
        writes.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(store, "write_conversation", counted)
    return writes


def test_a_run_of_one_conversations_messages_is_accounted_in_one_write_like_one_by_one(
    processor: Processor, monkeypatch: pytest.MonkeyPatch
) -> None:
    from carehooks.inbound.processor import process_runs

    other = Processor(MemoryStore(derive=derivation(lambda: CONFIG)), FakeDeliver())
    for each in (processor, other):
        process_queued(queued(), run_inbound(each, NOW))
    records = follow_ups(4)
    writes = conversation_writes(processor.store, monkeypatch)
    handled = process_runs(records, run_inbound(processor, NOW + timedelta(seconds=30)))
    assert handled == {"r0", "r1", "r2", "r3"}
    assert len(writes) == 1
    for _, body in records:  # the same records, one by one, on another store
        process_queued(body, run_inbound(other, NOW + timedelta(seconds=30)))
    [run] = processor.conversations()
    [one_by_one] = other.conversations()
    assert (run.message_count, run.seq) == (one_by_one.message_count, one_by_one.seq) == (5, 5)
    assert (run.last_inbound_at, run.preview, run.tags) == (
        one_by_one.last_inbound_at,
        one_by_one.preview,
        one_by_one.tags,
    )
    assert [m.seq for m in processor.store.messages(run)] == [1, 2, 3, 4, 5]
    assert [m.extra["rules"]["matched"] for m in processor.store.messages(run)] == [
        m.extra["rules"]["matched"] for m in other.store.messages(one_by_one)
    ]
    # and each message's steps ran: one acknowledgement for the conversation, as one by one
    assert len(processor.deliver.sent) == len(other.deliver.sent) == 1


def test_a_run_with_a_stored_message_writes_nothing_and_is_left_to_one_by_one(
    processor: Processor,
) -> None:
    from carehooks.inbound.processor import process_runs

    process_queued(queued(), run_inbound(processor, NOW))
    records = follow_ups(3)
    process_queued(records[1][1], run_inbound(processor, NOW))  # a redelivery will be inside the run
    [before] = processor.conversations()
    assert process_runs(records, run_inbound(processor, NOW + timedelta(seconds=30))) == set()
    [after] = processor.conversations()
    assert after == before
    assert len(processor.store.messages(after)) == 2  # the run's other messages were taken back
    for _, body in records:
        process_queued(body, run_inbound(processor, NOW + timedelta(seconds=30)))
    [done] = processor.conversations()
    assert (done.message_count, done.seq) == (4, 4)


def test_a_new_customers_run_is_left_to_one_by_one(processor: Processor) -> None:
    from carehooks.inbound.processor import process_runs

    records = [("first", queued()), *follow_ups(2)]
    assert process_runs(records, run_inbound(processor, NOW)) == set()
    assert processor.conversations() == []


def test_a_failed_step_leaves_that_record_and_the_rest_of_the_run_to_one_by_one(
    processor: Processor,
) -> None:
    from carehooks.inbound.processor import process_runs

    process_queued(queued(), run_inbound(processor, NOW))
    records = follow_ups(4)
    handled = process_runs(records, run_inbound(processor, NOW, failing_step_at="m_more_2"))
    assert handled == {"r0", "r1"}
    [conv] = processor.conversations()
    assert conv.message_count == 5  # every message of the run is stored and accounted
    for record_id, body in records:
        if record_id not in handled:  # their retry finds them stored: duplicates whose steps resume
            result = process_queued(body, run_inbound(processor, NOW))
            assert (result.stored, result.duplicates) == (0, 1)
    [after] = processor.conversations()
    assert after.message_count == 5
