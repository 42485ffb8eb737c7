"""InboundProcessorFunction: SQS FIFO batches → stored conversations, with partial batch failures.

Consecutive records of one conversation (a viral comment thread, a customer typing fast) are first
stored together, with one conversation write (``handle_runs``). Every other record is processed one by
one. A record that fails is reported alone; later records of the same customer (same message group) are
skipped for this round so their order holds, and every other customer's records go on. A record that
can never succeed (malformed) is parked in the DLQ with its reason at once and counts as handled.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from carehooks.inbound.parking import Record
from carehooks.observability import logger, metrics
from carehooks.wiring.processor import handle_record, handle_runs

_processor = SqsFifoPartialProcessor(skip_group_on_error=True)
_handled: set[str] = set()  # records of this batch already stored as part of a run


def _record(record: SQSRecord) -> Record:
    attributes = record.attributes
    return Record(
        record.message_id, record.body, attributes.message_group_id, attributes.message_deduplication_id
    )


def _record_handler(record: SQSRecord) -> None:
    if record.message_id not in _handled:
        handle_record(_record(record))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _handled.clear()
    _handled.update(handle_runs([_record(SQSRecord(r)) for r in event.get("Records", [])]))
    return process_partial_response(
        event=event, record_handler=_record_handler, processor=_processor, context=context
    )
