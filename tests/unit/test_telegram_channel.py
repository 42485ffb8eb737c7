"""Telegram: secret-token check, failure paths, splitting, and the adapter (message, edit, button, bots)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from carehooks.channels.telegram.adapter import parse
from carehooks.channels.telegram.client import RedactBotTokens
from carehooks.channels.telegram.ingress import split
from carehooks.domain.models import Channel, Direction, IgnoredEvent, MessageEvent
from carehooks.outbound import http
from tests.channel_support import TELEGRAM_SECRET, X_SECRET, StubSqs, error_code, install_stub_sqs, post
from tests.helpers import event_bytes, event_json

RECEIVED = datetime(2015, 9, 7, 17, 7, tzinfo=UTC)
BOT = "123456789"


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> StubSqs:
    return install_stub_sqs(monkeypatch)


def post_telegram(
    raw: bytes, token: str | None = TELEGRAM_SECRET, content_type: str = "application/json"
) -> dict[str, object]:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = token
    return post("telegram_webhook", "/webhooks/telegram", raw, headers)


def parsed(path: str) -> MessageEvent | IgnoredEvent:
    (queued,) = split(event_bytes(path), BOT, RECEIVED)
    (event,) = parse(queued)
    assert isinstance(event, MessageEvent | IgnoredEvent)
    return event


# -- webhook ---------------------------------------------------------------------------------------
def test_an_update_with_the_secret_token_is_enqueued_under_bot_id_and_update_id(sqs: StubSqs) -> None:
    response = post_telegram(event_bytes("telegram/message.json"))
    assert response["statusCode"] == 200
    (event,) = sqs.events()
    assert event.channel is Channel.TELEGRAM
    assert (event.account_id, event.contact_id, event.event_id) == (BOT, "1111111", f"{BOT}#10000")


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (None, "missing header"),
        ("", "empty header"),
        ("tg_wrong", "wrong token"),
        (X_SECRET, "another channel's secret"),
    ],
)
def test_a_missing_or_wrong_secret_token_is_401(sqs: StubSqs, token: str | None, why: str) -> None:
    response = post_telegram(event_bytes("telegram/message.json"), token=token)
    assert response["statusCode"] == 401, why
    assert error_code(response) == "invalid_signature"
    assert sqs.calls == []


@pytest.mark.parametrize("configured", ["", None])
def test_no_secret_token_configured_is_500_even_with_an_empty_header(
    sqs: StubSqs, monkeypatch: pytest.MonkeyPatch, configured: str | None
) -> None:
    if configured is None:
        monkeypatch.delenv("TELEGRAM_SECRET_TOKEN")
    else:
        monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", configured)
    response = post_telegram(event_bytes("telegram/message.json"), token="")
    assert response["statusCode"] == 500
    assert sqs.calls == []


def test_either_of_two_live_secret_tokens_is_accepted(sqs: StubSqs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", f"tg_new_token,{TELEGRAM_SECRET}")
    assert post_telegram(event_bytes("telegram/message.json"))["statusCode"] == 200


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[]",
        b'{"message": {}}',
        b'{"update_id": "10000"}',
        b'{"update_id": 1, "message": {"message_id": 1}}',
    ],
)
def test_malformed_updates_are_400(sqs: StubSqs, raw: bytes) -> None:
    response = post_telegram(raw)
    assert response["statusCode"] == 400
    assert error_code(response) == "malformed_body"
    assert sqs.calls == []


def test_a_body_declared_as_something_other_than_json_is_415(sqs: StubSqs) -> None:
    response = post_telegram(event_bytes("telegram/message.json"), content_type="text/plain")
    assert response["statusCode"] == 415
    assert error_code(response) == "unsupported_media_type"
    assert sqs.calls == []


def test_updates_that_are_not_customer_events_are_acknowledged_and_dropped(sqs: StubSqs) -> None:
    response = post_telegram(event_bytes("telegram/my_chat_member.json"))
    assert response["statusCode"] == 200
    assert json.loads(str(response["body"]))["events"] == 0
    assert sqs.calls == []


def test_a_button_tap_is_answered_in_the_webhook_response(sqs: StubSqs) -> None:
    response = post_telegram(event_bytes("telegram/callback_query.json"))
    assert response["statusCode"] == 200
    assert json.loads(str(response["body"])) == {
        "method": "answerCallbackQuery",
        "callback_query_id": "4382bfdwdsb323b2d9",
    }
    # The next, ordinary update is not answered with that callback again.
    answer = json.loads(str(post_telegram(event_bytes("telegram/message.json"))["body"]))
    assert answer == {"ok": True, "events": 1}


def test_a_get_is_refused(sqs: StubSqs) -> None:
    response = post("telegram_webhook", "/webhooks/telegram", b"", {}, method="GET")
    assert response["statusCode"] == 405


def test_bot_id_falls_back_to_a_secret_token_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    from carehooks.channels.telegram.webhook import bot_id

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", TELEGRAM_SECRET)
    assert bot_id().startswith("st-")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "987:abc")
    assert bot_id() == "987"


# -- adapter ---------------------------------------------------------------------------------------
def test_a_message_is_inbound_with_chat_scoped_id_and_platform_time() -> None:
    event = parsed("telegram/message.json")
    assert isinstance(event, MessageEvent)
    assert event.direction is Direction.IN
    assert event.platform_message_id == "1111111:1365"
    assert event.sent_at == datetime.fromtimestamp(1441645532, tz=UTC)
    assert event.contact_name == "Test Test Lastname"
    assert event.text == "Hi, my order #4411 has not arrived"


def test_an_edit_is_its_own_message_pointing_at_the_original() -> None:
    event = parsed("telegram/edited_message.json")
    assert isinstance(event, MessageEvent)
    assert event.platform_message_id == "1111111:1365:edit:1441645590"
    assert (event.kind, event.reply_to) == ("edit", "1111111:1365")
    assert event.sent_at == datetime.fromtimestamp(1441645590, tz=UTC)


def test_a_button_tap_is_a_reply_with_its_callback_data() -> None:
    event = parsed("telegram/callback_query.json")
    assert isinstance(event, MessageEvent)
    assert event.platform_message_id == "cb:4382bfdwdsb323b2d9"
    assert (event.kind, event.reply_payload) == ("button", "csat:5")
    assert event.reply_to == "1111111:1366"
    assert event.sent_at == RECEIVED


def test_a_photo_keeps_its_largest_size_and_caption() -> None:
    event = parsed("telegram/photo.json")
    assert isinstance(event, MessageEvent)
    assert event.kind == "photo"
    assert event.attachments[0].media_id == "AgACAgQAAxkBAAIBQ2Large"
    assert event.text == "The parcel arrived damaged"


def test_updates_from_bots_are_ignored() -> None:
    event = parsed("telegram/from_bot.json")
    assert isinstance(event, IgnoredEvent)
    assert event.kind == "from_bot"


def test_a_redelivered_update_has_the_same_ids() -> None:
    raw = event_bytes("telegram/message.json")
    first, second = split(raw, BOT, RECEIVED)[0], split(raw, BOT, RECEIVED.replace(hour=18))[0]
    assert first.event_id == second.event_id
    assert parse(first)[0] == parse(second)[0]


def test_a_callback_without_chat_uses_the_users_private_chat() -> None:
    body = event_json("telegram/callback_query.json")
    del body["callback_query"]["message"]
    (queued,) = split(json.dumps(body).encode(), BOT, RECEIVED)
    assert queued.contact_id == "1111111"


def test_bot_tokens_in_urllib3_retry_logs_are_redacted() -> None:
    import logging

    record = logging.LogRecord(
        "urllib3.connectionpool",
        logging.WARNING,
        __file__,
        1,
        "Retrying (%r) after connection broken by '%r': %s",
        ("Retry(total=2)", "NameResolutionError()", "/bot123456789:AAE-secret_token/sendMessage"),
        None,
    )
    assert RedactBotTokens().filter(record)
    assert "AAE-secret_token" not in record.getMessage()
    assert "/bot<redacted>/sendMessage" in record.getMessage()
    # The Telegram client installs it on urllib3's URL loggers when it is imported.
    for name in http.URL_LOGGERS:
        assert any(isinstance(f, RedactBotTokens) for f in logging.getLogger(name).filters)
