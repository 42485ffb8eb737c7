"""Meta webhook → queue → processor → table, under moto."""

from __future__ import annotations

import json
from typing import Any

from tests.helpers import FakeContext, event_bytes, http_event, load_handler, meta_signature
from tests.integration.conftest import Aws


def post_meta(raw: bytes, signature: str | None = "auto", **kwargs: Any) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if signature == "auto":
        headers["X-Hub-Signature-256"] = meta_signature(raw)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    webhook = load_handler("meta_webhook")
    result: dict[str, Any] = webhook.handler(
        http_event("POST", "/webhooks/meta", raw, headers, **kwargs), FakeContext()
    )
    return result


def process(aws: Aws) -> dict[str, Any]:
    processor = load_handler("inbound_processor")
    records = aws.drain()
    result: dict[str, Any] = processor.handler({"Records": records}, FakeContext())
    return result


def test_a_signed_messenger_text_becomes_one_message_in_one_conversation(aws: Aws) -> None:
    # Given a signed Messenger text webhook
    raw = event_bytes("meta/messenger_text.json")
    # When it is posted and the queue is processed
    response = post_meta(raw)
    outcome = process(aws)
    # Then it is accepted, and one conversation holds one inbound message
    assert response["statusCode"] == 200
    assert outcome == {"batchItemFailures": []}
    conversations = aws.items("CONV#")
    messages = aws.items("MSG#")
    assert len(conversations) == 1
    assert len(messages) == 1
    assert messages[0]["text"]["S"] == "where is my order? #1234"
    assert messages[0]["direction"]["S"] == "in"
    assert conversations[0]["status"]["S"] == "open"
    assert conversations[0]["message_count"]["N"] == "1"


def test_posting_the_same_webhook_again_changes_nothing(aws: Aws) -> None:
    raw = event_bytes("meta/messenger_text.json")
    post_meta(raw)
    process(aws)
    before = sorted(json.dumps(i, sort_keys=True, default=bytes.hex) for i in aws.items())
    # When Meta redelivers the same body (after the SQS dedup window: the queue is empty again)
    assert post_meta(raw)["statusCode"] == 200
    process(aws)
    after = sorted(json.dumps(i, sort_keys=True, default=bytes.hex) for i in aws.items())
    assert after == before


def test_a_wrong_signature_is_rejected_and_nothing_is_queued(aws: Aws) -> None:
    raw = event_bytes("meta/messenger_text.json")
    response = post_meta(raw, signature=meta_signature(raw, "another-secret"))
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"]["code"] == "invalid_signature"
    assert aws.drain() == []
    assert aws.items() == []


def test_a_batched_body_is_split_per_customer_event(aws: Aws) -> None:
    raw = event_bytes("meta/batched.json")
    response = post_meta(raw)
    assert json.loads(response["body"]) == {"ok": True, "events": 4}
    process(aws)
    assert len(aws.items("MSG#")) == 4
    assert len(aws.items("CONV#")) == 3
