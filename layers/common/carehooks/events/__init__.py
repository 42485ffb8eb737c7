"""Domain events: what changed in the table, published to EventBridge after the change is committed.

The table's stream (new and old images) is the only source: :mod:`carehooks.events.derive` turns one
stream record into the domain events it means (pure), :mod:`carehooks.events.publishing` puts them on the
bus with retries. Every event's ``detail.id`` is derived from the record, so a record delivered twice
publishes the same id (consumers dedupe on it). See ``docs/events.md``.
"""

from carehooks.events.derive import events_of
from carehooks.events.model import SOURCE, DetailType, DomainEvent
from carehooks.events.publishing import PublishError, publish

__all__ = ["SOURCE", "DetailType", "DomainEvent", "PublishError", "events_of", "publish"]
