"""Helpers for the X, Telegram and Twilio channel tests: secrets, signatures, a stub SQS, posting to handlers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
import responses

from carehooks.domain.models import QueuedEvent
from tests.helpers import FakeContext, http_event, load_handler

X_SECRET = "test-x-consumer-secret"
TELEGRAM_SECRET = "tg_9f2c1a7e4b3d8f60"
TELEGRAM_BOT_TOKEN = "123456789:AAE-test-bot-token"
TWILIO_TOKEN = "test-twilio-auth-token"
TWILIO_SID = "AC7d2e5f8a9b0c1d2e3f4a5b6c7d8e9f01"
PUBLIC_BASE_URL = "https://hooks.example.com"
QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/inbound.fifo"


def configure_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every channel secret set (tests that need one missing delete it)."""
    monkeypatch.setenv("X_CONSUMER_SECRET", X_SECRET)
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", TELEGRAM_SECRET)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TELEGRAM_BOT_TOKEN)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", TWILIO_SID)
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC_BASE_URL)
    monkeypatch.delenv("CAREHOOKS_SECRET_ID", raising=False)


GRAPH_URL = "https://graph.test/v25.0"
X_API_URL = "https://x.test"
TELEGRAM_API_URL = "https://telegram.test"
TWILIO_API_URL = "https://twilio.test"


def point_platforms_at_stubs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outbound base URLs on hosts that only :func:`platform_stubs` answers (never the real services)."""
    monkeypatch.setenv("META_GRAPH_URL", GRAPH_URL)
    monkeypatch.setenv("X_API_URL", X_API_URL)
    monkeypatch.setenv("TELEGRAM_API_URL", TELEGRAM_API_URL)
    monkeypatch.setenv("TWILIO_API_URL", TWILIO_API_URL)
    monkeypatch.setenv("META_ACCESS_TOKEN", "meta-token")
    monkeypatch.setenv("X_ACCESS_TOKEN", "x-token")


def platform_stubs() -> responses.RequestsMock:
    """Every platform's send API answering success with fresh ids (the acknowledgements tests cause)."""
    import itertools
    import re

    ids = itertools.count(1)
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)

    def graph(request: Any) -> tuple[int, dict[str, str], str]:
        n = next(ids)
        return 200, {}, json.dumps({"message_id": f"mid.stub{n}", "messages": [{"id": f"wamid.stub{n}"}]})

    def x(request: Any) -> tuple[int, dict[str, str], str]:
        n = next(ids)
        return (
            201,
            {},
            json.dumps(
                {"data": {"dm_conversation_id": "c", "dm_event_id": f"9{n:018d}", "id": f"8{n:018d}"}}
            ),
        )

    def telegram(request: Any) -> tuple[int, dict[str, str], str]:
        chat = json.loads(request.body or b"{}").get("chat_id", 0)
        return (
            200,
            {},
            json.dumps({"ok": True, "result": {"message_id": 10_000 + next(ids), "chat": {"id": chat}}}),
        )

    def twilio(request: Any) -> tuple[int, dict[str, str], str]:
        return 201, {}, json.dumps({"sid": f"SMstub{next(ids):028d}", "status": "queued"})

    mock.add_callback(responses.POST, re.compile(re.escape(GRAPH_URL) + r"/.*"), callback=graph)
    mock.add_callback(responses.POST, re.compile(re.escape(X_API_URL) + r"/.*"), callback=x)
    mock.add_callback(responses.POST, re.compile(re.escape(TELEGRAM_API_URL) + r"/.*"), callback=telegram)
    mock.add_callback(responses.POST, re.compile(re.escape(TWILIO_API_URL) + r"/.*"), callback=twilio)
    return mock


def x_signature(raw: bytes, secret: str = X_SECRET) -> str:
    from carehooks.channels.x.signature import sign

    return sign(raw, secret)


def twilio_signature(
    raw: bytes, token: str = TWILIO_TOKEN, url: str = PUBLIC_BASE_URL + "/webhooks/twilio"
) -> str:
    from urllib.parse import parse_qsl

    from carehooks.channels.twilio.signature import signature

    # Lenient parsing here, so tests can sign bodies the receiver must reject as malformed.
    return signature(url, parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True), token)


def form(**fields: str) -> bytes:
    return urlencode(fields).encode()


@dataclass
class StubSqs:
    """Records SendMessageBatch calls (a fake SQS client)."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append({"QueueUrl": QueueUrl, "Entries": Entries})
        return {"Successful": [{"Id": e["Id"], "MessageId": f"m-{e['Id']}"} for e in Entries], "Failed": []}

    def events(self) -> list[QueuedEvent]:
        return [QueuedEvent.model_validate_json(e["MessageBody"]) for c in self.calls for e in c["Entries"]]


def install_stub_sqs(monkeypatch: pytest.MonkeyPatch) -> StubSqs:
    """Replace the SQS client with a :class:`StubSqs` and configure every channel secret."""
    from carehooks.ingress import queue as queue_module

    stub = StubSqs()
    monkeypatch.setattr(queue_module, "sqs_client", lambda: stub)
    monkeypatch.setenv("INBOUND_QUEUE_URL", QUEUE_URL)
    configure_channels(monkeypatch)
    return stub


def post(
    function: str,
    path: str,
    raw: bytes,
    headers: dict[str, str],
    method: str = "POST",
    query: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """Invoke a webhook function's handler with an API Gateway HTTP API event."""
    handler = load_handler(function)
    result: dict[str, Any] = handler.handler(
        http_event(method, path, raw, headers, query=query, base64_body=base64_body), FakeContext()
    )
    return result


def error_code(response: dict[str, Any]) -> str:
    return str(json.loads(response["body"])["error"]["code"])
