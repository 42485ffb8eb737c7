"""X, Telegram and Twilio webhooks → queue → processor → table, under moto.

For each channel: a real-format event in → one stored message; the same event again → nothing new;
a forged one → 401 and nothing queued or stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.channel_support import (
    TELEGRAM_SECRET,
    configure_channels,
    platform_stubs,
    point_platforms_at_stubs,
    post,
    twilio_signature,
    x_signature,
)
from tests.helpers import FakeContext, event_bytes, load_handler
from tests.integration.conftest import Aws


@dataclass(frozen=True)
class Case:
    name: str
    function: str
    path: str
    fixture: str
    headers: Callable[[bytes], dict[str, str]]
    forged: Callable[[bytes], dict[str, str]]
    text: str
    channel: str


def _x(raw: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "x-twitter-webhooks-signature": x_signature(raw)}


def _telegram(raw: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


def _twilio(raw: bytes) -> dict[str, str]:
    return {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": twilio_signature(raw)}


CASES = [
    Case(
        "x-dm",
        "x_webhook",
        "/webhooks/x",
        "x/direct_message.json",
        _x,
        lambda raw: {**_x(raw), "x-twitter-webhooks-signature": x_signature(raw, "forged")},
        "Hello World & good wishes. Where is order #4411?",
        "x",
    ),
    Case(
        "x-mention",
        "x_webhook",
        "/webhooks/x",
        "x/mention.json",
        _x,
        lambda raw: {"Content-Type": "application/json"},
        "@XDevelopers my order #4411 has not arrived yet",
        "x",
    ),
    Case(
        "telegram",
        "telegram_webhook",
        "/webhooks/telegram",
        "telegram/message.json",
        _telegram,
        lambda raw: {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "guess"},
        "Hi, my order #4411 has not arrived",
        "telegram",
    ),
    Case(
        "sms",
        "twilio_webhook",
        "/webhooks/twilio",
        "twilio/sms.txt",
        _twilio,
        lambda raw: {**_twilio(raw), "X-Twilio-Signature": twilio_signature(raw, token="forged")},
        "Hello, my order has not arrived",
        "sms",
    ),
    Case(
        "twilio-whatsapp",
        "twilio_webhook",
        "/webhooks/twilio",
        "twilio/whatsapp_text.txt",
        _twilio,
        lambda raw: {"Content-Type": "application/x-www-form-urlencoded"},
        "Does it come in another color?",
        "twilio_whatsapp",
    ),
]


@pytest.fixture
def channels(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    configure_channels(monkeypatch)
    point_platforms_at_stubs(monkeypatch)
    with platform_stubs():  # the acknowledgements the rules send
        yield aws


def inbound(aws: Aws) -> list[dict[str, Any]]:
    return [m for m in aws.items("MSG#") if m["direction"]["S"] == "in"]


def process(aws: Aws) -> dict[str, Any]:
    result: dict[str, Any] = load_handler("inbound_processor").handler(
        {"Records": aws.drain()}, FakeContext()
    )
    return result


def snapshot(aws: Aws) -> list[str]:
    return sorted(json.dumps(i, sort_keys=True, default=bytes.hex) for i in aws.items())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_real_event_becomes_one_stored_message(channels: Aws, case: Case) -> None:
    raw = event_bytes(case.fixture)
    response = post(case.function, case.path, raw, case.headers(raw))
    assert response["statusCode"] == 200
    assert process(channels) == {"batchItemFailures": []}
    (message,) = inbound(channels)
    (conversation,) = channels.items("CONV#")
    assert message["text"]["S"] == case.text
    assert conversation["channel"]["S"] == case.channel


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_redelivery_stores_nothing_new(channels: Aws, case: Case) -> None:
    raw = event_bytes(case.fixture)
    post(case.function, case.path, raw, case.headers(raw))
    process(channels)
    before = snapshot(channels)
    assert post(case.function, case.path, raw, case.headers(raw))["statusCode"] == 200
    assert process(channels) == {"batchItemFailures": []}
    assert snapshot(channels) == before


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_forged_event_is_rejected_and_nothing_is_stored(channels: Aws, case: Case) -> None:
    raw = event_bytes(case.fixture)
    response = post(case.function, case.path, raw, case.forged(raw))
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"]["code"] == "invalid_signature"
    assert channels.drain() == []
    assert channels.items() == []


def test_an_x_dm_and_its_echo_share_one_conversation(channels: Aws) -> None:
    for fixture in ("x/direct_message.json", "x/direct_message_echo.json"):
        raw = event_bytes(fixture)
        post("x_webhook", "/webhooks/x", raw, _x(raw))
    process(channels)
    echo = [m for m in channels.items("MSG#") if m["sk"]["S"] == "MSG#958501256728776708"]
    assert [m["direction"]["S"] for m in echo] == ["out"]
    assert len(inbound(channels)) == 1
    assert len(channels.items("CONV#")) == 1


def test_telegram_message_edit_and_button_tap_are_three_messages_of_one_chat(channels: Aws) -> None:
    for fixture in ("telegram/message.json", "telegram/edited_message.json", "telegram/callback_query.json"):
        raw = event_bytes(fixture)
        assert post("telegram_webhook", "/webhooks/telegram", raw, _telegram(raw))["statusCode"] == 200
    assert process(channels) == {"batchItemFailures": []}
    kinds = sorted(m["kind"]["S"] for m in inbound(channels))
    assert kinds == ["button", "edit", "text"]
    assert len(channels.items("CONV#")) == 1


def test_a_telegram_update_from_a_bot_stores_nothing(channels: Aws) -> None:
    raw = event_bytes("telegram/from_bot.json")
    assert post("telegram_webhook", "/webhooks/telegram", raw, _telegram(raw))["statusCode"] == 200
    assert process(channels) == {"batchItemFailures": []}
    assert channels.items() == []


def test_a_twilio_status_callback_is_never_a_customer_message(channels: Aws) -> None:
    raw = event_bytes("twilio/status_delivered.txt")
    assert post("twilio_webhook", "/webhooks/twilio", raw, _twilio(raw))["statusCode"] == 200
    assert process(channels) == {"batchItemFailures": []}
    assert channels.items("MSG#") == []
    assert channels.items("CONV#") == []
