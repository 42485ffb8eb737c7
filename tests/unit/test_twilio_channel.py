"""Twilio: X-Twilio-Signature (platforms.md §7.1 vectors), failure paths, TwiML, SMS vs WhatsApp, statuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest

from carehooks.channels.twilio import signature
from carehooks.channels.twilio.adapter import parse
from carehooks.channels.twilio.ingress import form_pairs, split
from carehooks.channels.twilio.webhook import EMPTY_TWIML
from carehooks.domain.models import Channel, Direction, IgnoredEvent, MessageEvent, StatusEvent
from tests.channel_support import (
    PUBLIC_BASE_URL,
    TELEGRAM_SECRET,
    StubSqs,
    error_code,
    form,
    install_stub_sqs,
    post,
    twilio_signature,
)
from tests.helpers import event_bytes

RECEIVED = datetime(2025, 11, 22, 9, 0, tzinfo=UTC)
FORM_TYPE = "application/x-www-form-urlencoded"


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> StubSqs:
    return install_stub_sqs(monkeypatch)


def post_twilio(
    raw: bytes,
    sig: str | None = "auto",
    content_type: str | None = FORM_TYPE,
    query: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, object]:
    headers: dict[str, str] = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if sig == "auto":
        headers["X-Twilio-Signature"] = twilio_signature(raw)
    elif sig is not None:
        headers["X-Twilio-Signature"] = sig
    return post("twilio_webhook", "/webhooks/twilio", raw, headers, query=query, base64_body=base64_body)


# -- platforms.md §7.1 vectors ---------------------------------------------------------------------
def test_the_official_twilio_vector() -> None:
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature.signature(url, params, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert signature.verify(url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", ["12345"])


def test_the_sms_example_signs_with_its_blank_fields() -> None:
    url = "https://hooks.example.com/webhooks/twilio/sms"
    params = form_pairs(event_bytes("twilio/sms.txt"))
    assert signature.signature(url, params, "12345") == "vO5ojDTkBvapP6+LhoxiD+bP4II="
    without_blanks = [(k, v) for k, v in params if v]
    assert signature.signature(url, without_blanks, "12345") != "vO5ojDTkBvapP6+LhoxiD+bP4II="


def test_an_https_url_is_also_tried_with_its_default_port() -> None:
    params = [("Body", "hi")]
    sig = signature.signature("https://hooks.example.com:443/webhooks/twilio", params, "t")
    assert signature.verify("https://hooks.example.com/webhooks/twilio", params, sig, ["t"])


def test_an_empty_auth_token_never_verifies() -> None:
    params = [("Body", "hi")]
    url = "https://hooks.example.com/webhooks/twilio"
    assert not signature.verify(url, params, signature.signature(url, params, ""), [""])


# -- webhook ---------------------------------------------------------------------------------------
def test_a_signed_sms_is_enqueued_and_answered_with_empty_twiml(sqs: StubSqs) -> None:
    response = post_twilio(event_bytes("twilio/sms.txt"))
    assert response["statusCode"] == 200
    assert response["headers"] == {"Content-Type": "text/xml"}
    assert response["body"] == EMPTY_TWIML == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    (event,) = sqs.events()
    assert event.channel is Channel.SMS
    assert (event.account_id, event.contact_id) == ("+15005550006", "+14155550100")
    assert event.event_id == "SM3f9a1c2b7d8e4f60a1b2c3d4e5f60718"


def test_whatsapp_addresses_are_the_twilio_whatsapp_channel(sqs: StubSqs) -> None:
    assert post_twilio(event_bytes("twilio/whatsapp_text.txt"))["statusCode"] == 200
    (event,) = sqs.events()
    assert event.channel is Channel.TWILIO_WHATSAPP
    assert (event.account_id, event.contact_id) == ("+14155238886", "+16505551234")


def test_the_signature_covers_the_query_string(sqs: StubSqs) -> None:
    raw = event_bytes("twilio/sms.txt")
    url = f"{PUBLIC_BASE_URL}/webhooks/twilio?tenant=acme"
    assert post_twilio(raw, sig=twilio_signature(raw, url=url), query={"tenant": "acme"})["statusCode"] == 200
    assert post_twilio(raw, sig=twilio_signature(raw), query={"tenant": "acme"})["statusCode"] == 401


def test_the_secondary_auth_token_is_accepted(sqs: StubSqs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "primary-token, secondary-token")
    raw = event_bytes("twilio/sms.txt")
    assert post_twilio(raw, sig=twilio_signature(raw, token="secondary-token"))["statusCode"] == 200


@pytest.mark.parametrize(
    ("sig", "why"),
    [
        (None, "missing header"),
        ("", "empty header"),
        ("vO5ojDTkBvapP6+LhoxiD+bP4II=", "a signature for another URL"),
        ("telegram", "signed with another channel's secret"),
    ],
)
def test_unsigned_or_forged_posts_are_401(sqs: StubSqs, sig: str | None, why: str) -> None:
    raw = event_bytes("twilio/sms.txt")
    header = twilio_signature(raw, token=TELEGRAM_SECRET) if sig == "telegram" else sig
    response = post_twilio(raw, sig=header)
    assert response["statusCode"] == 401, why
    assert error_code(response) == "invalid_signature"
    assert sqs.calls == []


def test_a_tampered_body_is_401(sqs: StubSqs) -> None:
    raw = event_bytes("twilio/sms.txt")
    tampered = raw.replace(b"Body=Hello", b"Body=Goodbye")
    assert post_twilio(tampered, sig=twilio_signature(raw))["statusCode"] == 401


@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain"])
def test_other_content_types_are_415(sqs: StubSqs, content_type: str | None) -> None:
    response = post_twilio(event_bytes("twilio/sms.txt"), content_type=content_type)
    assert response["statusCode"] == 415
    assert error_code(response) == "unsupported_media_type"
    assert sqs.calls == []


def test_a_charset_parameter_on_the_content_type_is_fine(sqs: StubSqs) -> None:
    response = post_twilio(event_bytes("twilio/sms.txt"), content_type=FORM_TYPE + "; charset=utf-8")
    assert response["statusCode"] == 200


@pytest.mark.parametrize(("name", "value"), [("TWILIO_AUTH_TOKEN", ""), ("PUBLIC_BASE_URL", "")])
def test_missing_configuration_is_500(
    sqs: StubSqs, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    raw = event_bytes("twilio/sms.txt")
    response = post_twilio(raw, sig=twilio_signature(raw, token=""))
    assert response["statusCode"] == 500
    assert error_code(response) == "not_configured"
    assert sqs.calls == []


@pytest.mark.parametrize("raw", [form(Body="hi", From="+1"), form(MessageSid="SM1", To="+1"), b"a=1&&b"])
def test_signed_malformed_forms_are_400(sqs: StubSqs, raw: bytes) -> None:
    response = post_twilio(raw)
    assert response["statusCode"] == 400
    assert error_code(response) == "malformed_body"
    assert sqs.calls == []


def test_a_body_that_is_not_utf8_is_400_before_any_signature_is_computed(sqs: StubSqs) -> None:
    response = post_twilio(b"\xff\xfe=1", sig="irrelevant", base64_body=True)
    assert response["statusCode"] == 400
    assert sqs.calls == []


def test_a_channel_carehooks_does_not_handle_is_acknowledged_and_dropped(sqs: StubSqs) -> None:
    raw = form(MessageSid="SM1", From="messenger:123", To="messenger:456", Body="hi")
    response = post_twilio(raw)
    assert response["statusCode"] == 200
    assert sqs.calls == []


# -- split and adapter -----------------------------------------------------------------------------
def parsed(path: str) -> MessageEvent | StatusEvent | IgnoredEvent:
    (queued,) = split(event_bytes(path), RECEIVED)
    (event,) = parse(queued)
    return event


def test_an_sms_is_an_inbound_message_at_receipt_time() -> None:
    event = parsed("twilio/sms.txt")
    assert isinstance(event, MessageEvent)
    assert event.direction is Direction.IN
    assert event.platform_message_id == "SM3f9a1c2b7d8e4f60a1b2c3d4e5f60718"
    assert event.text == "Hello, my order has not arrived"
    assert event.sent_at == RECEIVED


def test_a_whatsapp_media_message_keeps_its_media_and_profile_name() -> None:
    event = parsed("twilio/whatsapp_media.txt")
    assert isinstance(event, MessageEvent)
    assert event.contact_name == "Sheena Nelson"
    assert event.attachments[0].mime_type == "image/jpeg"
    assert event.attachments[0].url is not None


def test_a_whatsapp_button_reply_carries_its_payload() -> None:
    event = parsed("twilio/whatsapp_button.txt")
    assert isinstance(event, MessageEvent)
    assert (event.kind, event.reply_payload, event.text) == ("button", "csat:5", "Excellent")


def test_a_status_callback_is_a_status_of_the_sent_message() -> None:
    (queued,) = split(event_bytes("twilio/status_delivered.txt"), RECEIVED)
    assert (queued.account_id, queued.contact_id) == ("+15005550006", "+14155550100")
    assert queued.event_id == "SM7c0e1d2f3a4b5c6d7e8f9a0b1c2d3e4f:delivered"
    (event,) = parse(queued)
    assert isinstance(event, StatusEvent)
    assert (event.status, event.platform_message_id) == ("delivered", "SM7c0e1d2f3a4b5c6d7e8f9a0b1c2d3e4f")


def test_an_undelivered_status_is_failed_with_a_readable_reason() -> None:
    event = parsed("twilio/status_undelivered.txt")
    assert isinstance(event, StatusEvent)
    assert event.status == "failed"
    assert event.error_code == "63016"
    assert event.error_title is not None
    assert "24-hour window" in event.error_title
    assert event.error_title != "63016"


def test_intermediate_statuses_are_ignored() -> None:
    raw = form(MessageSid="SM1", MessageStatus="queued", From="+15005550006", To="+14155550100")
    (queued,) = split(raw, RECEIVED)
    (event,) = parse(queued)
    assert isinstance(event, IgnoredEvent)


def test_a_message_from_the_business_number_to_itself_is_ignored() -> None:
    raw = form(MessageSid="SM1", From="+15005550006", To="+15005550006", Body="loop")
    (queued,) = split(raw, RECEIVED)
    (event,) = parse(queued)
    assert isinstance(event, IgnoredEvent)
    assert event.kind == "own_number"


def test_the_sms_fixture_parses_as_twilio_sends_it() -> None:
    fields = dict(parse_qsl(event_bytes("twilio/sms.txt").decode(), keep_blank_values=True))
    assert fields["ToCity"] == ""
    assert json.dumps(fields)
