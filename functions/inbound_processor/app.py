"""InboundProcessorFunction: SQS FIFO batches → stored conversations, with partial batch failures.

A record that fails is reported alone; later records of the same customer (same message group) are
skipped for this round so their order holds, and every other customer's records go on. A record that
can never succeed (malformed) is parked in the DLQ with its reason at once and counts as handled.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from carehooks.inbound.parking import Record
from carehooks.observability import logger, metrics
from carehooks.wiring.processor import handle_record

_processor = SqsFifoPartialProcessor(skip_group_on_error=True)


def _record_handler(record: SQSRecord) -> None:
    attributes = record.attributes
    handle_record(
        Record(
            record.message_id, record.body, attributes.message_group_id, attributes.message_deduplication_id
        )
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=_record_handler, processor=_processor, context=context
    )
