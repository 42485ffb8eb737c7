"""Domain events in tests: stream records shaped like Lambda's, and validation against docs/events/."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import TypeSerializer
from jsonschema import Draft202012Validator, FormatChecker

from carehooks.events import DetailType, DomainEvent

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "docs" / "events"
STREAM_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/carehooks-test/stream/2026-12-01T00:00:00.000"

_serializer = TypeSerializer()


def dynamodb_json(item: dict[str, Any]) -> dict[str, Any]:
    """A plain item (as ``store.items`` builds it) in DynamoDB's JSON, as a stream image holds it."""
    out: dict[str, Any] = {}
    for name, value in item.items():
        typed = _serializer.serialize(value)
        if "B" in typed:
            typed = {"B": bytes(typed["B"])}
        out[name] = typed
    return out


def stream_record(
    event_name: str,
    new: dict[str, Any] | None,
    old: dict[str, Any] | None = None,
    sequence: str = "100000000000000000001",
    at: float = 1_764_936_000.0,
) -> dict[str, Any]:
    """A DynamoDB stream record as Lambda hands it to the function (``NEW_AND_OLD_IMAGES``)."""
    any_image = new or old or {}
    stream: dict[str, Any] = {
        "ApproximateCreationDateTime": at,
        "Keys": {"pk": {"S": str(any_image.get("pk", ""))}, "sk": {"S": str(any_image.get("sk", ""))}},
        "SequenceNumber": sequence,
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        stream["NewImage"] = dynamodb_json(new)
    if old is not None:
        stream["OldImage"] = dynamodb_json(old)
    return {
        "eventID": f"evt-{sequence}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": stream,
        "eventSourceARN": STREAM_ARN,
    }


@cache
def schema(detail_type: str) -> Draft202012Validator:
    document = json.loads((SCHEMAS / f"{detail_type}.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document, format_checker=FormatChecker())


def schema_errors(detail_type: str, detail: dict[str, Any]) -> list[str]:
    """Why ``detail`` does not validate against its detail-type's schema (empty: it does)."""
    return [
        f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}"
        for e in schema(detail_type).iter_errors(detail)
    ]


def assert_valid(event: DomainEvent | dict[str, Any]) -> None:
    """An event (ours, or an EventBridge envelope) validates against the schema of its detail-type."""
    if isinstance(event, DomainEvent):
        detail_type, detail = str(event.detail_type), event.detail
    else:
        detail_type, detail = str(event["detail-type"]), event["detail"]
    assert detail_type in {str(t) for t in DetailType}, detail_type
    assert schema_errors(detail_type, detail) == [], (detail_type, detail)


# -- the stream and the bus, in tests ----------------------------------------------------------------------
@dataclass
class Invocation:
    ok: bool
    result: Any = None
    error_text: str = ""


@dataclass
class InProcessRuntime:
    """Stands in for the local stack's runtime: EventsFunction's handler called in this process."""

    invocations: int = 0
    failed_records: int = 0

    def invoke(self, function: str, event: Any, source: str, timeout: float | None = None) -> Invocation:
        from tests.helpers import FakeContext, load_handler

        self.invocations += 1
        try:
            result = load_handler("events").handler(event, FakeContext())
        except Exception as exc:  # every record failed: Lambda retries the batch
            self.failed_records += len(event["Records"])
            return Invocation(ok=False, error_text=f"{type(exc).__name__}: {exc}")
        self.failed_records += len(result.get("batchItemFailures", []))
        return Invocation(ok=True, result=result)


def streams_client(dynamodb: Any) -> Any:
    """A Streams API client with ``dynamodb``'s endpoint, region and credentials (DynamoDB Local keeps a
    database per access key and region)."""
    credentials = dynamodb._request_signer._credentials
    return boto3.client(
        "dynamodbstreams",
        endpoint_url=dynamodb.meta.endpoint_url,
        region_name=dynamodb.meta.region_name,
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
    )


def stream_poller(dynamodb: Any, table: str, runtime: Any, checkpoints: Path, max_retries: int = 10) -> Any:
    """The local stack's poller (infra.local.streams) on ``table``'s stream, invoking ``runtime``."""
    from infra.local.model import StreamSource
    from infra.local.streams import Checkpoints, StreamPoller

    streams = streams_client(dynamodb)
    source = StreamSource(
        function="EventsFunction",
        event="TableStream",
        table="Table",
        report_failures=True,
        max_retries=max_retries,
    )
    given_up: list[dict[str, Any]] = []
    poller = StreamPoller(
        source,
        table,
        dynamodb,
        streams,
        runtime,
        Checkpoints(checkpoints),
        "eu-west-1",
        print,
        given_up.append,
    )
    poller.given_up = given_up
    return poller


def drain(poller: Any, rounds: int = 500) -> None:
    """Poll every shard until a pass finds nothing new."""
    for _ in range(rounds):
        if not poller.poll_once():
            return
    raise AssertionError("the stream never drained")


@dataclass
class BusSink:
    """A bus in moto with a rule sending every event to a queue: what the bus received."""

    events: Any
    sqs: Any
    bus: str
    queue_url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def create(cls, bus: str) -> BusSink:
        sink = cls(boto3.client("events"), boto3.client("sqs"), bus)
        sink.events.create_event_bus(Name=bus)
        sink.queue_url = sink.sqs.create_queue(QueueName=f"{bus}-sink")["QueueUrl"]
        arn = sink.sqs.get_queue_attributes(QueueUrl=sink.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sink.events.put_rule(
            Name="sink", EventBusName=bus, EventPattern=json.dumps({"source": ["carehooks"]})
        )
        sink.events.put_targets(Rule="sink", EventBusName=bus, Targets=[{"Id": "sink", "Arn": arn}])
        return sink

    def collect(self) -> list[dict[str, Any]]:
        """Everything the bus received so far (kept across calls), oldest first."""
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not got:
                return self.received
            for message in got:
                self.received.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
