"""EventsFunction's composition: the domain events of one stream record, put on the bus.

The EventBridge client is created on first use (never at import) and kept for the process.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from carehooks.config.settings import settings
from carehooks.events import PublishError, events_of, publish
from carehooks.observability import logger, metrics


@cache
def events_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "events",
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5),
    )


def put_events(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """PutEvents with the process's client."""
    response: dict[str, Any] = events_client().put_events(Entries=entries)
    return response


def publish_record(record: Mapping[str, Any]) -> int:
    """Publish the domain events of one DynamoDB stream record; how many there were.

    Raises :class:`PublishError` (after its own retries) so the record is retried by Lambda.
    """
    try:
        events = events_of(record)
    except Exception:
        # Never skipped: the record is retried, then named in the on-failure queue (docs/events.md).
        sequence = (record.get("dynamodb") or {}).get("SequenceNumber")
        logger.exception("stream record not understood", extra={"sequence_number": sequence})
        raise
    if not events:
        return 0
    bus = settings().event_bus_name
    if not bus:
        raise PublishError(len(events), "EVENT_BUS_NAME is not set")
    try:
        publish(events, put_events, bus)
    except PublishError as exc:
        metrics.add_metric(name="EventsNotPublished", unit="Count", value=exc.failed)
        logger.warning(
            "domain events not published; the stream record is retried",
            extra={"events": [e.id for e in events], "reason": exc.reason},
        )
        raise
    metrics.add_metric(name="EventsPublished", unit="Count", value=len(events))
    logger.debug("domain events published", extra={"events": [(e.detail_type, e.id) for e in events]})
    return len(events)
