"""Delivering the inbound queue the way Lambda's SQS event source does, under moto.

:func:`deliver` receives a batch, invokes InboundProcessorFunction's handler, deletes the records the
handler did not report as failed and leaves the failed ones to come back (visibility 0: at once), so
after ``maxReceiveCount`` receives moto moves them to the DLQ, as SQS would.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from tests.helpers import FakeContext, event_bytes, http_event, load_handler, meta_signature
from tests.integration.conftest import Aws, lambda_record


def post_meta(raw: bytes) -> dict[str, Any]:
    """POST a correctly signed body to MetaWebhookFunction."""
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(raw)}
    result: dict[str, Any] = load_handler("meta_webhook").handler(
        http_event("POST", "/webhooks/meta", raw, headers), FakeContext()
    )
    return result


def post_event(path: str) -> dict[str, Any]:
    return post_meta(event_bytes(path))


def deliver_once(aws: Aws, queue_url: str | None = None) -> tuple[int, int]:
    """One poll of the event source: (records processed, records failed). (0, 0) when nothing is visible."""
    url = queue_url or aws.queue_url
    messages = aws.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0
    ).get("Messages", [])
    if not messages:
        return 0, 0
    try:
        result = load_handler("inbound_processor").handler(
            {"Records": [lambda_record(m) for m in messages]}, FakeContext()
        )
    except BatchProcessingError:
        # Every record failed: the invocation fails and Lambda leaves the whole batch to come back.
        return len(messages), len(messages)
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    for message in messages:
        if message["MessageId"] not in failed:
            aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return len(messages), len(failed)


def deliver(aws: Aws, queue_url: str | None = None, polls: int = 50) -> int:
    """Poll until the queue is empty (failed records end in the DLQ); the number of failed deliveries."""
    failures = 0
    for _ in range(polls):
        got, failed = deliver_once(aws, queue_url)
        # A poll that moved exhausted records to the DLQ returns nothing while others are still queued.
        if got == 0 and queue_depth(aws, queue_url or aws.queue_url) == 0:
            return failures
        failures += failed
    raise AssertionError(f"the queue did not drain in {polls} polls")


def queue_depth(aws: Aws, queue_url: str) -> int:
    attributes = aws.sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def stored_message_ids(aws: Aws) -> list[str]:
    """Platform ids of every stored message (each item once: the table cannot hold a key twice)."""
    return sorted(i["sk"]["S"].removeprefix("MSG#") for i in aws.items("MSG#"))
