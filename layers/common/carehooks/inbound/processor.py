"""Process one queued event: parse (pure adapter), store idempotently, then run the after-store steps."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from carehooks import clock
from carehooks.archive.records import ERASED
from carehooks.domain.conversations import (
    KeepsResolved,
    Placement,
    RecordOutcome,
    Step,
    StoredMessage,
    place_message,
    thread_of,
)
from carehooks.domain.models import (
    CommentChangeEvent,
    Conversation,
    Direction,
    IgnoredEvent,
    MessageEvent,
    StatusEvent,
)
from carehooks.inbound.parking import parse_queued, read_queued
from carehooks.observability import logger, metrics
from carehooks.store import Store

MIN_RUN = 2  # consecutive messages of one conversation worth one conversation write

# (resolved conversation, customer message, now) -> the message answers its survey (never reopens it).
AnswersSurvey = Callable[[Conversation, MessageEvent, datetime], bool]


@dataclass(frozen=True)
class Inbound:
    """What the processor works with; the composition point (``carehooks.wiring.processor``) builds it.

    ``steps`` run after a message is stored for the first time, and again when its record is retried
    (the message is then a duplicate): each must be idempotent, e.g. by claiming its side effect first.
    """

    store: Store
    steps: Sequence[Step] = ()
    # Decides about a customer message before it is stored (the rules): see ``store.record_message``.
    decide: Callable[[Placement], Placement] | None = None
    reopen_window: timedelta = timedelta(hours=24)
    answers_survey: AnswersSurvey | None = None
    now: Callable[[], datetime] = clock.now
    # Counts messages stored for the first time (issue 17's volume counters); never raises.
    count: Callable[[Sequence[StoredMessage]], None] | None = None

    # When the identity (channel, account, contact) was erased, or None (issue 18: carehooks.archive).
    erased_at: Callable[[str, str, str], datetime | None] | None = None


@dataclass
class ProcessResult:
    stored: int = 0
    duplicates: int = 0
    statuses: int = 0
    changes: int = 0
    ignored: list[str] = field(default_factory=list)


def process_queued(body: str, inbound: Inbound) -> ProcessResult:
    """Handle one SQS record body. Raises :class:`MalformedEventError` for a record to park (it can never
    succeed), anything else for a record to retry."""
    store = inbound.store
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
            _store_message(event, inbound, result)
        elif isinstance(event, CommentChangeEvent):
            _apply_comment_change(event, inbound, result)
    return result


def _apply_comment_change(event: CommentChangeEvent, inbound: Inbound, result: ProcessResult) -> None:
    """An edited, removed or hidden comment changes the stored one; an unknown edited one is stored."""
    before = inbound.store.apply_change(event)
    if before is not None:
        result.changes += 1
        metrics.add_metric(name="CommentsChanged", unit="Count", value=1)
        logger.info(
            "comment changed",
            extra={"channel": event.channel, "change": event.change, "comment_id": event.platform_message_id},
        )
    elif event.fallback is not None and event.change == "edited":
        # An edit of a comment never received (written before the subscription): keep what it says now.
        _store_message(event.fallback, inbound, result)
    else:
        logger.info(
            "comment change without effect (unknown comment, or already applied)",
            extra={"channel": event.channel, "change": event.change, "comment_id": event.platform_message_id},
        )


def store_message(
    store: Store,
    event: MessageEvent,
    now: datetime,
    reopen_window: timedelta,
    keeps_resolved: KeepsResolved | None = None,
    decide: Callable[[Placement], Placement] | None = None,
) -> RecordOutcome:
    """Store one platform message where the conversation rules put it (threaded, accounted, derived),
    with ``decide``'s decision about it."""
    return store.record_message(
        event, lambda latest: place_message(event, latest, now, reopen_window, keeps_resolved), now, decide
    )


def _store_message(event: MessageEvent, inbound: Inbound, result: ProcessResult) -> None:
    store = inbound.store
    now = inbound.now()
    answers = inbound.answers_survey

    def keeps_resolved(conv: Conversation, ev: MessageEvent) -> bool:
        # A survey rating must not reopen the resolved conversation it answers (see surveys.capture).
        return answers is not None and answers(conv, ev, now)

    try:
        outcome = store.record_message(
            event,
            _unless_erased(event, inbound, now, keeps_resolved),
            now,
            inbound.decide,
        )
    except ErasedIdentityError:
        result.ignored.append(ERASED)
        metrics.add_metric(name="EventsIgnored", unit="Count", value=1)
        logger.info(
            "message of an erased identity, from before its erasure: not stored",
            extra={"channel": event.channel},
        )
        return
    if outcome.duplicate:
        result.duplicates += 1
        metrics.add_metric(name="MessagesDuplicate", unit="Count", value=1)
        logger.info(
            "duplicate message ignored",
            extra={"channel": event.channel, "platform_message_id": event.platform_message_id},
        )
        if event.direction is Direction.IN:
            _resume_steps(event, inbound, now)
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
    stored = StoredMessage(event=event, outcome=outcome, now=now)
    if inbound.count is not None:
        inbound.count([stored])
    _run_steps(inbound, stored)


class ErasedIdentityError(Exception):
    """The message is of an erased identity and older than its erasure: it must store nothing."""


def _unless_erased(
    event: MessageEvent, inbound: Inbound, now: datetime, keeps_resolved: KeepsResolved
) -> Callable[[Conversation | None], Placement]:
    """The message's placement, refused (:class:`ErasedIdentityError`) for a message of an erased
    identity sent before the erasure. The tombstone is read only when the message would open the
    identity's first conversation, or is older than its latest one (a redelivery): never on a follow-up.
    """

    def place(latest: Conversation | None) -> Placement:
        erased_at = inbound.erased_at
        if erased_at is not None and (latest is None or event.sent_at < latest.created_at):
            at = erased_at(event.channel, event.account_id, event.contact_id)
            if at is not None and event.sent_at <= at:
                raise ErasedIdentityError
        return place_message(event, latest, now, inbound.reopen_window, keeps_resolved)

    return place


def _run_steps(inbound: Inbound, stored: StoredMessage) -> None:
    for step in inbound.steps:
        step(stored)


def _resume_steps(event: MessageEvent, inbound: Inbound, now: datetime) -> None:
    """Re-run the after-store steps for a redelivered customer message.

    A record whose steps failed (say, the acknowledgement's send hit a rate limit) is retried by SQS,
    but its message is already stored, so the retry arrives here as a duplicate. The steps are
    idempotent (each finds what it already did: a recorded rules decision, a claimed side effect), so
    running them again finishes only what did not.
    """
    store = inbound.store
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
    _run_steps(inbound, StoredMessage(event=event, outcome=outcome, now=now))


def process_runs(records: Sequence[tuple[str, str]], inbound: Inbound) -> set[str]:
    """Store runs of a batch's records that are plain customer messages of one conversation (one FIFO
    group in a row: a viral comment thread, a customer typing fast) with one conversation write per run,
    then run each message's steps. ``records`` are (record id, body) in batch order.

    Returns the ids of the records fully handled; every other record is processed one by one as usual
    (:func:`process_queued`), which is always correct: a run that cannot be written as one (a new or
    reopened conversation, a redelivery inside it, a concurrent change) writes nothing. A step that fails
    leaves its record and the later ones of the run to the one-by-one processing, which finds their
    messages stored and resumes their steps.
    """
    handled: set[str] = set()
    run: list[tuple[str, MessageEvent]] = []
    for record_id, body in records:
        event = _plain_message(body)
        if run and (event is None or _partition(event) != _partition(run[0][1])):
            handled |= _store_run(run, inbound)
            run = []
        if event is not None:
            run.append((record_id, event))
    if run:
        handled |= _store_run(run, inbound)
    return handled


def _plain_message(body: str) -> MessageEvent | None:
    """The record's one event when it is a customer message (anything else is processed one by one)."""
    try:
        events = parse_queued(read_queued(body))
    except Exception:  # malformed: parked by the one-by-one processing
        return None
    if len(events) != 1 or not isinstance(events[0], MessageEvent) or events[0].direction is not Direction.IN:
        return None
    return events[0]


def _partition(event: MessageEvent) -> tuple[str, str, str, str | None]:
    return (
        event.channel,
        event.account_id,
        event.contact_id if not thread_of(event) else "",
        thread_of(event),
    )


def _store_run(run: list[tuple[str, MessageEvent]], inbound: Inbound) -> set[str]:
    if len(run) < MIN_RUN:
        return set()
    now = inbound.now()

    def place(event: MessageEvent, latest: Conversation | None) -> Placement:
        return place_message(event, latest, now, inbound.reopen_window)

    outcomes = inbound.store.record_run([event for _, event in run], place, now, inbound.decide)
    if outcomes is None:
        return set()
    if inbound.count is not None:
        inbound.count(
            [StoredMessage(event=e, outcome=o, now=now) for (_, e), o in zip(run, outcomes, strict=True)]
        )
    handled: set[str] = set()
    for (record_id, event), outcome in zip(run, outcomes, strict=True):
        metrics.add_metric(name="MessagesStored", unit="Count", value=1)
        try:
            _run_steps(inbound, StoredMessage(event=event, outcome=outcome, now=now))
        except Exception:
            logger.warning(
                "a step failed in a run; the rest of the run is processed one by one", exc_info=True
            )
            break
        handled.add(record_id)
    logger.info("messages stored as one run", extra={"messages": len(outcomes), "handled": len(handled)})
    return handled
