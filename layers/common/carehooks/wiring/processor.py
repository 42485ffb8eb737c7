"""InboundProcessorFunction's composition: each SQS record processed, or parked when malformed.

Kept light: the processor's collaborators (the store, its derivations, the configuration, the rules)
are composed on the first record (:mod:`carehooks.wiring.inbound`), so the function's init imports only
what reading a record needs.
"""

from __future__ import annotations

from collections.abc import Sequence

from carehooks.config.settings import settings
from carehooks.inbound.parking import DeadLetterQueue, Record, process_or_park
from carehooks.ingress.queue import sqs_client
from carehooks.observability import logger


def _process(body: str) -> object:
    # Cold start: the store, its derivers, the configuration loader and the rules engine load on the
    # first record, not in the function's init.
    from carehooks.wiring import inbound, store

    return inbound.process(body, store.get_store())


def handle_record(record: Record) -> None:
    """One SQS record of the inbound queue: processed, or parked in the DLQ when it is malformed."""
    process_or_park(record, _process, DeadLetterQueue(settings().inbound_dlq_url, sqs_client))


def handle_runs(records: Sequence[Record]) -> set[str]:
    """Before the records are processed one by one: store runs of one conversation's messages with one
    conversation write each (``inbound.process_runs``). Best effort, never raises: the ids of the records
    it handled; every other record is processed one by one."""
    from carehooks.wiring import inbound, store

    try:
        return inbound.process_batch([(r.message_id, r.body) for r in records], store.get_store())
    except Exception:
        logger.warning("runs not stored as one; every record is processed one by one", exc_info=True)
        return set()
