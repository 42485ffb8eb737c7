"""The inbound processor composed: its store, after-store steps and settings (loaded on the first record)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from carehooks.archive.privacy import configured_erasure_key, tombstone_lookup
from carehooks.automation.spikes import volume_counter
from carehooks.config.settings import settings
from carehooks.domain.conversations import Placement, Step, StoredMessage
from carehooks.domain.models import Conversation
from carehooks.inbound.contacts import contact_step
from carehooks.inbound.parking import read_queued
from carehooks.inbound.processor import Inbound, ProcessResult, process_queued, process_runs
from carehooks.outbound.models import OutboundMessage, SendResult
from carehooks.rules.step import decider, rules_step
from carehooks.store import Store
from carehooks.surveys.capture import answers_survey, capture_survey_answer
from carehooks.wiring.config import ConfigSource, load_config

if TYPE_CHECKING:
    from carehooks.public.moderation import Moderator
    from carehooks.rules.acknowledge import Deliver


def steps(
    store: Store,
    config: ConfigSource = load_config,
    deliver: Deliver | None = None,
    moderator: Moderator | None = None,
) -> list[Step]:
    """The after-store steps, in order: the rules (side effects of the decision taken when the message was
    stored: hide, acknowledge, private reply), then survey answers."""

    def rules(stored: StoredMessage) -> None:
        rules_step(stored, store=store, config=config(), deliver=deliver, moderator=moderator)

    def survey_answers(stored: StoredMessage) -> None:
        capture_survey_answer(stored, store=store, config=config().surveys_in_force)

    return [
        rules,
        survey_answers,
        contact_step(store, fetch_profiles=settings().fetch_contact_profiles),
    ]  # then who the customer is (inbound.contacts)


def inbound(
    store: Store,
    config: ConfigSource = load_config,
    deliver: Deliver | None = None,
    moderator: Moderator | None = None,
) -> Inbound:
    """The processor's collaborators on ``store``."""

    decided: list[Callable[[Placement], Placement]] = []  # one decider for this record or run

    def decide(placed: Placement) -> Placement:
        if not decided:
            decided.append(decider(store, config()))
        return decided[0](placed)

    return Inbound(
        store=store,
        steps=steps(store, config, deliver, moderator),
        decide=decide,
        reopen_window=timedelta(hours=settings().reopen_window_hours),
        answers_survey=answers_survey,
        count=volume_counter(store, config),  # issue 17: spike alerts
        erased_at=tombstone_lookup(store, configured_erasure_key),
    )


def process(body: str, store: Store, *, replayed: bool = False) -> ProcessResult:
    """Process one queued record body on ``store`` with the configuration in force. ``replayed``: an
    archived event sent again (``carehooks archive replay``): stored, but nothing is sent to anyone."""
    if not replayed:
        return process_queued(body, inbound(store))
    # A rebuild stores each event as it was first stored: at its receipt time, not the replay's.
    received_at = read_queued(body).received_at
    return process_queued(body, replace(inbound(store, deliver=send_nothing), now=lambda: received_at))


def send_nothing(conv: Conversation, message: OutboundMessage, store: Store, now: datetime) -> SendResult:
    """The delivery of a replayed record: a rebuild restores what was received, it never acts again
    (an acknowledgement whose claim was lost with the table would otherwise go out a second time)."""
    return SendResult(status="skipped", reason=REPLAYED)


REPLAYED = "replayed from the archive: nothing is sent again"


def process_batch(records: Sequence[tuple[str, str]], store: Store) -> set[str]:
    """Store a batch's runs of one conversation's messages with one conversation write each; the ids of
    the records handled (the others are processed one by one)."""
    return process_runs(records, inbound(store))
