"""``carehooks events redrive``: publish the stream records EventsFunction gave up on, from its DLQ.

After its retries, Lambda names a failed stream batch on ``EventsDeadLetterQueue`` (``DDBStreamBatchInfo``:
stream, shard, first and last sequence number), not the records themselves. The stream keeps records 24
hours: within them, once the cause is fixed (EventBridge quota, bus policy), this command reads each named
range from the stream, publishes its domain events (the same ids: consumers dedupe a record published
before), and deletes the DLQ message only when every record of its range is on the bus. A range already
gone from the stream is reported and kept (``expired``): its events are then lost to the bus, and the
table still holds every change (docs/events.md, "Failures").

Where things are: ``--stack-name`` (the outputs ``EventsDeadLetterQueueUrl`` and ``EventBusName``) or
``--local`` (the running local stack); ``--dlq-url`` / ``--bus`` override.

```bash
scripts/carehooks events redrive --stack-name carehooks --dry-run
scripts/carehooks events redrive --local
```
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra.cli.dlq import local_endpoint, local_queue_name, stack_outputs

DLQ_OUTPUT = "EventsDeadLetterQueueUrl"
BUS_OUTPUT = "EventBusName"
DLQ_QUEUE = "EventsDeadLetterQueue"
VISIBILITY_SECONDS = 120
MAX_READS = 1000
EMPTY_READS = 3  # an open shard can answer empty pages before the range's end: a few, then stop


@dataclass(frozen=True)
class Batch:
    """One DLQ message: the stream range Lambda could not publish."""

    message_id: str
    receipt_handle: str
    stream_arn: str
    shard_id: str
    first: str
    last: str

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Batch:
        info = json.loads(message["Body"]).get("DDBStreamBatchInfo") or {}
        return cls(
            message_id=str(message["MessageId"]),
            receipt_handle=str(message["ReceiptHandle"]),
            stream_arn=str(info.get("streamArn", "")),
            shard_id=str(info.get("shardId", "")),
            first=str(info.get("startSequenceNumber", "")),
            last=str(info.get("endSequenceNumber", "")),
        )


@dataclass
class Report:
    published: list[tuple[Batch, int]] = field(default_factory=list)  # (batch, events put)
    expired: list[Batch] = field(default_factory=list)
    failed: list[tuple[Batch, str]] = field(default_factory=list)

    def summary(self) -> str:
        events = sum(n for _, n in self.published)
        return (
            f"{len(self.published)} batch(es) published ({events} event(s)), {len(self.expired)} expired, "
            f"{len(self.failed)} failed"
        )


def receive(sqs: Any, dlq_url: str, limit: int | None = None) -> list[Batch]:
    """The DLQ's messages (hidden while this run works on them; a crashed run's come back)."""
    batches: list[Batch] = []
    while limit is None or len(batches) < limit:
        got = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=VISIBILITY_SECONDS
        ).get("Messages", [])
        if not got:
            break
        batches.extend(Batch.from_message(m) for m in got)
    return batches[:limit] if limit is not None else batches


def stream_range(streams: Any, batch: Batch) -> list[dict[str, Any]] | None:
    """The records of ``batch``'s range in Lambda's shape; None when the stream no longer holds them."""
    from infra.local.streams import lambda_record

    try:
        iterator = streams.get_shard_iterator(
            StreamArn=batch.stream_arn,
            ShardId=batch.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=batch.first,
        ).get("ShardIterator")
    except (streams.exceptions.TrimmedDataAccessException, streams.exceptions.ResourceNotFoundException):
        return None
    records: list[dict[str, Any]] = []
    empty = 0
    for _ in range(MAX_READS):
        if iterator is None or empty >= EMPTY_READS:
            break
        got = streams.get_records(ShardIterator=iterator, Limit=1000)
        page = got.get("Records", [])
        empty = 0 if page else empty + 1
        for record in page:
            if int(record["dynamodb"]["SequenceNumber"]) > int(batch.last):
                return records
            records.append(lambda_record(record, batch.stream_arn, record.get("awsRegion", "")))
        iterator = got.get("NextShardIterator")
    return records


def redrive(
    sqs: Any,
    dlq_url: str,
    streams: Any,
    publish: Callable[[dict[str, Any]], int],
    limit: int | None = None,
    dry_run: bool = False,
) -> Report:
    """Publish each named range again; delete its DLQ message once all of it is on the bus."""
    report = Report()
    for batch in receive(sqs, dlq_url, limit):
        records = stream_range(streams, batch)
        if records is None or not records:
            report.expired.append(batch)
            continue
        if dry_run:
            report.published.append((batch, 0))
            continue
        try:
            published = sum(publish(record) for record in records)
        except Exception as exc:  # the bus still refuses: the message stays for the next run
            report.failed.append((batch, f"{type(exc).__name__}: {exc}"))
            continue
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=batch.receipt_handle)
        report.published.append((batch, published))
    return report


def resolve(args: argparse.Namespace) -> tuple[Any, Any, Any, str, str]:
    """SQS, DynamoDB Streams and EventBridge clients, the DLQ URL and the bus name the flags point at."""
    import boto3

    if args.local:
        from infra.local.aws import DUMMY_CREDENTIALS
        from infra.local.settings import load

        settings = load()
        credentials = {
            "region_name": args.region or settings.region,
            "aws_access_key_id": DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        }
        aws = local_endpoint(None)
        sqs = boto3.client("sqs", endpoint_url=aws, **credentials)  # type: ignore[call-overload]
        streams = boto3.client(  # type: ignore[call-overload]
            "dynamodbstreams", endpoint_url=local_endpoint(None, "dynamodb"), **credentials
        )
        events = boto3.client("events", endpoint_url=aws, **credentials)  # type: ignore[call-overload]
        dlq_url = args.dlq_url or sqs.get_queue_url(QueueName=local_queue_name(DLQ_QUEUE))["QueueUrl"]
        return sqs, streams, events, dlq_url, args.bus or f"{settings.stack_name}-events"
    options = {"region_name": args.region} if args.region else {}
    dlq_url, bus = args.dlq_url, args.bus
    if not (dlq_url and bus):
        if not args.stack_name:
            raise SystemExit("give --stack-name or --local (or --dlq-url and --bus)")
        found = stack_outputs(
            args.stack_name, boto3.client("cloudformation", **options), DLQ_OUTPUT, BUS_OUTPUT
        )
        dlq_url, bus = dlq_url or found[0], bus or found[1]
    return (
        boto3.client("sqs", **options),
        boto3.client("dynamodbstreams", **options),
        boto3.client("events", **options),
        dlq_url,
        bus,
    )


def publisher(events_client: Any, bus: str) -> Callable[[dict[str, Any]], int]:
    """Publish one stream record's domain events (the function's own derivation and retries)."""
    from carehooks.events import events_of, publish

    def put(entries: list[dict[str, Any]]) -> dict[str, Any]:
        response: dict[str, Any] = events_client.put_events(Entries=entries)
        return response

    def publish_record(record: dict[str, Any]) -> int:
        found = events_of(record)
        if found:
            publish(found, put, bus)
        return len(found)

    return publish_record


def redrive_command(args: argparse.Namespace) -> int:
    sqs, streams, events_client, dlq_url, bus = resolve(args)
    report = redrive(sqs, dlq_url, streams, publisher(events_client, bus), args.max, args.dry_run)
    verb = "would publish" if args.dry_run else "published"
    for batch, count in report.published:
        print(
            f"{verb} shard {batch.shard_id} {batch.first}..{batch.last}"
            + ("" if args.dry_run else f": {count} event(s)")
        )
    for batch in report.expired:
        print(
            f"EXPIRED shard {batch.shard_id} {batch.first}..{batch.last}: no longer in the stream",
            file=sys.stderr,
        )
    for batch, error in report.failed:
        print(f"FAILED shard {batch.shard_id} {batch.first}..{batch.last}: {error}", file=sys.stderr)
    print(f"{dlq_url} -> {bus}: {report.summary()}")
    return 1 if report.failed or report.expired else 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("events", help="domain events: publish what EventsFunction gave up on")
    commands = parser.add_subparsers(dest="events_command", required=True)
    again = commands.add_parser("redrive", help="publish the stream ranges named in EventsDeadLetterQueue")
    again.add_argument("--stack-name", help="read the DLQ URL and the bus from this stack's outputs")
    again.add_argument("--local", action="store_true", help="the running local stack (make run)")
    again.add_argument("--dlq-url", help="EventsDeadLetterQueue's URL (default: from the stack)")
    again.add_argument("--bus", help="the event bus name (default: from the stack)")
    again.add_argument("--region", help="AWS region (default: the environment's)")
    again.add_argument("--max", type=int, default=None, help="at most N batches")
    again.add_argument("--dry-run", action="store_true", help="list what would be published; change nothing")
    again.set_defaults(func=redrive_command)
