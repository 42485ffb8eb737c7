"""InboundProcessorFunction's composition: each SQS record processed, or parked when malformed.

Kept light: the processor's collaborators (the store, its derivations, the configuration, the rules)
are composed on the first record (:mod:`carehooks.wiring.inbound`), so the function's init imports only
what reading a record needs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from carehooks.archive.objects import archive_from_env, object_key
from carehooks.archive.records import ERASED, archive_bodies, archive_body, is_replay
from carehooks.config.settings import settings
from carehooks.domain.models import QueuedEvent
from carehooks.inbound.parking import DeadLetterQueue, Record, process_or_park
from carehooks.ingress.queue import sqs_client
from carehooks.observability import logger


def _process(body: str) -> object:
    # Cold start: the store, its derivers, the configuration loader and the rules engine load on the
    # first record, not in the function's init.
    from carehooks.wiring import inbound, store

    replayed = is_replay(body)
    result = inbound.process(body, store.get_store(), replayed=replayed)
    archive = archive_from_env()
    if archive is not None and not replayed and ERASED in result.ignored:
        # A redelivered webhook of an erased identity: its archived copy goes too (issue 18).
        with contextlib.suppress(ValueError):
            archive.delete([object_key(QueuedEvent.model_validate_json(body))])
    return result


def handle_record(record: Record) -> None:
    """One SQS record of the inbound queue: archived (when the batch's archiving missed it), then
    processed, or parked in the DLQ when it is malformed."""
    if record.message_id in _unarchived:
        archive = archive_from_env()
        if archive is not None:
            archive_body(archive, record.body)  # raises: the record is retried, never processed unarchived
        _unarchived.discard(record.message_id)
    process_or_park(record, _process, DeadLetterQueue(settings().inbound_dlq_url, sqs_client))


# Records of the current batch the archiving step could not write: each is archived alone before it is
# processed (handle_record), so that no message is stored without its archived event.
_unarchived: set[str] = set()


def archive_batch(records: Sequence[Record]) -> set[str]:
    """Archive a batch's records at once (issue 18: carehooks.archive); the ids of those that may be
    processed now. Never raises: a record not archived is tried again alone by :func:`handle_record`."""
    _unarchived.clear()
    archive = archive_from_env()
    if archive is None:
        return {r.message_id for r in records}
    _unarchived.update(r.message_id for r in records)  # until written: a failure here leaves them to
    done = archive_bodies(archive, [(r.message_id, r.body) for r in records])  # handle_record
    _unarchived.difference_update(done)
    return done


def handle_runs(records: Sequence[Record]) -> set[str]:
    """Before the records are processed one by one: store runs of one conversation's messages with one
    conversation write each (``inbound.process_runs``). Best effort, never raises: the ids of the records
    it handled; every other record is processed one by one."""
    from carehooks.wiring import inbound, store

    try:
        return inbound.process_batch(_runnable(records, archive_batch(records)), store.get_store())
    except Exception:
        logger.warning("runs not stored as one; every record is processed one by one", exc_info=True)
        return set()


def _runnable(records: Sequence[Record], archived: set[str]) -> list[tuple[str, str]]:
    """(id, body) of the batch for the runs: a record not archived yet, or replayed (its sends are
    refused: see ``inbound.process``), and every later record of its FIFO group are left to the
    one-by-one processing (an empty body stands in their place, so no run spans or passes them): a group's
    messages are stored in order, and none after one that waits for its archiving."""
    held: set[str | None] = set()
    out: list[tuple[str, str]] = []
    for record in records:
        if record.message_id not in archived or is_replay(record.body):
            held.add(record.group_id)
        out.append((record.message_id, "" if record.group_id in held else record.body))
    return out
