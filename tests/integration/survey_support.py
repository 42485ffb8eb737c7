"""Helpers for the survey and report tests: conversations driven through the real store."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime

import pytest

from carehooks.config.surveys import SurveyConfig
from carehooks.domain.models import Channel, Conversation, Direction, MessageEvent
from carehooks.inbound.processor import store_message
from carehooks.outbound.models import OutboundMessage, SendError, SendResult
from carehooks.store import Store
from tests.config_support import use_document

_ids = itertools.count(1)


def use_survey_config(monkeypatch: pytest.MonkeyPatch, config: SurveyConfig) -> None:
    """Make the deriver (and anything else reading the document) see ``config``."""
    use_document(monkeypatch, surveys=config)


def customer_writes(
    store: Store,
    at: datetime,
    text: str = "where is my order?",
    channel: Channel = Channel.MESSENGER,
    contact: str = "psid-1",
    payload: str | None = None,
    public: bool = False,
    reopen_hours: float = 24,
) -> Conversation:
    """A customer message at ``at`` (platform time = processing time), stored and threaded."""
    from datetime import timedelta

    event = MessageEvent(
        channel=channel,
        account_id="acct-1",
        contact_id=contact,
        platform_message_id=f"m-{next(_ids)}",
        sent_at=at,
        direction=Direction.IN,
        text=text,
        reply_payload=payload,
        public=public,
    )
    outcome = store_message(store, event, at, timedelta(hours=reopen_hours))
    assert outcome.conversation is not None
    return outcome.conversation


def agent_replies(store: Store, conv: Conversation, at: datetime, agent: str = "agent-ann") -> Conversation:
    """A person's reply, as the platform's echo would store it."""
    from datetime import timedelta

    event = MessageEvent(
        channel=conv.channel,
        account_id=conv.account_id,
        contact_id=conv.contact_id,
        platform_message_id=f"m-{next(_ids)}",
        sent_at=at,
        direction=Direction.OUT,
        text="We are on it.",
    )
    outcome = store_message(store, event, at, timedelta(hours=24))
    assert outcome.conversation is not None
    current = store.get_conversation(conv.id)
    assert current is not None
    current = replace(current, assignee=agent, last_responder=agent)
    return store.save_conversation(current)


def resolve(store: Store, conv_id: str, at: datetime) -> Conversation:
    current = store.get_conversation(conv_id)
    assert current is not None
    return store.save_conversation(replace(current, status="resolved", resolved_at=at))


@dataclass
class FakeSender:
    """Stands in for ``delivery.send.deliver``: records every send and answers as told."""

    answer: SendResult | SendError = field(default_factory=lambda: SendResult(status="sent"))
    sent: list[tuple[Conversation, OutboundMessage]] = field(default_factory=list)

    def __call__(
        self, conv: Conversation, message: OutboundMessage, store: Store, now: datetime
    ) -> SendResult:
        self.sent.append((conv, message))
        if isinstance(self.answer, SendError):
            raise self.answer
        if self.answer.status == "sent" and self.answer.platform_message_id is None:
            return replace(self.answer, platform_message_id=f"out-{len(self.sent)}")
        return self.answer
