"""EventsFunction: the table's stream → domain events on the EventBridge bus, with partial batch failures.

A record whose events cannot be published fails alone; Lambda retries the batch from it (bisecting), and
after its retries names the batch in the on-failure queue. Published at least once: see docs/events.md.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from carehooks.observability import logger, metrics
from carehooks.wiring.events import publish_record

_processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def _record_handler(record: DynamoDBRecord) -> None:
    publish_record(record.raw_event)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=_record_handler, processor=_processor, context=context
    )
