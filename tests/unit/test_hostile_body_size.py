"""Body size limits at every webhook: ``MAX_BODY_BYTES`` (settings) bounds the raw body, and an event
larger than one SQS message is refused too; both answer 413 ``payload_too_large`` and queue nothing.
"""

from __future__ import annotations

import json

import pytest

from carehooks.ingress.queue import SQS_MAX_BYTES
from tests.channel_support import StubSqs
from tests.hostile_support import (
    SQS_MAX_BYTES as SQS_LIMIT,
)
from tests.hostile_support import (
    WEBHOOKS,
    Webhook,
    assert_rejected_cleanly,
    assert_sqs_would_accept,
    install_quiet_stub,
    sent_entries,
)

DEFAULT_LIMIT = 1_048_576


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> StubSqs:
    return install_quiet_stub(monkeypatch)


def padded(webhook: Webhook, size: int) -> bytes:
    """A real, valid body of exactly ``size`` bytes (JSON: trailing whitespace; forms: a padding field)."""
    raw = webhook.sample_bytes()[0]
    if webhook.content_type == "application/json":
        return raw + b" " * (size - len(raw))
    head = raw + b"&Pad="
    return head + b"x" * (size - len(head))


@pytest.mark.parametrize("webhook", WEBHOOKS.values(), ids=lambda w: w.name)
def test_a_body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_a_413(
    sqs: StubSqs, monkeypatch: pytest.MonkeyPatch, webhook: Webhook
) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "4096")
    at_limit = padded(webhook, 4096)
    assert len(at_limit) == 4096
    assert webhook.post_signed(at_limit)["statusCode"] == 200
    queued = len(sqs.calls)
    assert queued == 1

    response = webhook.post_signed(padded(webhook, 4097))
    assert response["statusCode"] == 413
    assert assert_rejected_cleanly(response) == "payload_too_large"
    assert "too large" in json.loads(response["body"])["error"]["message"]
    assert len(sqs.calls) == queued


@pytest.mark.parametrize("webhook", WEBHOOKS.values(), ids=lambda w: w.name)
def test_the_default_limit_is_one_mebibyte(sqs: StubSqs, webhook: Webhook) -> None:
    if webhook.content_type == "application/json":
        # (A form of that size would carry a 1 MiB field: one event larger than an SQS message.)
        assert webhook.post_signed(padded(webhook, DEFAULT_LIMIT))["statusCode"] == 200
    queued = len(sqs.calls)
    response = webhook.post_signed(padded(webhook, DEFAULT_LIMIT + 1))
    assert response["statusCode"] == 413
    assert assert_rejected_cleanly(response) == "payload_too_large"
    assert len(sqs.calls) == queued


def _meta_batch(texts: list[str]) -> bytes:
    messaging = [
        {
            "sender": {"id": f"7318845612093{i:03d}"},
            "recipient": {"id": "112233445566778"},
            "timestamp": 1763798400000 + i,
            "message": {"mid": f"m_big_{i}", "text": text},
        }
        for i, text in enumerate(texts)
    ]
    body = {
        "object": "page",
        "entry": [{"id": "112233445566778", "time": 1763798400000, "messaging": messaging}],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def test_a_batch_larger_than_one_sqs_request_is_sent_in_several(sqs: StubSqs) -> None:
    # Given a signed batch of 10 events of ~40 KB each (SQS takes 256 KiB per request)
    raw = _meta_batch(["w" * 40_000] * 10)
    # When it is posted, Then every event is queued, in sends SQS accepts
    assert WEBHOOKS["meta"].post_signed(raw)["statusCode"] == 200
    assert SQS_MAX_BYTES == SQS_LIMIT
    assert len(sqs.calls) > 1
    for call in sqs.calls:
        assert sum(len(e["MessageBody"].encode()) for e in call["Entries"]) <= SQS_LIMIT
    assert len(assert_sqs_would_accept(sent_entries(sqs))) == 10


def test_one_event_larger_than_an_sqs_message_is_a_413_and_nothing_is_queued(sqs: StubSqs) -> None:
    raw = _meta_batch(["short", "w" * 300_000])
    response = WEBHOOKS["meta"].post_signed(raw)
    assert response["statusCode"] == 413
    assert assert_rejected_cleanly(response) == "payload_too_large"
    assert sqs.calls == []
