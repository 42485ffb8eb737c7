"""InboundProcessorFunction's composition: the processor with its store, after-store steps and settings."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from carehooks.config.loader import load_config
from carehooks.config.settings import settings
from carehooks.domain.conversations import Step, StoredMessage
from carehooks.inbound.parking import DeadLetterQueue, Record, process_or_park
from carehooks.inbound.processor import Inbound, ProcessResult, process_queued
from carehooks.ingress.queue import sqs_client
from carehooks.store import Store
from carehooks.surveys.capture import answers_survey, capture_survey_answer
from carehooks.wiring.store import ConfigSource, get_store

if TYPE_CHECKING:
    from carehooks.public.moderation import Moderator
    from carehooks.rules.acknowledge import Deliver


def steps(
    store: Store,
    config: ConfigSource = load_config,
    deliver: Deliver | None = None,
    moderator: Moderator | None = None,
) -> list[Step]:
    """The after-store steps, in order: the rules (decision, acknowledgement), then survey answers."""
    # Cold start: the rules engine (re2, language detection) loads on the first message, not at init.
    from carehooks.rules.step import rules_step

    def rules(stored: StoredMessage) -> None:
        rules_step(stored, store=store, config=config(), deliver=deliver, moderator=moderator)

    def survey_answers(stored: StoredMessage) -> None:
        capture_survey_answer(stored, store=store, config=config().surveys_in_force)

    return [rules, survey_answers]


def inbound(
    store: Store,
    config: ConfigSource = load_config,
    deliver: Deliver | None = None,
    moderator: Moderator | None = None,
) -> Inbound:
    """The processor's collaborators on ``store``."""
    return Inbound(
        store=store,
        steps=steps(store, config, deliver, moderator),
        reopen_window=timedelta(hours=settings().reopen_window_hours),
        answers_survey=answers_survey,
    )


def process(body: str, store: Store) -> ProcessResult:
    """Process one queued record body on ``store`` with the configuration in force."""
    return process_queued(body, inbound(store))


def handle_record(record: Record) -> None:
    """One SQS record of the inbound queue: processed, or parked in the DLQ when it is malformed."""
    process_or_park(
        record,
        partial(process, store=get_store()),
        DeadLetterQueue(settings().inbound_dlq_url, sqs_client),
    )
