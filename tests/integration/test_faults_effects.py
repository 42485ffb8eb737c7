"""Focused fault cases behind the fault run: ambiguous sends are never repeated, dangling claims never block.

A Telegram message goes through the real webhook and InboundProcessorFunction; the platform's send API
is stubbed (``tests.faults.platform_stubs`` with no random faults) and answers as each test says.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from carehooks.store import DynamoStore, Store
from carehooks.wiring.store import get_store
from tests.channel_support import (
    TELEGRAM_API_URL,
    TELEGRAM_SECRET,
    configure_channels,
    point_platforms_at_stubs,
    post,
)
from tests.faults import client_error
from tests.helpers import FakeContext, event_bytes, load_handler
from tests.integration.conftest import Aws

SEND = f"{TELEGRAM_API_URL}/bot123456789:AAE-test-bot-token/sendMessage"


@pytest.fixture
def telegram(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[responses.RequestsMock]:
    configure_channels(monkeypatch)
    point_platforms_at_stubs(monkeypatch)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def ok(n: int) -> dict[str, Any]:
    return {"ok": True, "result": {"message_id": n, "chat": {"id": 1111111}}}


def customer_writes(aws: Aws) -> list[dict[str, Any]]:
    """The Telegram sample message, posted and left on the queue; its Lambda records."""
    raw = event_bytes("telegram/message.json")
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    assert post("telegram_webhook", "/webhooks/telegram", raw, headers)["statusCode"] == 200
    return aws.drain()


def process(records: list[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = load_handler("inbound_processor").handler({"Records": records}, FakeContext())
    return result


def fails(records: list[dict[str, Any]]) -> None:
    """The record fails (Lambda reports the whole one-record batch as failed, so SQS retries it)."""
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    with pytest.raises(BatchProcessingError):
        process(records)


def ack_decision(store: Store) -> dict[str, Any]:
    message = store.get_message("telegram", "123456789", "1111111", "1111111:1365")
    assert message is not None
    return dict(message.extra["rules"]["ack"])


def test_an_acknowledgement_whose_answer_timed_out_is_recorded_unknown_and_never_sent_again(
    aws: Aws, telegram: responses.RequestsMock
) -> None:
    # Given the platform accepts the acknowledgement but its answer never arrives (read timeout)
    telegram.post(SEND, body=requests.ReadTimeout("injected"))
    telegram.post(SEND, json=ok(2))
    records = customer_writes(aws)
    # When the record is processed, and processed again (a redelivery)
    assert process(records) == {"batchItemFailures": []}
    assert process(records) == {"batchItemFailures": []}
    # Then the platform was asked once, and the outcome says it is unknown
    assert len(telegram.calls) == 1
    decision = ack_decision(get_store())
    assert decision["status"] == "unknown"
    assert "may or may not have been sent" in decision["reason"]


def test_an_acknowledgement_that_failed_before_it_was_sent_is_sent_on_the_retry(
    aws: Aws, telegram: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the conversation is claimed, then DynamoDB throttles the customer's cooldown claim once
    throttled: list[str] = []
    original = DynamoStore.claim

    def claim(self: Store, kind: str, scope: str, *args: Any, **kwargs: Any) -> bool:
        if kind == "ack-contact" and not throttled:
            throttled.append(scope)
            raise client_error("ProvisionedThroughputExceededException", "PutItem")
        return original(self, kind, scope, *args, **kwargs)

    monkeypatch.setattr(DynamoStore, "claim", claim)
    telegram.post(SEND, json=ok(1))
    records = customer_writes(aws)
    # When the record fails, and SQS delivers it again
    fails(records)
    assert process(records) == {"batchItemFailures": []}
    # Then the conversation's claim, left behind by the failed attempt, did not block it: sent once
    assert throttled
    assert len(telegram.calls) == 1
    assert ack_decision(get_store())["status"] == "sent"


def test_a_release_that_could_not_be_written_does_not_lock_the_acknowledgement_out(
    aws: Aws, telegram: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the platform rate-limits once (for longer than a request may wait), and giving the claims back fails every time on that attempt
    failing = [True]
    original = DynamoStore.release_claim

    def release_claim(self: Store, kind: str, scope: str) -> None:
        if failing[0]:
            raise client_error("ThrottlingException", "DeleteItem")
        original(self, kind, scope)

    monkeypatch.setattr(DynamoStore, "release_claim", release_claim)
    too_many = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 60"}
    telegram.post(SEND, status=429, json=too_many, headers={"Retry-After": "60"})
    telegram.post(SEND, json=ok(2))
    records = customer_writes(aws)
    fails(records)
    failing[0] = False
    # When SQS delivers the record again
    assert process(records) == {"batchItemFailures": []}
    # Then the acknowledgement goes out: two requests, one of them accepted
    assert [c.response.status_code for c in telegram.calls] == [429, 200]  # type: ignore[union-attr]
    assert ack_decision(get_store())["status"] == "sent"
    assert json.loads(telegram.calls[1].request.body or b"{}")["chat_id"] == 1111111
