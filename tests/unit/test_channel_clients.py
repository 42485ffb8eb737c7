"""Outbound clients against recorded platform answers (`responses`): request shape, error classes, retries."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import pytest
import responses

from carehooks.channels.instagram.client import InstagramClient
from carehooks.channels.messenger.client import MessengerClient
from carehooks.channels.telegram.client import TelegramClient
from carehooks.channels.twilio.client import TwilioClient
from carehooks.channels.whatsapp.client import WhatsAppClient
from carehooks.channels.x.client import XClient
from carehooks.domain.models import Channel, Conversation
from carehooks.outbound import http
from carehooks.outbound.client import SendPlan
from carehooks.outbound.models import (
    AuthConfigError,
    Choice,
    OutboundMessage,
    OutcomeUnknownError,
    OutsideWindowError,
    PermanentError,
    RateLimitedError,
    RecipientUnreachableError,
    SendError,
    TemplateRef,
    TransientError,
)

GRAPH = "https://graph.test/v25.0"
X_API = "https://x.test"
TELEGRAM = "https://telegram.test"
TWILIO = "https://twilio.test"
SID = "AC7d2e5f8a9b0c1d2e3f4a5b6c7d8e9f01"
NOW = datetime(2025, 11, 22, 12, 0, tzinfo=UTC)

TEXT = OutboundMessage(text="Thanks, an agent will reply shortly.", kind="ack", origin_tag="ack:conv-1")
CHOICES = (Choice("csat:5", "Excellent"), Choice("csat:3", "Okay"), Choice("csat:1", "Poor"))
SURVEY = OutboundMessage(
    text="How did we do today?", kind="survey", origin_tag="survey:conv-1", choices=CHOICES
)
TEMPLATE = OutboundMessage(
    text="How did we do?", kind="survey", template=TemplateRef(name="csat_survey", parameters=("Sheena",))
)


@pytest.fixture(autouse=True)
def configured(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    for name, value in {
        "META_GRAPH_URL": GRAPH,
        "X_API_URL": X_API,
        "TELEGRAM_API_URL": TELEGRAM,
        "TWILIO_API_URL": TWILIO,
        "META_ACCESS_TOKEN": "meta-token",
        "X_ACCESS_TOKEN": "x-token",
        "TELEGRAM_BOT_TOKEN": "123456789:bot-token",
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": "twilio-token",
        "PUBLIC_BASE_URL": "https://hooks.example.com",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CAREHOOKS_SECRET_ID", raising=False)
    waits: list[float] = []
    monkeypatch.setattr(http, "_sleep", waits.append)
    return waits


def conv(
    channel: Channel, account: str = "112233445566778", contact: str = "7318845612093471"
) -> Conversation:
    return Conversation(id="conv-1", channel=channel, account_id=account, contact_id=contact, created_at=NOW)


def sent_json(index: int = -1) -> Any:
    return json.loads(responses.calls[index].request.body or b"{}")


def meta_error(code: int, subcode: int | None = None, message: str = "(#x) error") -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Ax"}
    if subcode:
        error["error_subcode"] = subcode
    return {"error": error}


# -- Messenger / Instagram -------------------------------------------------------------------------
@responses.activate
def test_messenger_sends_a_response_with_metadata_and_a_bearer_token() -> None:
    responses.post(
        f"{GRAPH}/112233445566778/messages", json={"recipient_id": "7318845612093471", "message_id": "mid.1"}
    )
    result = MessengerClient().send(conv(Channel.MESSENGER), TEXT)
    assert (result.status, result.platform_message_id) == ("sent", "mid.1")
    assert sent_json() == {
        "recipient": {"id": "7318845612093471"},
        "messaging_type": "RESPONSE",
        "message": {"text": TEXT.text, "metadata": "ack:conv-1"},
    }
    assert responses.calls[0].request.headers["Authorization"] == "Bearer meta-token"
    assert "access_token" not in (responses.calls[0].request.url or "")


@responses.activate
def test_messenger_human_agent_reply_is_tagged() -> None:
    responses.post(f"{GRAPH}/112233445566778/messages", json={"message_id": "mid.2"})
    MessengerClient().send(conv(Channel.MESSENGER), TEXT, SendPlan(mode="human_agent"))
    body = sent_json()
    assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


@responses.activate
def test_messenger_choices_are_quick_replies_and_long_text_is_cut() -> None:
    responses.post(f"{GRAPH}/112233445566778/messages", json={"message_id": "mid.3"})
    long = OutboundMessage(
        text="word " * 500, kind="survey", choices=(Choice("csat:5", "Excellent service, thanks!"),)
    )
    result = MessengerClient().send(conv(Channel.MESSENGER), long)
    message = sent_json()["message"]
    assert len(message["text"]) <= 2000
    assert result.details["text_truncated"] == "true"
    assert message["quick_replies"] == [
        {"content_type": "text", "title": "Excellent service,…", "payload": "csat:5"}
    ]


@responses.activate
def test_a_per_page_token_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("META_ACCESS_TOKEN_112233445566778", "page-token")
    responses.post(f"{GRAPH}/112233445566778/messages", json={"message_id": "mid.4"})
    MessengerClient().send(conv(Channel.MESSENGER), TEXT)
    assert responses.calls[0].request.headers["Authorization"] == "Bearer page-token"


@responses.activate
def test_no_meta_token_is_an_auth_config_error_without_a_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("META_ACCESS_TOKEN", "")
    with pytest.raises(AuthConfigError, match="META_ACCESS_TOKEN"):
        MessengerClient().send(conv(Channel.MESSENGER), TEXT)
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("code", "subcode", "expected", "words"),
    [
        (10, 2018278, OutsideWindowError, "24-hour messaging window"),
        (190, None, AuthConfigError, "token is invalid or expired"),
        (551, None, RecipientUnreachableError, "not available"),
        (4, None, RateLimitedError, "rate limit"),
        (613, None, RateLimitedError, "rate limit"),
        (2, None, TransientError, "temporarily unavailable"),
        (100, None, PermanentError, "rejected a parameter"),
        (10, None, AuthConfigError, "permission"),
    ],
)
@responses.activate
def test_messenger_errors_are_classified_once_and_never_retried(
    code: int, subcode: int | None, expected: type[SendError], words: str
) -> None:
    responses.post(f"{GRAPH}/112233445566778/messages", status=400, json=meta_error(code, subcode))
    with pytest.raises(expected) as caught:
        MessengerClient().send(conv(Channel.MESSENGER), TEXT)
    assert words in caught.value.reason
    assert f"Meta error {code}" in caught.value.reason
    assert caught.value.retryable is expected.retryable
    assert len(responses.calls) == 1


@responses.activate
def test_a_meta_send_answered_with_a_5xx_is_an_unknown_outcome_sent_once() -> None:
    # Given Meta failing after it received the send (it may have delivered it)
    responses.post(f"{GRAPH}/112233445566778/messages", status=500, json=meta_error(1))
    responses.post(f"{GRAPH}/112233445566778/messages", json={"message_id": "mid.5"})
    # When the client sends, Then it is not sent again: the outcome is unknown, and not retryable
    with pytest.raises(OutcomeUnknownError, match="may or may not have been sent") as raised:
        MessengerClient().send(conv(Channel.MESSENGER), TEXT)
    assert raised.value.retryable is False
    assert len(responses.calls) == 1


@responses.activate
def test_a_meta_send_refused_with_429_is_retried_then_succeeds() -> None:
    responses.post(f"{GRAPH}/112233445566778/messages", status=429, json=meta_error(4))
    responses.post(f"{GRAPH}/112233445566778/messages", json={"message_id": "mid.5"})
    assert MessengerClient().send(conv(Channel.MESSENGER), TEXT).platform_message_id == "mid.5"
    assert len(responses.calls) == 2


@responses.activate
def test_hiding_a_comment_is_safe_to_repeat_so_a_5xx_is_retried() -> None:
    responses.post(f"{GRAPH}/1234_5678", status=502)
    responses.post(f"{GRAPH}/1234_5678", json={"success": True})
    MessengerClient().hide("112233445566778", "1234_5678")
    assert len(responses.calls) == 2


@responses.activate
def test_instagram_sends_on_me_messages_and_knows_its_window_subcode() -> None:
    responses.post(f"{GRAPH}/me/messages", json={"message_id": "aWdf1"})
    ig = conv(Channel.INSTAGRAM, account="17841405822304914", contact="6021459874123365")
    assert InstagramClient().send(ig, TEXT).platform_message_id == "aWdf1"
    responses.post(f"{GRAPH}/me/messages", status=400, json=meta_error(10, 2534022))
    with pytest.raises(OutsideWindowError, match="Instagram"):
        InstagramClient().send(ig, TEXT)


# -- WhatsApp --------------------------------------------------------------------------------------
WA = "106540352242922"


def wa_conv() -> Conversation:
    return conv(Channel.WHATSAPP, account=WA, contact="16505551234")


def wa_ok(wamid: str = "wamid.HBgL1") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "contacts": [{"input": "16505551234", "wa_id": "16505551234"}],
        "messages": [{"id": wamid}],
    }


@responses.activate
def test_whatsapp_text_with_callback_data() -> None:
    responses.post(f"{GRAPH}/{WA}/messages", json=wa_ok())
    result = WhatsAppClient().send(wa_conv(), TEXT)
    assert result.platform_message_id == "wamid.HBgL1"
    assert sent_json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "16505551234",
        "type": "text",
        "text": {"preview_url": False, "body": TEXT.text},
        "biz_opaque_callback_data": "ack:conv-1",
    }


@responses.activate
def test_whatsapp_up_to_three_choices_are_reply_buttons() -> None:
    responses.post(f"{GRAPH}/{WA}/messages", json=wa_ok())
    WhatsAppClient().send(wa_conv(), SURVEY)
    interactive = sent_json()["interactive"]
    assert interactive["type"] == "button"
    assert [b["reply"] for b in interactive["action"]["buttons"]] == [
        {"id": "csat:5", "title": "Excellent"},
        {"id": "csat:3", "title": "Okay"},
        {"id": "csat:1", "title": "Poor"},
    ]


@responses.activate
def test_whatsapp_more_choices_are_a_list() -> None:
    responses.post(f"{GRAPH}/{WA}/messages", json=wa_ok())
    five = OutboundMessage(
        text="Rate us", kind="survey", choices=tuple(Choice(f"csat:{i}", str(i)) for i in range(1, 6))
    )
    WhatsAppClient().send(wa_conv(), five)
    interactive = sent_json()["interactive"]
    assert interactive["type"] == "list"
    assert len(interactive["action"]["sections"][0]["rows"]) == 5


@responses.activate
def test_whatsapp_template_outside_the_window() -> None:
    responses.post(f"{GRAPH}/{WA}/messages", json=wa_ok("wamid.T"))
    result = WhatsAppClient().send(wa_conv(), TEMPLATE, SendPlan(mode="template"))
    body = sent_json()
    assert body["type"] == "template"
    assert body["template"] == {
        "name": "csat_survey",
        "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Sheena"}]}],
    }
    assert result.details["template"] == "csat_survey"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (131047, OutsideWindowError),
        (131026, RecipientUnreachableError),
        (131050, RecipientUnreachableError),
        (131049, PermanentError),
        (132000, PermanentError),
        (130429, RateLimitedError),
        (131048, RateLimitedError),
        (80007, RateLimitedError),
    ],
)
@responses.activate
def test_whatsapp_errors_are_classified(code: int, expected: type[SendError]) -> None:
    responses.post(f"{GRAPH}/{WA}/messages", status=400, json=meta_error(code))
    with pytest.raises(expected) as caught:
        WhatsAppClient().send(wa_conv(), TEXT)
    assert caught.value.reason != str(code)
    assert caught.value.platform_code == str(code)


# -- X ---------------------------------------------------------------------------------------------
def x_conv() -> Conversation:
    return conv(Channel.X, account="2244994945", contact="272953809")


@responses.activate
def test_x_direct_message_with_choices_as_lines() -> None:
    responses.post(
        f"{X_API}/2/dm_conversations/with/272953809/messages",
        status=201,
        json={"data": {"dm_conversation_id": "2244994945-272953809", "dm_event_id": "1582838223561084932"}},
    )
    result = XClient().send(x_conv(), SURVEY)
    assert result.platform_message_id == "1582838223561084932"
    assert sent_json() == {"text": "How did we do today?\n\n1. Excellent\n2. Okay\n3. Poor"}
    assert responses.calls[0].request.headers["Authorization"] == "Bearer x-token"


@responses.activate
def test_x_public_reply_is_a_post_in_reply_cut_to_280() -> None:
    responses.post(f"{X_API}/2/tweets", status=201, json={"data": {"id": "1800168547637768237", "text": "…"}})
    long = OutboundMessage(text="We are on it. " * 40, kind="rule_reply")
    result = XClient().send(x_conv(), long, SendPlan(public_reply_to="1800166866023854157"))
    body = sent_json()
    assert body["reply"] == {"in_reply_to_tweet_id": "1800166866023854157"}
    assert len(body["text"]) <= 280
    assert result.details["text_truncated"] == "true"
    assert result.platform_message_id == "1800168547637768237"


@responses.activate
def test_x_dm_refused_by_the_customer_is_unreachable() -> None:
    responses.post(
        f"{X_API}/2/dm_conversations/with/272953809/messages",
        status=403,
        json={
            "title": "Forbidden",
            "detail": "You cannot send messages to this user.",
            "type": "about:blank",
            "status": 403,
        },
    )
    with pytest.raises(RecipientUnreachableError, match="does not accept direct messages"):
        XClient().send(x_conv(), TEXT)


@responses.activate
def test_x_rate_limit_reports_when_to_try_again() -> None:
    import time

    responses.post(
        f"{X_API}/2/dm_conversations/with/272953809/messages",
        status=429,
        headers={"x-rate-limit-reset": str(int(time.time()) + 600)},
        json={"title": "Too Many Requests", "status": 429},
    )
    with pytest.raises(RateLimitedError) as caught:
        XClient().send(x_conv(), TEXT)
    assert caught.value.retry_after is not None
    assert 590 <= caught.value.retry_after <= 600


@responses.activate
def test_x_revoked_token_is_auth_config() -> None:
    responses.post(
        f"{X_API}/2/dm_conversations/with/272953809/messages", status=401, json={"title": "Unauthorized"}
    )
    with pytest.raises(AuthConfigError):
        XClient().send(x_conv(), TEXT)
    assert len(responses.calls) == 1


# -- Telegram --------------------------------------------------------------------------------------
def tg_conv() -> Conversation:
    return conv(Channel.TELEGRAM, account="123456789", contact="1111111")


TG_SEND = f"{TELEGRAM}/bot123456789:bot-token/sendMessage"


@responses.activate
def test_telegram_send_with_inline_keyboard_and_reply() -> None:
    responses.post(
        TG_SEND,
        json={"ok": True, "result": {"message_id": 1370, "chat": {"id": 1111111}, "date": 1, "text": "x"}},
    )
    message = OutboundMessage(text="How did we do?", kind="survey", choices=CHOICES, reply_to="1111111:1365")
    result = TelegramClient().send(tg_conv(), message)
    assert result.platform_message_id == "1111111:1370"
    assert sent_json() == {
        "chat_id": 1111111,
        "text": "How did we do?",
        "reply_markup": {
            "inline_keyboard": [
                [
                    {"text": "Excellent", "callback_data": "csat:5"},
                    {"text": "Okay", "callback_data": "csat:3"},
                    {"text": "Poor", "callback_data": "csat:1"},
                ]
            ]
        },
        "reply_parameters": {"message_id": 1365, "allow_sending_without_reply": True},
    }


@responses.activate
def test_telegram_blocked_bot_is_unreachable_and_not_retried() -> None:
    responses.post(
        TG_SEND,
        status=403,
        json={"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )
    with pytest.raises(RecipientUnreachableError, match="blocked"):
        TelegramClient().send(tg_conv(), TEXT)
    assert len(responses.calls) == 1


@responses.activate
def test_telegram_429_carries_retry_after_from_the_body() -> None:
    responses.post(
        TG_SEND,
        status=429,
        json={
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 35",
            "parameters": {"retry_after": 35},
        },
    )
    with pytest.raises(RateLimitedError) as caught:
        TelegramClient().send(tg_conv(), TEXT)
    assert caught.value.retry_after == 35


@responses.activate
def test_telegram_chat_not_found_and_bad_token() -> None:
    responses.post(
        TG_SEND,
        status=400,
        json={"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
    )
    with pytest.raises(RecipientUnreachableError):
        TelegramClient().send(tg_conv(), TEXT)
    responses.replace(
        responses.POST,
        TG_SEND,
        status=401,
        json={"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    with pytest.raises(AuthConfigError):
        TelegramClient().send(tg_conv(), TEXT)


@responses.activate
def test_telegram_refuses_a_choice_id_longer_than_64_bytes_before_sending() -> None:
    message = OutboundMessage(text="?", kind="survey", choices=(Choice("x" * 65, "Too long"),))
    with pytest.raises(PermanentError, match="64"):
        TelegramClient().send(tg_conv(), message)
    assert len(responses.calls) == 0


@responses.activate
def test_telegram_token_never_appears_in_an_error() -> None:
    import requests

    # requests' own message names the URL, and with it the token: it must not reach our error.
    responses.post(TG_SEND, body=requests.ConnectionError(f"Max retries exceeded with url: {TG_SEND}"))
    with pytest.raises(TransientError) as caught:
        TelegramClient().send(tg_conv(), TEXT)
    assert "bot-token" not in str(caught.value)
    assert "bot-token" not in caught.value.reason


# -- Twilio ----------------------------------------------------------------------------------------
TW_SEND = f"{TWILIO}/2010-04-01/Accounts/{SID}/Messages.json"


def sent_form() -> dict[str, str]:
    body = responses.calls[-1].request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return dict(parse_qsl(text, keep_blank_values=True))


@responses.activate
def test_twilio_sms_is_a_form_post_with_basic_auth_and_status_callback() -> None:
    responses.post(TW_SEND, status=201, json={"sid": "SM1", "status": "queued"})
    sms = conv(Channel.SMS, account="+15005550006", contact="+14155550100")
    result = TwilioClient().send(sms, SURVEY)
    assert result.platform_message_id == "SM1"
    assert sent_form() == {
        "To": "+14155550100",
        "From": "+15005550006",
        "Body": "How did we do today?\n\n1. Excellent\n2. Okay\n3. Poor",
        "StatusCallback": "https://hooks.example.com/webhooks/twilio",
    }
    expected = "Basic " + base64.b64encode(f"{SID}:twilio-token".encode()).decode()
    assert responses.calls[0].request.headers["Authorization"] == expected


@responses.activate
def test_twilio_whatsapp_template_uses_content_sid() -> None:
    responses.post(TW_SEND, status=201, json={"sid": "SM2", "status": "queued"})
    wa = conv(Channel.TWILIO_WHATSAPP, account="+14155238886", contact="+16505551234")
    template = OutboundMessage(
        text="?",
        kind="survey",
        template=TemplateRef(name="HXb5b62575e6e4ff6129ad7c8efe1f983e", parameters=("Sheena",)),
    )
    TwilioClient().send(wa, template, SendPlan(mode="template"))
    form = sent_form()
    assert (form["To"], form["From"]) == ("whatsapp:+16505551234", "whatsapp:+14155238886")
    assert form["ContentSid"] == "HXb5b62575e6e4ff6129ad7c8efe1f983e"
    assert json.loads(form["ContentVariables"]) == {"1": "Sheena"}
    assert "Body" not in form


@pytest.mark.parametrize(
    ("status", "code", "expected", "words"),
    [
        (400, 63016, OutsideWindowError, "24-hour window"),
        (400, 21610, RecipientUnreachableError, "STOP"),
        (401, 20003, AuthConfigError, "credentials"),
        (429, 20429, RateLimitedError, "rate limiting"),
        (400, 21211, RecipientUnreachableError, "not a valid phone number"),
        (400, 99999, PermanentError, "rejected"),
    ],
)
@responses.activate
def test_twilio_errors_have_readable_reasons(
    status: int, code: int, expected: type[SendError], words: str
) -> None:
    responses.post(
        TW_SEND,
        status=status,
        json={
            "code": code,
            "message": "Twilio says no",
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )
    sms = conv(Channel.SMS, account="+15005550006", contact="+14155550100")
    with pytest.raises(expected) as caught:
        TwilioClient().send(sms, TEXT)
    assert words in caught.value.reason
    assert caught.value.reason.strip() != str(code)


@responses.activate
def test_twilio_5xx_is_an_unknown_outcome_never_sent_twice() -> None:
    # Twilio takes no idempotency key: a message it answered 503 for may be on its way
    responses.post(TW_SEND, status=503, json={"code": 20500, "message": "Internal"})
    sms = conv(Channel.SMS, account="+15005550006", contact="+14155550100")
    with pytest.raises(OutcomeUnknownError):
        TwilioClient().send(sms, TEXT)
    assert len(responses.calls) == 1


@responses.activate
def test_twilio_429_is_retried_then_rate_limited() -> None:
    responses.post(TW_SEND, status=429, json={"code": 20429, "message": "Too Many Requests"})
    sms = conv(Channel.SMS, account="+15005550006", contact="+14155550100")
    with pytest.raises(RateLimitedError):
        TwilioClient().send(sms, TEXT)
    assert len(responses.calls) == 1 + http.MAX_RETRIES


def test_twilio_without_credentials_is_auth_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "")
    with pytest.raises(AuthConfigError):
        TwilioClient().send(conv(Channel.SMS, "+1", "+2"), TEXT)


# -- accepted, but the answer names no message --------------------------------------------------


def _no_id_cases() -> list[Any]:
    return [
        pytest.param(
            lambda: MessengerClient().send(conv(Channel.MESSENGER), TEXT),
            f"{GRAPH}/112233445566778/messages",
            200,
            {"recipient_id": "7318845612093471"},
            id="messenger",
        ),
        pytest.param(
            lambda: InstagramClient().send(
                conv(Channel.INSTAGRAM, account="17841405822304914", contact="6021459874123365"), TEXT
            ),
            f"{GRAPH}/me/messages",
            200,
            {},
            id="instagram",
        ),
        pytest.param(
            lambda: WhatsAppClient().send(wa_conv(), TEXT),
            f"{GRAPH}/{WA}/messages",
            200,
            {"messaging_product": "whatsapp", "messages": []},
            id="whatsapp",
        ),
        pytest.param(
            lambda: XClient().send(x_conv(), SURVEY),
            f"{X_API}/2/dm_conversations/with/272953809/messages",
            201,
            {"data": {}},
            id="x-dm",
        ),
        pytest.param(
            lambda: TelegramClient().send(tg_conv(), TEXT),
            TG_SEND,
            200,
            {"ok": True, "result": {}},
            id="telegram",
        ),
        pytest.param(
            lambda: TwilioClient().send(
                conv(Channel.SMS, account="+15005550006", contact="+14155550100"), TEXT
            ),
            TW_SEND,
            201,
            {"status": "queued"},
            id="twilio",
        ),
    ]


@responses.activate
@pytest.mark.parametrize(("send", "url", "status", "answer"), _no_id_cases())
def test_an_accepted_send_without_a_message_id_is_an_unknown_outcome_sent_once(
    send: Any, url: str, status: int, answer: dict[str, Any]
) -> None:
    # Given a platform that takes the message but names no id in its answer
    responses.post(url, status=status, json=answer)
    # When the client sends, Then it says the outcome is unknown (it may well have been delivered) ...
    with pytest.raises(OutcomeUnknownError) as raised:
        send()
    # ... which no at-most-once sender retries, and the client itself sent it once
    assert raised.value.retryable is False
    assert len(responses.calls) == 1
