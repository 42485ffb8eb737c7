"""``carehooks dlq list|redrive``: see what the inbound dead-letter queue holds, and replay it after a fix.

A record is parked in the DLQ after ``maxReceiveCount`` failed receives (or directly, with the reason in
its ``ErrorCode`` / ``ErrorMessage`` message attributes). Once the cause is fixed, ``redrive`` sends each
parked record back to the inbound FIFO queue and deletes it from the DLQ only after the send succeeded:

- the same ``MessageGroupId``, so a customer's records stay in order behind each other;
- a **new** deduplication id, ``sha256(<original dedup id>#<DLQ message id>)``: the original one would be
  silently dropped by SQS inside its five-minute window; the new one is deterministic, so a record sent
  twice (a crash between the send and the delete, a re-run) is one record to SQS inside the window and,
  after it, a duplicate the store's message marker (the platform id) refuses. Replaying never stores a
  message twice.

Where the queues are: ``--queue-url`` / ``--dlq-url``; else ``--stack-name`` (the stack's outputs
``InboundQueueUrl`` / ``InboundDeadLetterQueueUrl``); else ``--local``: the running local stack (its
moto endpoint from ``--endpoint-url``, ``AWS_ENDPOINT_URL`` or ``.local/endpoints.json``, which the stack
writes at start).

```bash
scripts/carehooks dlq list --stack-name carehooks
scripts/carehooks dlq redrive --stack-name carehooks --dry-run
scripts/carehooks dlq redrive --local --max 10
```
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SOURCE_OUTPUT = "InboundQueueUrl"
DLQ_OUTPUT = "InboundDeadLetterQueueUrl"
SOURCE_QUEUE = "InboundQueue"
DLQ_QUEUE = "InboundDeadLetterQueue"
# Attributes that describe why a record was parked: not forwarded with the replayed record.
REASON_ATTRIBUTES = ("ErrorCode", "ErrorMessage")
# Long enough to send and delete a batch; a crashed run's records come back after it.
VISIBILITY_SECONDS = 60
RECEIVE_BATCH = 10


@dataclass(frozen=True)
class Parked:
    """One record in the DLQ, as received (the receipt handle is valid until its visibility ends)."""

    message_id: str
    receipt_handle: str
    body: str
    group_id: str | None
    deduplication_id: str | None
    receive_count: int
    sent_at: datetime | None
    error_code: str | None
    error_message: str | None
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Parked:
        system = message.get("Attributes", {})
        user = message.get("MessageAttributes", {}) or {}
        sent = system.get("SentTimestamp")
        return cls(
            message_id=message["MessageId"],
            receipt_handle=message["ReceiptHandle"],
            body=message["Body"],
            group_id=system.get("MessageGroupId"),
            deduplication_id=system.get("MessageDeduplicationId"),
            receive_count=int(system.get("ApproximateReceiveCount", 0)),
            sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
            error_code=_string(user.get("ErrorCode")),
            error_message=_string(user.get("ErrorMessage")),
            attributes={k: v for k, v in user.items() if k not in REASON_ATTRIBUTES},
        )

    @property
    def reason(self) -> str:
        parts = [p for p in (self.error_code, self.error_message) if p]
        return ": ".join(parts) if parts else "-"


def _string(attribute: Any) -> str | None:
    if isinstance(attribute, dict) and attribute.get("DataType", "String").startswith("String"):
        value = attribute.get("StringValue")
        return str(value) if value is not None else None
    return None


def replay_deduplication_id(record: Parked) -> str:
    """The replay's deduplication id: new to SQS, and the same every time this record is replayed."""
    original = record.deduplication_id or hashlib.sha256(record.body.encode()).hexdigest()
    return hashlib.sha256(f"{original}#{record.message_id}".encode()).hexdigest()


@dataclass
class RedriveReport:
    """What a redrive did (or, dry, would do)."""

    dry_run: bool
    replayed: list[Parked] = field(default_factory=list)
    failed: list[tuple[Parked, str]] = field(default_factory=list)
    # Sent, but the delete from the DLQ failed: it will be replayed again (harmless, see the module).
    not_deleted: list[tuple[Parked, str]] = field(default_factory=list)
    # Not attempted: an earlier record of its group failed, so it waits to keep the group's order.
    held: list[Parked] = field(default_factory=list)

    def summary(self) -> str:
        if self.dry_run:
            return f"dry run: would replay {len(self.replayed)} record(s); nothing sent or deleted"
        return (
            f"replayed {len(self.replayed)}, failed {len(self.failed)}, held back {len(self.held)}, "
            f"sent but not deleted {len(self.not_deleted)}"
        )


def receive_parked(
    sqs: Any, dlq_url: str, limit: int | None = None, visibility: int = VISIBILITY_SECONDS
) -> Iterator[Parked]:
    """Every record of the DLQ once (at most ``limit``), each received and hidden for ``visibility`` s.

    A FIFO queue hands out a group's next records only after the ones in flight are deleted or visible
    again, so a caller that deletes as it goes (redrive) sees every record; one that only looks (list)
    sees up to ten per group.
    """
    seen: set[str] = set()
    count = 0
    while limit is None or count < limit:
        want = RECEIVE_BATCH if limit is None else min(RECEIVE_BATCH, limit - count)
        messages = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=want,
            VisibilityTimeout=visibility,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            return
        for message in fresh:
            seen.add(message["MessageId"])
            count += 1
            yield Parked.from_message(message)
            if limit is not None and count >= limit:
                return


def release(sqs: Any, dlq_url: str, records: list[Parked]) -> None:
    """Make records visible again at once (after only looking at them)."""
    for record in records:
        try:
            sqs.change_message_visibility(
                QueueUrl=dlq_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=0
            )
        except Exception as exc:  # best effort: they come back after their timeout anyway
            print(f"warning: {record.message_id} stays hidden until its timeout: {exc}", file=sys.stderr)


def list_parked(sqs: Any, dlq_url: str, limit: int | None = None) -> list[Parked]:
    """What the DLQ holds, without changing it."""
    records = list(receive_parked(sqs, dlq_url, limit))
    release(sqs, dlq_url, records)
    return records


def redrive(
    sqs: Any,
    dlq_url: str,
    queue_url: str,
    limit: int | None = None,
    dry_run: bool = False,
    visibility: int = VISIBILITY_SECONDS,
) -> RedriveReport:
    """Send parked records back to ``queue_url``, each deleted from the DLQ only after its send.

    A record whose send fails stays in the DLQ, and so do the later records of its group (held back, so
    the group's order holds when it is redriven again). Other groups go on.
    """
    report = RedriveReport(dry_run=dry_run)
    if dry_run:
        report.replayed = list_parked(sqs, dlq_url, limit)
        return report
    blocked: set[str | None] = set()
    for record in receive_parked(sqs, dlq_url, limit, visibility):
        if record.group_id in blocked:
            report.held.append(record)
            continue
        send: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": record.body}
        if record.group_id is not None:
            send["MessageGroupId"] = record.group_id
            send["MessageDeduplicationId"] = replay_deduplication_id(record)
        if record.attributes:
            send["MessageAttributes"] = record.attributes
        try:
            sqs.send_message(**send)
        except Exception as exc:  # any failure leaves the record parked; reported
            report.failed.append((record, f"{type(exc).__name__}: {exc}"))
            blocked.add(record.group_id)
            continue
        try:
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=record.receipt_handle)
        except Exception as exc:  # sent: a later run replays it again, the dedupe holds
            report.not_deleted.append((record, f"{type(exc).__name__}: {exc}"))
            continue
        report.replayed.append(record)
    release(sqs, dlq_url, report.held + [r for r, _ in report.failed])
    return report


# ------------------------------------------------------------------------------- where the queues are
@dataclass(frozen=True)
class Queues:
    queue_url: str
    dlq_url: str
    endpoint_url: str | None = None
    region: str | None = None


def stack_outputs(stack_name: str, cloudformation: Any, *names: str) -> list[str]:
    """The values of ``names`` among a deployed stack's outputs (exits naming any that is missing)."""
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    missing = [name for name in names if name not in outputs]
    if missing:
        raise SystemExit(f"stack {stack_name} has no output {', '.join(missing)}")
    return [outputs[name] for name in names]


def stack_queues(stack_name: str, cloudformation: Any) -> tuple[str, str]:
    """The inbound queue and DLQ URLs from a deployed stack's outputs."""
    queue_url, dlq_url = stack_outputs(stack_name, cloudformation, SOURCE_OUTPUT, DLQ_OUTPUT)
    return queue_url, dlq_url


def local_endpoint(explicit: str | None, service: str = "aws") -> str:
    """The local stack's moto endpoint (``service="dynamodb"``: its DynamoDB Local): the flag,
    ``AWS_ENDPOINT_URL``, then ``.local/endpoints.json``."""
    if explicit:
        return explicit
    if os.environ.get("AWS_ENDPOINT_URL"):
        return os.environ["AWS_ENDPOINT_URL"]
    from infra.local.settings import load

    path = load().data_dir / "endpoints.json"
    try:
        return str(json.loads(path.read_text(encoding="utf-8"))[service])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(
            f"cannot find the local stack's AWS endpoint ({path}: {exc}); is `make run` running? "
            "Or pass --endpoint-url (the banner's 'queues ... in moto at' URL)"
        ) from exc


def local_queue_name(logical_id: str) -> str:
    """A queue's name in the local stack (as ``infra.local.aws.plan_attributes`` names it)."""
    from infra.local.settings import load
    from infra.template import resources

    props = resources()[logical_id].get("Properties") or {}
    name = str(props.get("QueueName") or f"{load().stack_name}-{logical_id}")
    if str(props.get("FifoQueue")).lower() == "true" and not name.endswith(".fifo"):
        name += ".fifo"
    return name


def resolve(args: argparse.Namespace, sqs_factory: Any = None, cfn_factory: Any = None) -> tuple[Any, Queues]:
    """An SQS client and the two queue URLs the flags point at."""
    import boto3

    sqs_factory = sqs_factory or boto3.client
    cfn_factory = cfn_factory or boto3.client
    endpoint: str | None = getattr(args, "endpoint_url", None)
    region: str | None = getattr(args, "region", None)
    if args.local:
        from infra.local.aws import DUMMY_CREDENTIALS
        from infra.local.settings import load

        endpoint = local_endpoint(endpoint)
        region = region or load().region
        sqs = sqs_factory(
            "sqs",
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        queue_url = args.queue_url or sqs.get_queue_url(QueueName=local_queue_name(SOURCE_QUEUE))["QueueUrl"]
        dlq_url = args.dlq_url or sqs.get_queue_url(QueueName=local_queue_name(DLQ_QUEUE))["QueueUrl"]
        return sqs, Queues(queue_url, dlq_url, endpoint, region)
    options = {k: v for k, v in (("endpoint_url", endpoint), ("region_name", region)) if v}
    queue_url, dlq_url = args.queue_url, args.dlq_url
    if not (queue_url and dlq_url):
        if not args.stack_name:
            raise SystemExit("give --queue-url and --dlq-url, or --stack-name, or --local")
        from_stack = stack_queues(args.stack_name, cfn_factory("cloudformation", **options))
        queue_url, dlq_url = queue_url or from_stack[0], dlq_url or from_stack[1]
    return sqs_factory("sqs", **options), Queues(queue_url, dlq_url, endpoint, region)


# ------------------------------------------------------------------------------------------ commands
def _row(record: Parked) -> dict[str, Any]:
    return {
        "message_id": record.message_id,
        "group_id": record.group_id,
        "receive_count": record.receive_count,
        "sent_at": record.sent_at.isoformat() if record.sent_at else None,
        "error_code": record.error_code,
        "error_message": record.error_message,
    }


def list_command(args: argparse.Namespace, sqs: Any = None, queues: Queues | None = None) -> int:
    if sqs is None or queues is None:
        sqs, queues = resolve(args)
    records = list_parked(sqs, queues.dlq_url, args.max)
    if args.json:
        print(json.dumps({"items": [_row(r) for r in records]}, indent=2))
        return 0
    if not records:
        print(f"{queues.dlq_url}: empty")
        return 0
    print(f"{queues.dlq_url}: {len(records)} record(s)")
    print(f"{'message id':<38} {'receives':>8}  {'group':<48} reason")
    for record in records:
        print(
            f"{record.message_id:<38} {record.receive_count:>8}  {record.group_id or '-':<48} {record.reason}"
        )
    return 0


def redrive_command(args: argparse.Namespace, sqs: Any = None, queues: Queues | None = None) -> int:
    if sqs is None or queues is None:
        sqs, queues = resolve(args)
    report = redrive(sqs, queues.dlq_url, queues.queue_url, args.max, args.dry_run)
    verb = "would replay" if args.dry_run else "replayed"
    for record in report.replayed:
        print(f"{verb} {record.message_id} (group {record.group_id or '-'}, reason {record.reason})")
    for record, error in report.failed:
        print(f"FAILED {record.message_id} (group {record.group_id or '-'}): {error}", file=sys.stderr)
    for record in report.held:
        print(
            f"held {record.message_id}: an earlier record of group {record.group_id} failed", file=sys.stderr
        )
    for record, error in report.not_deleted:
        print(
            f"sent but not deleted {record.message_id}: {error} (a re-run replays it; the dedupe holds)",
            file=sys.stderr,
        )
    print(f"{queues.dlq_url} -> {queues.queue_url}: {report.summary()}")
    return 1 if report.failed or report.not_deleted else 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue-url", help="the inbound FIFO queue (default: from the stack)")
    parser.add_argument("--dlq-url", help="the inbound dead-letter queue (default: from the stack)")
    parser.add_argument("--stack-name", help="read both URLs from this CloudFormation stack's outputs")
    parser.add_argument("--local", action="store_true", help="the running local stack (make run)")
    parser.add_argument("--endpoint-url", help="an SQS endpoint (the local stack's moto, a test server)")
    parser.add_argument("--region", help="AWS region (default: the environment's)")
    parser.add_argument("--max", type=int, default=None, help="at most N records")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("dlq", help="list or redrive the inbound dead-letter queue")
    commands = parser.add_subparsers(dest="dlq_command", required=True)
    show = commands.add_parser("list", help="each parked record: id, group, receives, parking reason")
    _common(show)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=list_command)
    again = commands.add_parser("redrive", help="replay parked records to the inbound queue, idempotently")
    _common(again)
    again.add_argument("--dry-run", action="store_true", help="list what would be replayed; change nothing")
    again.set_defaults(func=redrive_command)
