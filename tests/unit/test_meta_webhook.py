"""MetaWebhookFunction in-process: handshake, signature, bad bodies, size limit, enqueue and SQS failures.

SQS is a stub client (a fake, no network): it records every SendMessageBatch call and can fail.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest

from carehooks.domain.models import QueuedEvent
from carehooks.ingress import queue as queue_module
from carehooks.ingress.queue import deduplication_id
from tests.helpers import (
    META_SECRET,
    META_VERIFY_TOKEN,
    FakeContext,
    event_bytes,
    http_event,
    load_handler,
    meta_signature,
)

QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/inbound.fifo"


@dataclass
class StubSqs:
    """Records SendMessageBatch calls. ``fail`` is consumed per call: an exception, or Ids to report failed."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    fail: list[Exception | tuple[list[str], bool]] = field(default_factory=list)

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append({"QueueUrl": QueueUrl, "Entries": Entries})
        if self.fail:
            outcome = self.fail.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            ids, sender_fault = outcome
            return {
                "Successful": [{"Id": e["Id"]} for e in Entries if e["Id"] not in ids],
                "Failed": [
                    {
                        "Id": i,
                        "SenderFault": sender_fault,
                        "Code": "InternalError" if not sender_fault else "Bad",
                    }
                    for i in ids
                ],
            }
        return {"Successful": [{"Id": e["Id"], "MessageId": f"m-{e['Id']}"} for e in Entries], "Failed": []}

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [e for call in self.calls for e in call["Entries"]]

    def accepted(self) -> list[QueuedEvent]:
        """The events SQS kept: the last attempt of each entry id per chunk (what a consumer would see)."""
        return [QueuedEvent.model_validate_json(e["MessageBody"]) for e in self.entries]


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> StubSqs:
    stub = StubSqs()
    monkeypatch.setattr(queue_module, "sqs_client", lambda: stub)
    return stub


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOUND_QUEUE_URL", QUEUE_URL)
    monkeypatch.setenv("META_APP_SECRET", META_SECRET)
    monkeypatch.setenv("META_VERIFY_TOKEN", META_VERIFY_TOKEN)
    monkeypatch.delenv("CAREHOOKS_SECRET_ID", raising=False)
    monkeypatch.delenv("MAX_BODY_BYTES", raising=False)


@pytest.fixture
def webhook(configured: None, sqs: StubSqs) -> ModuleType:
    return load_handler("meta_webhook")


def call(webhook: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = webhook.handler(event, FakeContext())
    return result


def post(
    webhook: ModuleType,
    raw: bytes,
    signature: str | None = "auto",
    *,
    base64_body: bool = False,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if signature == "auto":
        all_headers["X-Hub-Signature-256"] = meta_signature(raw)
    elif signature is not None:
        all_headers["X-Hub-Signature-256"] = signature
    return call(webhook, http_event("POST", "/webhooks/meta", raw, all_headers, base64_body=base64_body))


def handshake(webhook: ModuleType, **query: str) -> dict[str, Any]:
    return call(webhook, http_event("GET", "/webhooks/meta", query=query))


def error_code(response: dict[str, Any]) -> str:
    assert response["headers"]["Content-Type"] == "application/json"
    body = json.loads(response["body"])
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    code: str = body["error"]["code"]
    return code


# ---------------------------------------------------------------- handshake
def test_the_handshake_echoes_the_challenge_as_plain_text(webhook: ModuleType, sqs: StubSqs) -> None:
    response = handshake(
        webhook,
        **{"hub.mode": "subscribe", "hub.verify_token": META_VERIFY_TOKEN, "hub.challenge": "1158201444"},
    )
    assert response == {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": "1158201444"}
    assert sqs.calls == []


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": META_VERIFY_TOKEN.upper(), "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": META_VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.verify_token": META_VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": META_VERIFY_TOKEN},
        {"hub_mode": "subscribe", "hub_verify_token": META_VERIFY_TOKEN, "hub_challenge": "1"},
        {},
    ],
    ids=[
        "wrong-token",
        "token-case",
        "no-token",
        "wrong-mode",
        "no-mode",
        "no-challenge",
        "renamed-params",
        "nothing",
    ],
)
def test_a_handshake_that_does_not_match_is_forbidden(
    webhook: ModuleType, sqs: StubSqs, query: dict[str, str]
) -> None:
    response = handshake(webhook, **query)
    assert response["statusCode"] == 403
    assert error_code(response) == "forbidden"
    assert "1" not in json.loads(response["body"])["error"]["message"]


def test_the_handshake_is_refused_and_logged_when_no_verify_token_is_configured(
    webhook: ModuleType, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("META_VERIFY_TOKEN")
    caplog.set_level(logging.INFO)
    # An empty token must not match an empty (unconfigured) verify token.
    response = handshake(webhook, **{"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"})
    assert response["statusCode"] == 403
    assert any(r.levelno == logging.ERROR and "META_VERIFY_TOKEN" in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------- signature
def test_a_signed_post_is_enqueued_and_answered_200(webhook: ModuleType, sqs: StubSqs) -> None:
    response = post(webhook, event_bytes("meta/messenger_text.json"))
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"ok": True, "events": 1}
    (entry,) = sqs.entries
    queued = QueuedEvent.model_validate_json(entry["MessageBody"])
    assert sqs.calls[0]["QueueUrl"] == QUEUE_URL
    assert entry["MessageGroupId"] == "messenger#112233445566778#7318845612093471"
    assert entry["MessageDeduplicationId"] == deduplication_id(queued)
    assert queued.event_id == "m_AbCdEf0123456789text"


def test_a_post_without_signature_is_401_and_nothing_is_queued(webhook: ModuleType, sqs: StubSqs) -> None:
    response = post(webhook, event_bytes("meta/messenger_text.json"), signature=None)
    assert response["statusCode"] == 401
    assert error_code(response) == "invalid_signature"
    assert sqs.calls == []


@pytest.mark.parametrize(
    "signature",
    [
        "sha256=" + "0" * 64,
        "sha1=abc",
        "",
        "garbage",
        meta_signature(event_bytes("meta/messenger_text.json"), "another-secret"),
        meta_signature(event_bytes("meta/whatsapp_text.json")),
    ],
    ids=["zeros", "sha1", "empty", "garbage", "other-secret", "other-body"],
)
def test_a_post_with_a_wrong_signature_is_401_and_nothing_is_queued(
    webhook: ModuleType, sqs: StubSqs, signature: str
) -> None:
    response = post(webhook, event_bytes("meta/messenger_text.json"), signature=signature)
    assert response["statusCode"] == 401
    assert error_code(response) == "invalid_signature"
    assert sqs.calls == []


def test_the_signature_header_name_is_case_insensitive(webhook: ModuleType, sqs: StubSqs) -> None:
    raw = event_bytes("meta/messenger_text.json")
    event = http_event("POST", "/webhooks/meta", raw)
    event["headers"] = {"X-HUB-SIGNATURE-256": meta_signature(raw)}
    assert call(webhook, event)["statusCode"] == 200
    assert len(sqs.entries) == 1


def test_the_signature_is_checked_before_the_body_is_parsed(webhook: ModuleType, sqs: StubSqs) -> None:
    # An unsigned non-JSON body is a 401 (not a 400): nothing about the body is trusted before the check.
    assert post(webhook, b"not json", signature=None)["statusCode"] == 401


def test_a_missing_app_secret_is_500_with_an_error_log_never_a_skipped_check(
    webhook: ModuleType, sqs: StubSqs, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("META_APP_SECRET")
    caplog.set_level(logging.INFO)
    raw = event_bytes("meta/messenger_text.json")
    # Even a "signature" made with the empty key must not pass.
    response = post(webhook, raw, signature=meta_signature(raw, ""))
    assert response["statusCode"] == 500
    assert error_code(response) == "not_configured"
    assert json.loads(response["body"])["error"]["message"] == "The webhook is not configured."
    assert sqs.calls == []
    assert any(r.levelno == logging.ERROR and "not configured" in r.getMessage() for r in caplog.records)


def test_a_blank_app_secret_counts_as_not_configured(
    webhook: ModuleType, sqs: StubSqs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("META_APP_SECRET", " , ")
    raw = event_bytes("meta/messenger_text.json")
    assert post(webhook, raw, signature=meta_signature(raw, " "))["statusCode"] == 500
    assert sqs.calls == []


def test_a_second_live_app_secret_is_accepted(
    webhook: ModuleType, sqs: StubSqs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("META_APP_SECRET", f"{META_SECRET},instagram-login-secret")
    raw = event_bytes("meta/instagram_text.json")
    assert post(webhook, raw, signature=meta_signature(raw, "instagram-login-secret"))["statusCode"] == 200


# ---------------------------------------------------------------- bodies
@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[]", b'{"object":"user","entry":[]}', b'{"object":"page"}', b'{"entry":[]}', b""],
    ids=["not-json", "array", "unknown-object", "no-entry", "no-object", "empty"],
)
def test_a_signed_body_that_is_not_a_meta_envelope_is_400_with_a_json_error(
    webhook: ModuleType, sqs: StubSqs, raw: bytes
) -> None:
    response = post(webhook, raw)
    assert response["statusCode"] == 400
    assert error_code(response) == "malformed_body"
    assert sqs.calls == []


def test_one_malformed_event_rejects_the_whole_body_so_nothing_is_queued(
    webhook: ModuleType, sqs: StubSqs
) -> None:
    doc = json.loads(event_bytes("meta/batched.json"))
    del doc["entry"][1]["messaging"][0]["sender"]
    response = post(webhook, json.dumps(doc).encode())
    assert response["statusCode"] == 400
    assert sqs.calls == []


def test_a_base64_body_is_verified_on_the_decoded_bytes(webhook: ModuleType, sqs: StubSqs) -> None:
    raw = event_bytes("meta/whatsapp_text.json")
    response = post(webhook, raw, base64_body=True)
    assert response["statusCode"] == 200
    assert len(sqs.entries) == 1


def test_a_base64_body_with_escaped_unicode_verifies(webhook: ModuleType, sqs: StubSqs) -> None:
    raw = (
        b'{"object":"page","entry":[{"id":"112233445566778","time":1718000000000,"messaging":[{"sender":'
        b'{"id":"1"},"recipient":{"id":"112233445566778"},"timestamp":1718000000000,"message":{"mid":"m_u",'
        b'"text":"\\u00e4\\u00f6\\u00e5 \\/ \\u003C"}}]}]}'
    )
    assert post(webhook, raw, base64_body=True)["statusCode"] == 200
    assert post(webhook, raw)["statusCode"] == 200
    assert sqs.accepted()[0].payload["event"]["message"]["text"] == "äöå / <"


def test_a_base64_body_signed_over_its_base64_text_is_rejected(webhook: ModuleType, sqs: StubSqs) -> None:
    import base64

    raw = event_bytes("meta/messenger_text.json")
    response = post(webhook, raw, signature=meta_signature(base64.b64encode(raw)), base64_body=True)
    assert response["statusCode"] == 401
    assert sqs.calls == []


def test_a_body_that_is_not_valid_base64_is_400(webhook: ModuleType, sqs: StubSqs) -> None:
    event = http_event("POST", "/webhooks/meta", None, {"X-Hub-Signature-256": meta_signature(b"")})
    event["body"] = "%%% not base64 %%%"
    event["isBase64Encoded"] = True
    response = call(webhook, event)
    assert response["statusCode"] == 400
    assert error_code(response) == "malformed_body"
    assert sqs.calls == []


def test_a_body_over_the_size_limit_is_413_before_anything_else(
    webhook: ModuleType, sqs: StubSqs, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = event_bytes("meta/batched.json")
    monkeypatch.setenv("MAX_BODY_BYTES", str(len(raw) - 1))
    response = post(webhook, raw)
    assert response["statusCode"] == 413
    assert error_code(response) == "payload_too_large"
    assert sqs.calls == []


def test_a_body_at_the_size_limit_is_accepted(
    webhook: ModuleType, sqs: StubSqs, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = event_bytes("meta/batched.json")
    monkeypatch.setenv("MAX_BODY_BYTES", str(len(raw)))
    assert post(webhook, raw)["statusCode"] == 200


def test_the_size_limit_applies_to_the_decoded_base64_body(
    webhook: ModuleType, sqs: StubSqs, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = event_bytes("meta/batched.json")
    monkeypatch.setenv("MAX_BODY_BYTES", str(len(raw)))
    # The base64 text is a third longer than the limit; the bytes Meta sent are not.
    assert post(webhook, raw, base64_body=True)["statusCode"] == 200


def test_the_default_size_limit_is_one_mebibyte(webhook: ModuleType, sqs: StubSqs) -> None:
    raw = b'{"object":"page","entry":[]}' + b" " * (1_048_576 - 27)
    assert post(webhook, raw)["statusCode"] == 413


# ---------------------------------------------------------------- splitting and enqueueing
def test_a_batch_is_enqueued_as_one_message_per_event_grouped_by_customer(
    webhook: ModuleType, sqs: StubSqs
) -> None:
    response = post(webhook, event_bytes("meta/batched.json"))
    assert json.loads(response["body"]) == {"ok": True, "events": 4}
    assert [e["MessageGroupId"] for e in sqs.entries] == [
        "messenger#112233445566778#7318845612093471",
        "messenger#112233445566778#7318845612093471",
        "messenger#112233445566778#5550001112223334",
        "messenger#998877665544332#4440009998887776",
    ]
    assert len({e["MessageDeduplicationId"] for e in sqs.entries}) == 4


def test_a_body_of_more_than_ten_events_is_sent_in_batches_of_ten(webhook: ModuleType, sqs: StubSqs) -> None:
    doc = json.loads(event_bytes("meta/messenger_text.json"))
    template = doc["entry"][0]["messaging"][0]
    doc["entry"][0]["messaging"] = [
        {**template, "message": {"mid": f"m_{i}", "text": str(i)}, "sender": {"id": f"c{i % 3}"}}
        for i in range(23)
    ]
    response = post(webhook, json.dumps(doc).encode())
    assert json.loads(response["body"])["events"] == 23
    assert [len(c["Entries"]) for c in sqs.calls] == [10, 10, 3]
    assert [e.event_id for e in sqs.accepted()] == [f"m_{i}" for i in range(23)]


def test_statuses_and_an_empty_batch_are_answered_200(webhook: ModuleType, sqs: StubSqs) -> None:
    assert json.loads(post(webhook, event_bytes("meta/whatsapp_statuses.json"))["body"])["events"] == 2
    sqs.calls.clear()
    response = post(webhook, b'{"object":"page","entry":[]}')
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"ok": True, "events": 0}
    assert sqs.calls == []


def test_the_receive_time_is_the_one_clock(webhook: ModuleType, sqs: StubSqs) -> None:
    from datetime import UTC, datetime

    from carehooks import clock

    at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with clock.frozen(at):
        post(webhook, event_bytes("meta/messenger_text.json"))
    assert sqs.accepted()[0].received_at == at


# ---------------------------------------------------------------- SQS failures
def test_an_sqs_error_is_a_503_so_meta_retries(
    webhook: ModuleType, sqs: StubSqs, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sqs.fail = [ConnectionError("endpoint unreachable")]
    response = post(webhook, event_bytes("meta/messenger_text.json"))
    assert response["statusCode"] == 503
    assert error_code(response) == "enqueue_failed"
    assert "unreachable" not in response["body"]
    assert any(r.levelno == logging.ERROR for r in caplog.records)


def test_a_partial_batch_failure_is_retried_and_then_accepted(webhook: ModuleType, sqs: StubSqs) -> None:
    sqs.fail = [(["1", "3"], False)]
    response = post(webhook, event_bytes("meta/batched.json"))
    assert response["statusCode"] == 200
    assert [[e["Id"] for e in c["Entries"]] for c in sqs.calls] == [["0", "1", "2", "3"], ["1", "3"]]


def test_an_entry_sqs_keeps_refusing_is_a_503(webhook: ModuleType, sqs: StubSqs) -> None:
    sqs.fail = [(["2"], False)] * 3
    assert post(webhook, event_bytes("meta/batched.json"))["statusCode"] == 503
    assert len(sqs.calls) == 3


def test_an_entry_sqs_calls_malformed_is_a_503_without_retrying(webhook: ModuleType, sqs: StubSqs) -> None:
    sqs.fail = [(["0"], True)]
    assert post(webhook, event_bytes("meta/messenger_text.json"))["statusCode"] == 503
    assert len(sqs.calls) == 1


def test_a_failure_in_a_later_chunk_is_a_503_even_though_earlier_chunks_were_sent(
    webhook: ModuleType, sqs: StubSqs
) -> None:
    # Meta retries the whole body; the FIFO dedup ids make the re-sent first chunk a no-op.
    doc = json.loads(event_bytes("meta/messenger_text.json"))
    template = doc["entry"][0]["messaging"][0]
    doc["entry"][0]["messaging"] = [
        {**template, "message": {"mid": f"m_{i}", "text": "x"}} for i in range(12)
    ]
    sqs.fail = [([], False), TimeoutError("read timeout")]
    assert post(webhook, json.dumps(doc).encode())["statusCode"] == 503
    assert [len(c["Entries"]) for c in sqs.calls] == [10, 2]


def test_no_queue_configured_is_a_503(
    webhook: ModuleType, sqs: StubSqs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INBOUND_QUEUE_URL", "")
    assert post(webhook, event_bytes("meta/messenger_text.json"))["statusCode"] == 503
    assert sqs.calls == []
