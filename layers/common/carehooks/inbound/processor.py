"""Process one queued event: parse (pure adapter), store idempotently, then run the after-store steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from carehooks import clock
from carehooks.channels.registry import parser_for
from carehooks.config.settings import settings
from carehooks.domain.models import IgnoredEvent, MessageEvent, QueuedEvent, StatusEvent
from carehooks.inbound import hooks
from carehooks.inbound.context import InboundContext
from carehooks.observability import logger, metrics
from carehooks.store import Store
from carehooks.surveys.capture import answers_survey


@dataclass
class ProcessResult:
    stored: int = 0
    duplicates: int = 0
    statuses: int = 0
    ignored: list[str] = field(default_factory=list)


def process_queued(body: str, store: Store) -> ProcessResult:
    """Handle one SQS record body. Raises on anything that should be retried or parked."""
    queued = QueuedEvent.model_validate_json(body)
    parse = parser_for(queued.channel)
    result = ProcessResult()
    for event in parse(queued):
        if isinstance(event, IgnoredEvent):
            result.ignored.append(event.kind)
            metrics.add_metric(name="EventsIgnored", unit="Count", value=1)
            logger.info(
                "event ignored",
                extra={
                    "channel": event.channel,
                    "kind": event.kind,
                    "reason": event.reason,
                    "event_id": queued.event_id,
                },
            )
        elif isinstance(event, StatusEvent):
            store.apply_status(event)
            result.statuses += 1
        elif isinstance(event, MessageEvent):
            _store_message(event, store, result)
    return result


def _store_message(event: MessageEvent, store: Store, result: ProcessResult) -> None:
    now = clock.now()
    window = timedelta(hours=settings().reopen_window_hours)
    # A survey rating must not reopen the resolved conversation it answers (see surveys.capture).
    outcome = store.record_message(
        event, now, window, keeps_resolved=lambda conv, ev: answers_survey(conv, ev, now)
    )
    if outcome.duplicate:
        result.duplicates += 1
        metrics.add_metric(name="MessagesDuplicate", unit="Count", value=1)
        logger.info(
            "duplicate message ignored",
            extra={"channel": event.channel, "platform_message_id": event.platform_message_id},
        )
        return
    result.stored += 1
    metrics.add_metric(name="MessagesStored", unit="Count", value=1)
    assert outcome.conversation is not None
    logger.info(
        "message stored",
        extra={
            "channel": event.channel,
            "direction": event.direction,
            "conversation_id": outcome.conversation.id,
            "platform_message_id": event.platform_message_id,
            "new_conversation": outcome.new_conversation,
        },
    )
    context = InboundContext(store=store, now=now, event=event, outcome=outcome)
    for step in hooks.steps():
        step(context)
