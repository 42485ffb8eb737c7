"""Shared pieces of the automation tests: a configuration, conversations made by messages, a fake sender."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from carehooks import clock
from carehooks.automation.run import AutomationResult, run_automation
from carehooks.config.document import ConfigDocument
from carehooks.config.loader import parse_document
from carehooks.domain.models import Channel, Conversation, Direction, Message, MessageEvent
from carehooks.inbound.processor import store_message
from carehooks.outbound.models import OutboundMessage, SendResult
from carehooks.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WINDOW = timedelta(days=7)
PAGE = "page-1"

CONFIG = """
version: automation-test
agents:
  - {id: alice, teams: [support]}
  - {id: bruno, teams: [support]}
  - {id: carla, teams: [support], active: false}
  - {id: dina, teams: [support]}
teams: [{id: support}, {id: leads}]
ops: {recipients: [ops@example.com]}
surveys: {delay_minutes: 5}
automation:
  auto_resolve:
    pending:
      - after: 1h
        when: {tags: [quick]}
        message: "Closing quickly."
        survey: false
      - after: 48h
        message: "We're closing this conversation for now."
    open: []
  assignee_timer: {enabled: false}
"""


def config(text: str = CONFIG) -> ConfigDocument:
    return parse_document(text)


@dataclass
class FakeSender:
    """Stands for ``deliver``: stores what it sends (as ``deliver`` does) and remembers it."""

    fail_for: set[str] = field(default_factory=set)  # conversation ids whose send fails (retryable)
    raise_for: set[str] = field(default_factory=set)  # conversation ids whose send raises
    sent: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(
        self, conv: Conversation, message: OutboundMessage, store: Store, now: datetime
    ) -> SendResult:
        if conv.id in self.raise_for:
            raise RuntimeError("boom")
        if conv.id in self.fail_for:
            return SendResult(
                status="failed", reason="rate limited", error_class="rate_limited", retryable=True
            )
        with self.lock:
            self.sent.append((conv.id, message.text))
            number = len(self.sent)
        stored = Message(
            conversation_id=conv.id,
            channel=conv.channel,
            account_id=conv.account_id,
            contact_id=conv.contact_id,
            platform_message_id=f"closing-{conv.id}-{number}",
            direction=Direction.OUT,
            sent_at=now,
            text=message.text,
            kind=message.kind,
            author=message.author,
            origin_tag=message.origin_tag,
        )
        with clock.frozen(now):
            store.put_outbound_message(conv, stored)
        return SendResult(status="sent", platform_message_id=stored.platform_message_id)


def customer_writes(store: Store, contact: str, at: datetime, mid: str | None = None) -> Conversation:
    event = MessageEvent(
        channel=Channel.MESSENGER,
        account_id=PAGE,
        contact_id=contact,
        platform_message_id=mid or f"in-{contact}-{at.timestamp()}",
        sent_at=at,
        direction=Direction.IN,
        text="hello",
    )
    outcome = store_message(store, event, at, WINDOW)
    assert outcome.conversation is not None
    return outcome.conversation


def agent_replies(store: Store, conv: Conversation, at: datetime, agent: str = "alice") -> Conversation:
    message = Message(
        conversation_id=conv.id,
        channel=conv.channel,
        account_id=conv.account_id,
        contact_id=conv.contact_id,
        platform_message_id=f"out-{conv.id}-{at.timestamp()}",
        direction=Direction.OUT,
        sent_at=at,
        text="here is your answer",
        kind="agent_reply",
        author=agent,
    )
    with clock.frozen(at):
        stored = store.put_outbound_message(conv, message)
    assert stored is not None
    return stored


def run_at(store: Store, at: datetime, document: ConfigDocument, send: FakeSender) -> AutomationResult:
    with clock.frozen(at):
        return run_automation(store, at, document, send)


def current(store: Store, conv: Conversation) -> Conversation:
    found = store.get_conversation(conv.id)
    assert found is not None
    return found


Act = Callable[[Store, datetime], None]
