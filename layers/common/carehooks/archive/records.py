"""Archiving the inbound queue's records, and reading them back for a replay.

The processor archives each record's body as it is (the queued event's JSON, see
:mod:`carehooks.archive.objects`) before processing it: a record whose object cannot be written fails
and is retried by SQS like any other transient failure, so no stored message lacks its archived event.
One PUT per record, all of a batch's at once (threads): archiving adds no DynamoDB write and nothing to
the webhook's answer, which never waits for the processor.

A replayed record carries ``"replayed_from_archive": true`` beside the queued event's fields (the
queued-event model ignores unknown fields, so an older processor still reads it): it is not archived
again, and nothing is sent to a customer while it is processed (see ``wiring/processor.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from pydantic import ValidationError

from carehooks.archive.objects import Archive, day_prefix, days, object_key, parse_key
from carehooks.clock import to_epoch_ms
from carehooks.domain.models import Channel, QueuedEvent
from carehooks.observability import logger, metrics

REPLAY_FIELD = "replayed_from_archive"
# The kind the processor reports ignoring for a message of an erased identity from before its erasure:
# its archived copy is then deleted again.
ERASED = "erased"
WRITERS = 10  # an SQS FIFO batch holds at most 10 records


def is_replay(body: str) -> bool:
    """Whether a queue record is an archived event sent again by ``carehooks archive replay``."""
    if REPLAY_FIELD not in body:
        return False
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get(REPLAY_FIELD) is True


def archive_body(archive: Archive, body: str) -> str | None:
    """Write one record's body to the archive; its key, or None when there is nothing to archive (a
    replayed record, or a body that is not a queued event: the processor parks it). Raises when the
    write fails."""
    if is_replay(body):
        return None
    try:
        event = QueuedEvent.model_validate_json(body)
    except ValidationError:
        return None
    key = object_key(event)
    archive.put(key, body.encode())
    return key


def archive_bodies(archive: Archive, records: Sequence[tuple[str, str]]) -> set[str]:
    """Archive a batch's records (id, body) at once; the ids of those archived (or with nothing to
    archive). A record missing from the answer must not be processed before it is archived."""
    if not records:
        return set()

    def one(record: tuple[str, str]) -> str | None:
        try:
            archive_body(archive, record[1])
        except Exception:  # any failure of the write: this record is archived again, alone, or retried
            logger.warning("event not archived", extra={"record_id": record[0]}, exc_info=True)
            metrics.add_metric(name="ArchiveWriteFailures", unit="Count", value=1)
            return None
        return record[0]

    with ThreadPoolExecutor(max_workers=min(WRITERS, len(records))) as pool:
        done = {r for r in pool.map(one, records) if r is not None}
    metrics.add_metric(name="EventsArchived", unit="Count", value=len(done))
    return done


def archived_keys(
    archive: Archive, since: datetime, until: datetime, channels: Sequence[str] | None = None
) -> Iterator[str]:
    """Keys of the events received from ``since`` to ``until`` (both included), day by day, per channel."""
    low, high = to_epoch_ms(since.astimezone(UTC)), to_epoch_ms(until.astimezone(UTC))
    for channel in channels or [c.value for c in Channel]:
        for day in days(since, until):
            for key in archive.keys(day_prefix(channel, day)):
                parts = parse_key(key)
                if parts is not None and low <= parts.received_ms <= high:
                    yield key


def replay_body(archived: bytes) -> tuple[QueuedEvent, str]:
    """The queued event of an archived object, and the body that sends it again (marked replayed)."""
    data = json.loads(archived)
    event = QueuedEvent.model_validate(data)
    return event, json.dumps({**data, REPLAY_FIELD: True}, ensure_ascii=True, separators=(",", ":"))
