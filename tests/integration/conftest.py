"""AWS under moto: the table and queues as template.yaml defines them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from infra.template import resources, table_create_kwargs
from moto import mock_aws

from tests.helpers import META_SECRET, META_VERIFY_TOKEN

TABLE = "carehooks-test"


INBOUND_ARN = "arn:aws:sqs:eu-west-1:123456789012:inbound.fifo"


def lambda_record(message: dict[str, Any], source_arn: str = INBOUND_ARN) -> dict[str, Any]:
    """An SQS ``ReceiveMessage`` message as Lambda's SQS event source hands it to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": source_arn,
        "awsRegion": "eu-west-1",
    }


@dataclass
class Aws:
    dynamodb: Any
    sqs: Any
    queue_url: str
    dlq_url: str

    def drain(self, max_messages: int = 10) -> list[dict[str, Any]]:
        """Receive every visible message of the inbound queue (as Lambda's SQS event records)."""
        records: list[dict[str, Any]] = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=max_messages,
                AttributeNames=["All"],
                VisibilityTimeout=0,
            ).get("Messages", [])
            if not got:
                return records
            for message in got:
                records.append(lambda_record(message))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every message of the DLQ with its attributes, hidden for 30 s once read (not deleted)."""
        messages: list[dict[str, Any]] = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.dlq_url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                VisibilityTimeout=30,
            ).get("Messages", [])
            if not got:
                return messages
            messages.extend(got)

    def items(self, prefix: str = "") -> list[dict[str, Any]]:
        """Every item of the table (tests only; the code never scans)."""
        out: list[dict[str, Any]] = []
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=TABLE):
            out.extend(i for i in page["Items"] if i["sk"]["S"].startswith(prefix))
        return out


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(**table_create_kwargs("Table", TABLE))
        sqs = boto3.client("sqs")
        dlq_url = sqs.create_queue(QueueName="inbound-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        max_receive = resources()["InboundQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
        queue_url = sqs.create_queue(
            QueueName="inbound.fifo",
            Attributes={
                "FifoQueue": "true",
                "ContentBasedDeduplication": "false",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive}),
            },
        )["QueueUrl"]
        monkeypatch.setenv("TABLE_NAME", TABLE)
        monkeypatch.setenv("INBOUND_QUEUE_URL", queue_url)
        monkeypatch.setenv("META_APP_SECRET", META_SECRET)
        monkeypatch.setenv("META_VERIFY_TOKEN", META_VERIFY_TOKEN)
        # Never reach a real platform: an unstubbed outbound call fails fast on a closed local port.
        for name in ("META_GRAPH_URL", "X_API_URL", "TELEGRAM_API_URL", "TWILIO_API_URL"):
            monkeypatch.setenv(name, "http://127.0.0.1:9")
        monkeypatch.delenv("CAREHOOKS_SECRET_ID", raising=False)
        yield Aws(dynamodb=dynamodb, sqs=sqs, queue_url=queue_url, dlq_url=dlq_url)


@pytest.fixture(scope="session")
def ddblocal() -> Iterator[str]:
    """Amazon DynamoDB Local (in memory) on a free loopback port; its endpoint URL.

    Session-scoped per process, so each pytest-xdist worker starts and stops its own. It is installed by
    ``make tools``; when it is missing the tests fail with the reason instead of being skipped.
    """
    from infra import dynamodb_local

    try:
        server = dynamodb_local.start()
    except dynamodb_local.DynamoDBLocalUnavailableError as exc:
        pytest.fail(f"DynamoDB Local is unavailable: {exc}")
    try:
        yield server.endpoint
    finally:
        server.stop()
