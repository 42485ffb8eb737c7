"""InboundProcessorFunction under moto with hostile records mixed into real batches.

Good records are stored; records that can never succeed (not a queued event, or a payload the adapter
cannot parse) are parked in the DLQ at once with ``ErrorCode`` / ``ErrorMessage`` and their original
group and deduplication ids, and count as handled, so no batch fails because of them. When the DLQ
cannot take one, that record fails normally (SQS retries it); transient errors are never parked.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carehooks.domain.models import MalformedEventError, QueuedEvent
from carehooks.inbound.parking import parse_queued
from tests.helpers import FakeContext, load_handler
from tests.hostile_support import UNICODE_EDGES, WRONG_VALUES, count, fuzz, paths, replaced
from tests.integration.conftest import Aws
from tests.integration.test_processor import record, stored_mids, text_event

_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def _no_after_store_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batch semantics only; the after-store steps have their own tests (and the log-hygiene flow)."""
    from carehooks.wiring import inbound as processor

    monkeypatch.setattr(processor, "steps", lambda *args, **kwargs: [])


@pytest.fixture
def parking(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    monkeypatch.setenv("INBOUND_DLQ_URL", aws.dlq_url)
    return aws


def process(records: list[dict[str, Any]]) -> list[str]:
    result: dict[str, Any] = load_handler("inbound_processor").handler({"Records": records}, FakeContext())
    return [f["itemIdentifier"] for f in result["batchItemFailures"]]


def parked(aws: Aws) -> list[dict[str, Any]]:
    return aws.dead_letters()


GARBAGE = [
    "",
    "not json",
    "null",
    "[]",
    '{"v":1}',
    '{"v":1,"source":"meta","channel":"fax","account_id":"a","contact_id":"c","event_id":"e",'
    '"received_at":"2025-11-22T09:00:00Z","payload":{}}',
    "\u202e\U0001f600",
    "{" * 5000,
]


def malformed_variant(event: QueuedEvent, data: st.DataObject) -> QueuedEvent:
    """A mutation of ``event`` its adapter refuses (drawn until one is)."""
    candidates = list(paths(event.payload))
    for _ in range(50):
        path = data.draw(st.sampled_from(candidates))
        value = data.draw(st.sampled_from(WRONG_VALUES + UNICODE_EDGES))
        hostile = event.model_copy(update={"payload": replaced(event.payload, path, value)})
        try:
            parse_queued(hostile)
        except MalformedEventError:
            return hostile
    return event.model_copy(update={"payload": {"kind": "messaging", "event": {}}})


@fuzz(25)
@given(data=st.data())
def test_malformed_records_in_a_batch_are_parked_with_their_reason_and_good_ones_stored(
    parking: Aws, data: st.DataObject
) -> None:
    aws = parking
    before_stored = set(stored_mids(aws))
    # Given a batch of good records with malformed ones mixed in (several customers)
    batch: list[dict[str, Any]] = []
    good: list[str] = []
    bad: dict[str, str] = {}  # message id -> expected ErrorCode
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        n = next(_ids)
        customer = data.draw(st.sampled_from(["alice", "bob", "carol"]))
        kind = data.draw(st.sampled_from(["good", "garbage", "unparseable"]))
        count("processor:batch")
        if kind == "good":
            good.append(f"m_h{n}")
            batch.append(record(text_event(customer, f"m_h{n}", 1763798400000 + n), f"r{n}"))
        elif kind == "garbage":
            bad[f"r{n}"] = "malformed_record"
            batch.append(record(data.draw(st.sampled_from(GARBAGE)), f"r{n}", group=f"g-{customer}"))
        else:
            bad[f"r{n}"] = "malformed_payload"
            event = malformed_variant(text_event(customer, f"m_h{n}", 1763798400000 + n), data)
            batch.append(record(event, f"r{n}"))
    # When the processor runs on it
    failures = process(batch)
    # Then nothing fails, the good records are stored and every malformed one is parked with its reason
    assert failures == []
    assert set(stored_mids(aws)) - before_stored == set(good)
    dlq = parked(aws)
    by_dedup = {m["Attributes"]["MessageDeduplicationId"]: m for m in dlq}
    assert len(dlq) == len(bad)
    for message_id, code in bad.items():
        sent = next(r for r in batch if r["messageId"] == message_id)
        message = by_dedup[message_id]  # record() uses the message id as the dedup id
        assert message["Body"] == sent["body"]
        assert message["Attributes"]["MessageGroupId"] == sent["attributes"]["MessageGroupId"]
        attributes = message["MessageAttributes"]
        assert attributes["ErrorCode"]["StringValue"] == code
        reason = attributes["ErrorMessage"]["StringValue"]
        assert 0 < len(reason) <= 256
        assert "text of" not in reason  # the customer's text is never the reason
    for message in dlq:
        aws.sqs.delete_message(QueueUrl=aws.dlq_url, ReceiptHandle=message["ReceiptHandle"])


def test_a_parked_record_is_counted_and_logged_with_its_message_id(
    parking: Aws, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    assert (
        process([record("not json", "r-log", group="g-x"), record(text_event("dan", "m_d1"), "r-ok")]) == []
    )
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(line.get("RecordsParked") in ([1.0], 1.0) for line in metrics)
    (logged,) = [r for r in caplog.records if r.getMessage() == "malformed record parked in the DLQ"]
    assert logged.levelname == "ERROR"
    assert logged.__dict__["message_id"] == "r-log"
    assert logged.__dict__["code"] == "malformed_record"


def test_a_malformed_record_the_dlq_refuses_fails_normally_and_is_retried(
    parking: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a DLQ that cannot be reached
    monkeypatch.setenv("INBOUND_DLQ_URL", parking.dlq_url + "-missing")
    # When a batch holds a malformed record, Then that record alone fails (SQS retries and redrives it)
    batch = [record("not json", "r-bad", group="g-x"), record(text_event("erin", "m_e1"), "r-good")]
    assert process(batch) == ["r-bad"]
    assert "m_e1" in stored_mids(parking)
    assert parked(parking) == []


def test_without_a_dlq_configured_a_malformed_record_fails_normally(aws: Aws) -> None:
    batch = [record("not json", "r-bad", group="g-x"), record(text_event("fay", "m_f1"), "r-good")]
    assert process(batch) == ["r-bad"]
    assert parked(aws) == []


def test_a_transient_failure_is_retried_not_parked(parking: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    from carehooks.store.table import TableStore as Store

    real = Store.record_message

    def flaky(self: Store, event: Any, *args: Any, **kwargs: Any) -> Any:
        if event.contact_id == "gus":
            raise RuntimeError("DynamoDB unavailable")
        return real(self, event, *args, **kwargs)

    monkeypatch.setattr(Store, "record_message", flaky)
    batch = [record(text_event("gus", "m_g1"), "r-gus"), record(text_event("hal", "m_h1"), "r-hal")]
    assert process(batch) == ["r-gus"]
    assert parked(parking) == []


def test_a_parked_record_does_not_hold_up_its_customers_later_records(parking: Aws) -> None:
    # FIFO order per customer: a record that fails skips the rest of its group; a parked one does not.
    poison = text_event("ivy", "m_i1").model_copy(update={"payload": {"kind": "messaging", "event": {}}})
    batch = [record(poison, "r-1"), record(text_event("ivy", "m_i2", 1763798401000), "r-2")]
    assert process(batch) == []
    assert "m_i2" in stored_mids(parking)
    assert len(parked(parking)) == 1


def test_a_batch_larger_than_one_sqs_request_is_all_queued_by_real_sqs(aws: Aws) -> None:
    # moto enforces SQS's 256 KiB per SendMessageBatch; the webhook splits its sends to fit.
    from tests.hostile_support import WEBHOOKS
    from tests.unit.test_hostile_body_size import _meta_batch

    count("webhook:meta")
    response = WEBHOOKS["meta"].post_signed(_meta_batch(["w" * 40_000] * 10))
    assert response["statusCode"] == 200
    assert len(aws.drain()) == 10
