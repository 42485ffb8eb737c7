"""Process one queued event: parse (pure adapter), store idempotently, then run the after-store steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from carehooks import clock
from carehooks.config.settings import settings
from carehooks.domain.models import (
    CommentChangeEvent,
    Direction,
    IgnoredEvent,
    MessageEvent,
    StatusEvent,
)
from carehooks.inbound import hooks
from carehooks.inbound.context import InboundContext
from carehooks.inbound.parking import parse_queued, read_queued
from carehooks.observability import logger, metrics
from carehooks.store import RecordOutcome, Store
from carehooks.store.table import thread_of
from carehooks.surveys.capture import answers_survey


@dataclass
class ProcessResult:
    stored: int = 0
    duplicates: int = 0
    statuses: int = 0
    changes: int = 0
    ignored: list[str] = field(default_factory=list)


def process_queued(body: str, store: Store) -> ProcessResult:
    """Handle one SQS record body. Raises :class:`MalformedEventError` for a record to park (it can never
    succeed), anything else for a record to retry."""
    queued = read_queued(body)
    result = ProcessResult()
    for event in parse_queued(queued):
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
        elif isinstance(event, CommentChangeEvent):
            _apply_comment_change(event, store, result)
    return result


def _apply_comment_change(event: CommentChangeEvent, store: Store, result: ProcessResult) -> None:
    """An edited, removed or hidden comment changes the stored one; an unknown edited one is stored."""
    from carehooks.store.public import apply_change

    before = apply_change(store, event)
    if before is not None:
        result.changes += 1
        metrics.add_metric(name="CommentsChanged", unit="Count", value=1)
        logger.info(
            "comment changed",
            extra={"channel": event.channel, "change": event.change, "comment_id": event.platform_message_id},
        )
    elif event.fallback is not None and event.change == "edited":
        # An edit of a comment never received (written before the subscription): keep what it says now.
        _store_message(event.fallback, store, result)
    else:
        logger.info(
            "comment change without effect (unknown comment, or already applied)",
            extra={"channel": event.channel, "change": event.change, "comment_id": event.platform_message_id},
        )


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
        if event.direction is Direction.IN:
            _resume_steps(event, store, now)
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


def _resume_steps(event: MessageEvent, store: Store, now: datetime) -> None:
    """Re-run the after-store steps for a redelivered customer message.

    A record whose steps failed (say, the acknowledgement's send hit a rate limit) is retried by SQS,
    but its message is already stored, so the retry arrives here as a duplicate. The steps are
    idempotent (each finds what it already did: a recorded rules decision, a claimed side effect), so
    running them again finishes only what did not.
    """
    message = store.get_message(
        event.channel, event.account_id, event.contact_id, event.platform_message_id, thread_of(event)
    )
    if message is None:
        return
    conversation = store.get_conversation(message.conversation_id)
    if conversation is None:
        return
    outcome = RecordOutcome(
        duplicate=False,
        conversation=conversation,
        message=message,
        # The store stamps a new conversation and its first message with the same time.
        new_conversation=conversation.created_at == message.stored_at,
    )
    context = InboundContext(store=store, now=now, event=event, outcome=outcome)
    for step in hooks.steps():
        step(context)
