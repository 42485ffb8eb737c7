"""``carehooks events redrive``: the stream ranges EventsFunction gave up on are published from its DLQ.

The table and its stream are on DynamoDB Local; the DLQ and the bus are moto's. The DLQ message is the
one Lambda writes for a failed stream batch (``DDBStreamBatchInfo``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from infra.cli import events as events_cli
from infra.template import table_create_kwargs
from moto import mock_aws

from carehooks.domain.models import Channel, Direction, MessageEvent
from carehooks.inbound.processor import store_message
from carehooks.wiring.store import make_store
from tests.events_support import BusSink, assert_valid, streams_client

pytestmark = pytest.mark.ddblocal

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
BUS = "carehooks-redrive-events"
_names = itertools.count()


@pytest.fixture
def stream(ddblocal: str) -> Iterator[tuple[Any, Any, str]]:
    dynamodb = boto3.client("dynamodb", endpoint_url=ddblocal, region_name="eu-west-1")
    name = f"redrive-{next(_names)}"
    dynamodb.create_table(**table_create_kwargs("Table", name, stream=True))
    yield dynamodb, streams_client(dynamodb), name
    dynamodb.delete_table(TableName=name)


@pytest.fixture
def moto() -> Iterator[tuple[BusSink, Any, str]]:
    with mock_aws():
        sink = BusSink.create(BUS)
        sqs = boto3.client("sqs")
        dlq_url = sqs.create_queue(QueueName="events-dlq")["QueueUrl"]
        yield sink, sqs, dlq_url


def a_customer_writes(dynamodb: Any, table: str) -> None:
    event = MessageEvent(
        channel=Channel.TELEGRAM,
        account_id="bot",
        contact_id="1111111",
        platform_message_id="901",
        sent_at=T0,
        direction=Direction.IN,
        text="hello",
    )
    store_message(make_store(table, client=dynamodb), event, T0, timedelta(hours=24))


def given_up(dynamodb: Any, streams: Any, table: str) -> dict[str, Any]:
    """What Lambda writes to the on-failure queue for the whole stream so far (one shard)."""
    arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 11},
        "version": "1.0",
        "DDBStreamBatchInfo": {
            "shardId": shard["ShardId"],
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "batchSize": len(records),
            "streamArn": arn,
        },
    }


def test_a_named_range_is_published_and_its_dlq_message_deleted(
    stream: tuple[Any, Any, str], moto: tuple[BusSink, Any, str]
) -> None:
    dynamodb, streams, table = stream
    sink, sqs, dlq_url = moto
    a_customer_writes(dynamodb, table)
    sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps(given_up(dynamodb, streams, table)))
    # When the operator redrives the DLQ
    report = events_cli.redrive(sqs, dlq_url, streams, events_cli.publisher(sink.events, BUS))
    # Then the range's events are on the bus and the DLQ is empty
    assert (len(report.published), report.expired, report.failed) == (1, [], [])
    kinds = sorted(e["detail-type"] for e in sink.collect())
    assert kinds == ["conversation.created", "message.received"]
    for event in sink.received:
        assert_valid(event)
    attributes = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    assert (
        int(attributes["ApproximateNumberOfMessages"])
        + int(attributes["ApproximateNumberOfMessagesNotVisible"])
        == 0
    )


def test_a_dry_run_publishes_nothing_and_keeps_the_message(
    stream: tuple[Any, Any, str], moto: tuple[BusSink, Any, str]
) -> None:
    dynamodb, streams, table = stream
    sink, sqs, dlq_url = moto
    a_customer_writes(dynamodb, table)
    sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps(given_up(dynamodb, streams, table)))
    report = events_cli.redrive(sqs, dlq_url, streams, events_cli.publisher(sink.events, BUS), dry_run=True)
    assert len(report.published) == 1
    assert sink.collect() == []
    attributes = sqs.get_queue_attributes(
        QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )
    assert attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"


def test_a_bus_that_still_refuses_keeps_the_message_and_a_range_gone_from_the_stream_is_reported(
    stream: tuple[Any, Any, str], moto: tuple[BusSink, Any, str]
) -> None:
    dynamodb, streams, table = stream
    _, sqs, dlq_url = moto
    a_customer_writes(dynamodb, table)
    named = given_up(dynamodb, streams, table)
    sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps(named))
    gone = {
        **named,
        "DDBStreamBatchInfo": {**named["DDBStreamBatchInfo"], "shardId": "shardId-00000000000000000000-gone"},
    }
    sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps(gone))

    def refusing(record: dict[str, Any]) -> int:
        raise RuntimeError("ThrottlingException")

    report = events_cli.redrive(sqs, dlq_url, streams, refusing)
    assert [b.shard_id for b in report.expired] == ["shardId-00000000000000000000-gone"]
    assert len(report.failed) == 1
    assert "ThrottlingException" in report.failed[0][1]
    assert report.published == []
    attributes = sqs.get_queue_attributes(
        QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )
    assert attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "2"  # both kept for later


def test_the_command_is_registered_and_needs_a_stack_or_the_local_stack() -> None:
    from infra.cli.__main__ import main

    with pytest.raises(SystemExit, match="--stack-name or --local"):
        main(["events", "redrive"])
