"""InboundProcessorFunction under moto: partial batch failures, skipped groups, DLQ redrive, ignored kinds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from infra.template import resources

from carehooks.channels.meta.ingress import split
from carehooks.domain.models import QueuedEvent
from carehooks.ingress.queue import SqsEventQueue
from tests.helpers import FakeContext, event_bytes, load_handler
from tests.integration.conftest import Aws

NOW = datetime(2025, 11, 22, 9, 0, tzinfo=UTC)
PAGE = "112233445566778"


@pytest.fixture(autouse=True)
def _no_after_store_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about batch semantics; the after-store steps (rules, acknowledgements) have their own."""
    from carehooks.wiring import inbound as processor

    monkeypatch.setattr(processor, "steps", lambda *args, **kwargs: [])


def queued(path: str) -> list[QueuedEvent]:
    return split(event_bytes(path), NOW)


def text_event(customer: str, mid: str, ms: int = 1763798400000) -> QueuedEvent:
    body = {
        "object": "page",
        "entry": [
            {
                "id": PAGE,
                "time": ms,
                "messaging": [
                    {
                        "sender": {"id": customer},
                        "recipient": {"id": PAGE},
                        "timestamp": ms,
                        "message": {"mid": mid, "text": f"text of {mid}"},
                    }
                ],
            }
        ],
    }
    (event,) = split(json.dumps(body).encode(), NOW)
    return event


def poison(customer: str, mid: str) -> QueuedEvent:
    """A signed, well-formed envelope whose message the adapter cannot understand (no timestamp)."""
    event = text_event(customer, mid)
    payload = json.loads(json.dumps(event.payload))
    del payload["event"]["timestamp"]
    return event.model_copy(update={"payload": payload})


def record(event: QueuedEvent | str, message_id: str, group: str | None = None) -> dict[str, Any]:
    """An SQS FIFO record as Lambda delivers it."""
    body = event if isinstance(event, str) else event.model_dump_json()
    group_id = group or (event.group_id if isinstance(event, QueuedEvent) else "unknown")
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "MessageGroupId": group_id,
            "MessageDeduplicationId": message_id,
            "SequenceNumber": message_id,
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:inbound.fifo",
        "awsRegion": "eu-west-1",
    }


def process(records: list[dict[str, Any]]) -> list[str]:
    """Run the handler on one batch; the message ids it reports as failed."""
    result: dict[str, Any] = load_handler("inbound_processor").handler({"Records": records}, FakeContext())
    return [f["itemIdentifier"] for f in result["batchItemFailures"]]


def stored_mids(aws: Aws) -> list[str]:
    return sorted(i["platform_message_id"]["S"] for i in aws.items("MSG#"))


# ---------------------------------------------------------------- partial batch failures
def test_a_poison_record_fails_alone_and_other_customers_go_on(aws: Aws) -> None:
    batch = [
        record(text_event("alice", "m_a1"), "1"),
        record(poison("bob", "m_b1"), "2"),
        record(text_event("carol", "m_c1"), "3"),
        record(text_event("alice", "m_a2", 1763798401000), "4"),
    ]
    assert process(batch) == ["2"]
    assert stored_mids(aws) == ["m_a1", "m_a2", "m_c1"]


def test_records_after_a_poison_record_in_its_group_are_skipped_to_keep_order(aws: Aws) -> None:
    # skip_group_on_error: bob's later message waits for the failed one, so bob's order holds.
    batch = [
        record(poison("bob", "m_b1"), "1"),
        record(text_event("alice", "m_a1"), "2"),
        record(text_event("bob", "m_b2", 1763798401000), "3"),
        record(text_event("carol", "m_c1"), "4"),
        record(text_event("bob", "m_b3", 1763798402000), "5"),
    ]
    assert process(batch) == ["1", "3", "5"]
    assert stored_mids(aws) == ["m_a1", "m_c1"]


@pytest.mark.parametrize(
    "body",
    ["not json", "{}", '{"v":1,"source":"meta","channel":"fax"}', json.dumps({"hello": "world"})],
    ids=["not-json", "empty-object", "unknown-channel", "not-a-queued-event"],
)
def test_a_body_that_is_not_a_queued_event_is_a_failure_of_that_record(aws: Aws, body: str) -> None:
    batch = [record(body, "1", group="g-broken"), record(text_event("alice", "m_a1"), "2")]
    assert process(batch) == ["1"]
    assert stored_mids(aws) == ["m_a1"]


def test_a_store_failure_is_a_record_failure_not_a_batch_failure(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from carehooks.store.table import TableStore as Store

    real = Store.record_message

    def flaky(self: Store, event: Any, *args: Any, **kwargs: Any) -> Any:
        if event.contact_id == "bob":
            raise RuntimeError("DynamoDB unavailable")
        return real(self, event, *args, **kwargs)

    monkeypatch.setattr(Store, "record_message", flaky)
    batch = [record(text_event("bob", "m_b1"), "1"), record(text_event("alice", "m_a1"), "2")]
    assert process(batch) == ["1"]
    assert stored_mids(aws) == ["m_a1"]


def test_a_batch_whose_records_all_fail_fails_the_invocation_so_all_are_retried(aws: Aws) -> None:
    with pytest.raises(BatchProcessingError):
        process([record(poison("bob", "m_b1"), "1")])
    assert aws.items() == []


def test_a_retried_batch_stores_only_what_was_missing(aws: Aws) -> None:
    batch = [record(text_event("alice", "m_a1"), "1"), record(text_event("carol", "m_c1"), "2")]
    assert process(batch) == []
    before = sorted(json.dumps(i, sort_keys=True, default=bytes.hex) for i in aws.items())
    assert process(batch) == []
    assert sorted(json.dumps(i, sort_keys=True, default=bytes.hex) for i in aws.items()) == before


# ---------------------------------------------------------------- DLQ redrive under moto
def test_a_poison_record_ends_in_the_dlq_after_the_redrive_count_and_never_blocks_others(aws: Aws) -> None:
    max_receive = int(resources()["InboundQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"])
    SqsEventQueue(aws.queue_url, client=aws.sqs).send([poison("bob", "m_b1"), text_event("alice", "m_a1")])

    rounds = 0
    while rounds < max_receive + 3:
        rounds += 1
        received = aws.sqs.receive_message(
            QueueUrl=aws.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0
        ).get("Messages", [])
        if not received:
            break
        records = [
            {
                **record(m["Body"], m["MessageId"], group=m["Attributes"]["MessageGroupId"]),
                "receiptHandle": m["ReceiptHandle"],
            }
            for m in received
        ]
        try:
            failed = set(process(records))
        except BatchProcessingError:
            # Powertools raises when every record failed: the invocation fails and all of them reappear.
            failed = {m["MessageId"] for m in received}
        # What Lambda's event source mapping does: delete what succeeded, leave failures to reappear.
        for message in received:
            if message["MessageId"] not in failed:
                aws.sqs.delete_message(QueueUrl=aws.queue_url, ReceiptHandle=message["ReceiptHandle"])

    assert stored_mids(aws) == ["m_a1"]
    parked = aws.sqs.receive_message(QueueUrl=aws.dlq_url, MaxNumberOfMessages=10, AttributeNames=["All"])
    (message,) = parked["Messages"]
    assert QueuedEvent.model_validate_json(message["Body"]).event_id == "m_b1"
    assert int(message["Attributes"]["ApproximateReceiveCount"]) >= max_receive
    assert aws.sqs.receive_message(QueueUrl=aws.queue_url).get("Messages", []) == []
    assert rounds <= max_receive + 1


# ---------------------------------------------------------------- unsupported kinds
IGNORED_BODIES = {
    "messenger-reaction": {
        "object": "page",
        "entry": [
            {
                "id": PAGE,
                "messaging": [
                    {
                        "sender": {"id": "alice"},
                        "recipient": {"id": PAGE},
                        "timestamp": 1763798400000,
                        "reaction": {"mid": "m_x", "action": "react", "emoji": "\u2764"},
                    }
                ],
            }
        ],
    },
    "page-feed-change": {
        "object": "page",
        "entry": [{"id": PAGE, "changes": [{"field": "feed", "value": {"item": "status", "post_id": "1"}}]}],
    },
    "instagram-self": {
        "object": "instagram",
        "entry": [
            {
                "id": "17841405822304914",
                "messaging": [
                    {
                        "sender": {"id": "6021459874123365"},
                        "recipient": {"id": "17841405822304914"},
                        "timestamp": 1763798400000,
                        "message": {"mid": "m_self", "text": "test", "is_self": True},
                    }
                ],
            }
        ],
    },
    "whatsapp-system": {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": "106540352242922",
                            },
                            "messages": [
                                {
                                    "from": "16505551234",
                                    "id": "wamid.sys",
                                    "timestamp": "1763798400",
                                    "type": "system",
                                    "system": {"body": "changed number", "type": "user_changed_number"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    },
}


@pytest.mark.parametrize("body", IGNORED_BODIES.values(), ids=IGNORED_BODIES.keys())
def test_unsupported_kinds_are_ignored_with_a_metric_and_no_error(
    aws: Aws, body: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    events = split(json.dumps(body).encode(), NOW)
    assert process([record(e, str(i)) for i, e in enumerate(events)]) == []
    assert aws.items() == []
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(line.get("EventsIgnored") == [1.0] or line.get("EventsIgnored") == 1.0 for line in emitted), (
        emitted
    )


def test_statuses_for_messages_carehooks_never_stored_are_no_error(aws: Aws) -> None:
    events = queued("meta/whatsapp_statuses.json") + queued("meta/messenger_delivery.json")
    events += queued("meta/messenger_read.json")
    assert process([record(e, str(i)) for i, e in enumerate(events)]) == []
    assert aws.items() == []
