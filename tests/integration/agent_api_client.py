"""Driving the agent API through its Lambda handler: events with JWT claims, a fake sender, seeded data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from carehooks.api.deps import Services, services
from carehooks.domain.models import Channel, Conversation, Direction, Message, MessageEvent
from carehooks.inbound.processor import store_message
from carehooks.outbound.models import OutboundMessage, SendResult
from carehooks.store import Store
from tests.helpers import FakeContext, http_event, load_handler

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PAGE = "112233445566778"
ADA = {"sub": "agent-ada", "email": "ada@example.com", "name": "Ada Lovelace"}
BOB = {"sub": "agent-bob", "email": "bob@example.com", "name": "Bob"}
REOPEN_WINDOW = timedelta(hours=24)


def api_event(
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    claims: dict[str, str] | None = ADA,
    raw: str | None = None,
) -> dict[str, Any]:
    """An HTTP API event as API Gateway sends it after its JWT authorizer accepted the token."""
    text = raw if raw is not None else (None if body is None else json.dumps(body))
    headers = {"Content-Type": "application/json"} if text is not None else {}
    event = http_event(method, path, text, headers, query)
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": dict(claims), "scopes": None}}
    return event


@dataclass
class Answer:
    status: int
    body: Any

    @property
    def error(self) -> dict[str, Any]:
        error: dict[str, Any] = self.body["error"]
        return error


def call(event: dict[str, Any]) -> Answer:
    """Invoke AgentApiFunction's handler with ``event``."""
    result = load_handler("agent_api").handler(event, FakeContext())
    assert result["headers"]["Content-Type"].startswith("application/json"), result
    return Answer(result["statusCode"], json.loads(result["body"]) if result.get("body") else None)


@dataclass
class FakeDeliver:
    """Stands in for ``delivery.send.deliver``: records sends and answers ``result``.

    A ``sent`` result stores the outbound message the way the real one does (``put_outbound_message``).
    """

    result: SendResult = field(
        default_factory=lambda: SendResult(status="sent", platform_message_id="m_out_1")
    )
    calls: list[tuple[Conversation, OutboundMessage]] = field(default_factory=list)
    error: Exception | None = None

    def __call__(
        self, conv: Conversation, message: OutboundMessage, store: Store, now: datetime
    ) -> SendResult:
        self.calls.append((conv, message))
        if self.error is not None:
            raise self.error
        if self.result.status == "sent" and self.result.platform_message_id:
            store.put_outbound_message(
                conv,
                Message(
                    conversation_id=conv.id,
                    channel=conv.channel,
                    account_id=conv.account_id,
                    contact_id=conv.contact_id,
                    platform_message_id=self.result.platform_message_id,
                    direction=Direction.OUT,
                    sent_at=now,
                    text=message.text,
                    kind=message.kind,
                    origin_tag=message.origin_tag,
                    author=message.author,
                    status="sent",
                    stored_at=now,
                    extra=dict(message.attributes),
                ),
            )
        return self.result


def install(store: Store, deliver: FakeDeliver, now: Any) -> Iterator[None]:
    """Route the API's services to ``store`` / ``deliver`` / ``now`` until the generator is closed."""
    from carehooks.api.app import app as resolver

    resolver().dependency_overrides[services] = lambda: Services(store=store, now=now, deliver=deliver)
    try:
        yield
    finally:
        resolver().dependency_overrides.clear()


@contextmanager
def installed(store: Store, deliver: FakeDeliver, now: Any) -> Iterator[None]:
    """:func:`install` as a context manager: the API's services routed to ``store`` inside it."""
    yield from install(store, deliver, now)


def inbound(
    store: Store,
    contact: str,
    text: str,
    at: datetime,
    mid: str | None = None,
    channel: Channel = Channel.MESSENGER,
    account: str = PAGE,
) -> Conversation:
    """Store a customer message as the processor would; returns its conversation."""
    outcome = store_message(
        store,
        MessageEvent(
            channel=channel,
            account_id=account,
            contact_id=contact,
            platform_message_id=mid or f"m_{contact}_{at.timestamp():.0f}",
            sent_at=at,
            direction=Direction.IN,
            text=text,
        ),
        at,
        REOPEN_WINDOW,
    )
    assert outcome.conversation is not None
    return outcome.conversation
