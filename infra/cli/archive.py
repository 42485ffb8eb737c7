"""``carehooks archive list|replay``: see the raw inbound archive, and send archived events through the
normal queue again (after an adapter fix, or to rebuild a table lost in an incident).

Which archive and queue: ``--local`` (the running local stack: ``.local/archive/`` and its inbound queue
in moto), or ``--stack-name`` (the stack's outputs ``ArchiveBucketName`` and ``InboundQueueUrl``), or
``--bucket`` / ``--queue-url`` given directly.

A replayed record is the archived queued event, marked ``replayed_from_archive``: the processor stores it
at its original receipt time and sends nothing (no acknowledgement, no private reply), so a rebuilt
table never messages a customer twice; a message already stored is skipped by its marker (the message
item keyed by its platform id). Each customer's events go to their FIFO group in receipt order, with the
deduplication id the webhook gave them (SQS drops one it saw in the last five minutes: harmless).

```bash
carehooks archive list --local --since 1d
carehooks archive replay --local --since 1d
carehooks archive replay --stack-name carehooks --since 2026-03-01 --until 2026-03-02T12:00:00Z --channel messenger
```
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infra.cli.dlq import SOURCE_QUEUE, local_endpoint, local_queue_name, stack_outputs

BUCKET_OUTPUT = "ArchiveBucketName"
QUEUE_OUTPUT = "InboundQueueUrl"
SQS_BATCH = 10
_DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(value: str, now: datetime) -> datetime:
    """``1d``, ``12h``, ``30m``, ``2w`` (that long before ``now``), or an ISO 8601 date or time (UTC
    when it names no zone)."""
    match = _DURATION.match(value.strip())
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a duration (1d, 12h) or an ISO 8601 time: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def local_archive_dir() -> Path:
    from infra.local.settings import load

    return load().data_dir / "archive"


def open_archive(args: argparse.Namespace, cfn_factory: Any = None) -> Any:
    """The archive the flags point at."""
    from carehooks.archive.objects import LocalArchive, S3Archive

    if args.local:
        return LocalArchive(local_archive_dir())
    bucket = args.bucket
    if not bucket:
        if not args.stack_name:
            raise SystemExit("give --local, or --stack-name, or --bucket")
        import boto3

        (bucket,) = stack_outputs(
            args.stack_name, (cfn_factory or boto3.client)("cloudformation"), BUCKET_OUTPUT
        )
    return S3Archive(bucket)


def open_queue(args: argparse.Namespace, sqs_factory: Any = None, cfn_factory: Any = None) -> tuple[Any, str]:
    """An SQS client and the inbound queue's URL the flags point at."""
    import boto3

    sqs_factory = sqs_factory or boto3.client
    if args.local:
        from infra.local.aws import DUMMY_CREDENTIALS
        from infra.local.settings import load

        sqs = sqs_factory(
            "sqs",
            endpoint_url=local_endpoint(getattr(args, "endpoint_url", None)),
            region_name=load().region,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        return sqs, args.queue_url or sqs.get_queue_url(QueueName=local_queue_name(SOURCE_QUEUE))["QueueUrl"]
    queue_url = args.queue_url
    if not queue_url:
        if not args.stack_name:
            raise SystemExit("give --local, or --stack-name, or --queue-url")
        (queue_url,) = stack_outputs(
            args.stack_name, (cfn_factory or boto3.client)("cloudformation"), QUEUE_OUTPUT
        )
    return sqs_factory("sqs"), queue_url


def selected(args: argparse.Namespace, archive: Any, now: datetime) -> list[str]:
    from carehooks.archive.records import archived_keys

    since = parse_time(args.since, now)
    until = parse_time(args.until, now) if args.until else now
    if until < since:
        raise SystemExit("--until is before --since")
    return list(archived_keys(archive, since, until, args.channel or None))


def list_command(args: argparse.Namespace, archive: Any = None, now: datetime | None = None) -> int:
    from carehooks.archive.objects import parse_key

    archive = archive or open_archive(args)
    keys = selected(args, archive, now or datetime.now(UTC))
    rows = []
    for key in keys:
        parts = parse_key(key)
        assert parts is not None
        received = datetime.fromtimestamp(parts.received_ms / 1000, UTC).isoformat().replace("+00:00", "Z")
        rows.append(
            {"key": key, "channel": parts.channel, "account_id": parts.account_id, "received_at": received}
        )
    if args.json:
        print(json.dumps({"items": rows}, indent=2))
        return 0
    for row in rows:
        print(f"{row['received_at']}  {row['channel']:<16} {row['key']}")
    print(f"{len(rows)} archived event(s)", file=sys.stderr)
    return 0


def replay(archive: Any, keys: list[str], sqs: Any, queue_url: str, dry_run: bool = False) -> tuple[int, int]:
    """Send the archived events of ``keys`` to the queue (in order); (sent, failed)."""
    from carehooks.archive.records import replay_body
    from carehooks.ingress.queue import deduplication_id, message_group_id

    sent = failed = 0
    entries: list[dict[str, str]] = []

    def flush() -> None:
        nonlocal sent, failed
        if not entries:
            return
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        failed += len(response.get("Failed", []))
        sent += len(response.get("Successful", []))
        entries.clear()

    for key in keys:
        event, body = replay_body(archive.get(key))
        if dry_run:
            sent += 1
            continue
        entries.append(
            {
                "Id": str(len(entries)),
                "MessageBody": body,
                "MessageGroupId": message_group_id(event),
                "MessageDeduplicationId": deduplication_id(event),
            }
        )
        if len(entries) == SQS_BATCH:
            flush()
    flush()
    return sent, failed


def replay_command(
    args: argparse.Namespace,
    archive: Any = None,
    sqs: Any = None,
    queue_url: str | None = None,
    now: datetime | None = None,
) -> int:
    archive = archive or open_archive(args)
    keys = selected(args, archive, now or datetime.now(UTC))
    if sqs is None or queue_url is None:
        sqs, queue_url = open_queue(args)
    sent, failed = replay(archive, keys, sqs, queue_url, dry_run=args.dry_run)
    verb = "would send" if args.dry_run else "sent"
    print(f"{verb} {sent} archived event(s) to {queue_url}; {failed} failed")
    return 1 if failed else 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", required=True, help="1d, 12h, 30m, 2w, or an ISO 8601 date or time")
    parser.add_argument("--until", help="as --since (default: now)")
    parser.add_argument("--channel", action="append", help="only this channel (repeatable)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true", help="the running local stack (make run)")
    where.add_argument(
        "--stack-name", help="a deployed stack (its ArchiveBucketName and InboundQueueUrl outputs)"
    )
    parser.add_argument("--bucket", help="the archive bucket (instead of a stack's output)")
    parser.add_argument(
        "--endpoint-url", help="the local stack's moto endpoint (default: .local/endpoints.json)"
    )


def register(subparsers: Any) -> None:
    archive = subparsers.add_parser("archive", help="the raw inbound archive: list it, replay it")
    commands = archive.add_subparsers(dest="archive_command", required=True)
    listing = commands.add_parser("list", help="archived events received in a time range")
    _common(listing)
    listing.add_argument("--json", action="store_true", help='print {"items": [...]}')
    listing.set_defaults(func=list_command)
    again = commands.add_parser("replay", help="send archived events through the inbound queue again")
    _common(again)
    again.add_argument("--queue-url", help="the inbound queue (instead of a stack's output)")
    again.add_argument("--dry-run", action="store_true", help="count what would be sent; send nothing")
    again.set_defaults(func=replay_command)
