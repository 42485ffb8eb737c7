"""deliver(): window check → channel client → stored outbound message, under moto with recorded platforms.

Also the round trips: the echo of a carehooks send dedupes against it, and status webhooks update it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import responses

from carehooks import clock
from carehooks.delivery.send import deliver
from carehooks.domain.models import Channel, Conversation, Direction, MessageEvent
from carehooks.inbound.processor import store_message
from carehooks.outbound import http
from carehooks.outbound.models import Choice, OutboundMessage, TemplateRef
from carehooks.store import Store
from carehooks.wiring.store import get_store
from tests.channel_support import configure_channels, post, twilio_signature, x_signature
from tests.helpers import FakeContext, load_handler, meta_signature
from tests.integration.conftest import Aws

GRAPH = "https://graph.test/v25.0"
X_API = "https://x.test"
TWILIO = "https://twilio.test"
TELEGRAM = "https://telegram.test"
T0 = datetime(2025, 11, 22, 9, 0, tzinfo=UTC)
PAGE, PSID = "112233445566778", "7318845612093471"

ACK = OutboundMessage(text="Thanks, an agent will reply shortly.", kind="ack")
AGENT = OutboundMessage(text="Your order shipped today.", kind="agent_reply", author="agent-7")


@pytest.fixture
def env(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    configure_channels(monkeypatch)
    for name, value in {
        "META_GRAPH_URL": GRAPH,
        "X_API_URL": X_API,
        "TWILIO_API_URL": TWILIO,
        "TELEGRAM_API_URL": TELEGRAM,
        "META_ACCESS_TOKEN": "meta-token",
        "X_ACCESS_TOKEN": "x-token",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(http, "_sleep", lambda seconds: None)
    return aws


@pytest.fixture
def platforms() -> Iterator[responses.RequestsMock]:
    """The platforms' send APIs, recorded (no request leaves the test)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def customer_message(
    store: Store,
    channel: Channel,
    account: str,
    contact: str,
    mid: str,
    at: datetime,
    kind: str = "text",
    public: bool = False,
) -> Conversation:
    event = MessageEvent(
        channel=channel,
        account_id=account,
        contact_id=contact,
        platform_message_id=mid,
        sent_at=at,
        direction=Direction.IN,
        text="where is my order?",
        kind=kind,
        public=public,
    )
    outcome = store_message(store, event, at, timedelta(hours=24))
    assert outcome.conversation is not None
    return outcome.conversation


def process(aws: Aws) -> dict[str, Any]:
    result: dict[str, Any] = load_handler("inbound_processor").handler(
        {"Records": aws.drain()}, FakeContext()
    )
    return result


def outbound_items(aws: Aws) -> list[dict[str, Any]]:
    return [i for i in aws.items("MSG#") if i["direction"]["S"] == "out"]


# -- Messenger: send, echo, window -----------------------------------------------------------------
def test_an_acknowledgement_is_sent_stored_and_its_echo_dedupes(
    env: Aws, platforms: responses.RequestsMock
) -> None:
    store = get_store()
    conv = customer_message(store, Channel.MESSENGER, PAGE, PSID, "mid.in1", T0)
    platforms.post(f"{GRAPH}/{PAGE}/messages", json={"recipient_id": PSID, "message_id": "mid.out1"})
    result = deliver(conv, ACK, store, T0 + timedelta(minutes=1))
    assert (result.status, result.platform_message_id) == ("sent", "mid.out1")
    sent = json.loads(platforms.calls[0].request.body or b"{}")
    assert sent["messaging_type"] == "RESPONSE"
    assert sent["message"]["metadata"] == f"ack:{conv.id}"
    (stored,) = outbound_items(env)
    assert stored["sk"]["S"] == "MSG#mid.out1"
    assert stored["author"]["S"] == "carehooks"
    assert stored["origin_tag"]["S"] == f"ack:{conv.id}"
    # When Meta delivers the echo of that send
    echo = {
        "object": "page",
        "entry": [
            {
                "id": PAGE,
                "time": 1763802060000,
                "messaging": [
                    {
                        "sender": {"id": PAGE},
                        "recipient": {"id": PSID},
                        "timestamp": 1763802060000,
                        "message": {
                            "is_echo": True,
                            "mid": "mid.out1",
                            "metadata": f"ack:{conv.id}",
                            "text": ACK.text,
                        },
                    }
                ],
            }
        ],
    }
    raw = json.dumps(echo).encode()
    post("meta_webhook", "/webhooks/meta", raw, {"X-Hub-Signature-256": meta_signature(raw)})
    assert process(env) == {"batchItemFailures": []}
    # Then nothing new is stored
    assert len(env.items("MSG#")) == 2
    (conversation,) = env.items("CONV#")
    assert conversation["message_count"]["N"] == "2"


def test_automation_outside_the_window_is_skipped_with_a_recorded_reason(
    env: Aws, platforms: responses.RequestsMock
) -> None:
    store = get_store()
    conv = customer_message(store, Channel.MESSENGER, PAGE, PSID, "mid.in2", T0)
    result = deliver(conv, ACK, store, T0 + timedelta(hours=25))
    assert result.status == "skipped"
    assert result.error_class == "outside_window"
    assert result.reason is not None
    assert "24-hour" in result.reason
    assert len(platforms.calls) == 0
    assert outbound_items(env) == []
    (logged,) = store.attempts(conv.id)
    assert (logged.status, logged.kind, logged.reason) == ("skipped", "ack", result.reason)


def test_a_persons_late_reply_goes_out_with_human_agent(env: Aws, platforms: responses.RequestsMock) -> None:
    store = get_store()
    conv = customer_message(store, Channel.MESSENGER, PAGE, PSID, "mid.in3", T0)
    platforms.post(f"{GRAPH}/{PAGE}/messages", json={"message_id": "mid.out3"})
    result = deliver(conv, AGENT, store, T0 + timedelta(days=3))
    assert result.status == "sent"
    sent = json.loads(platforms.calls[0].request.body or b"{}")
    assert (sent["messaging_type"], sent["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    (stored,) = outbound_items(env)
    assert stored["author"]["S"] == "agent-7"
    assert stored["send_mode"]["S"] == "human_agent"
    (conversation,) = env.items("CONV#")
    assert conversation["first_responder"]["S"] == "agent-7"


def test_a_platform_window_refusal_is_skipped_not_retried(
    env: Aws, platforms: responses.RequestsMock
) -> None:
    store = get_store()
    conv = customer_message(store, Channel.MESSENGER, PAGE, PSID, "mid.in4", T0)
    platforms.post(
        f"{GRAPH}/{PAGE}/messages",
        status=400,
        json={"error": {"message": "(#10) outside of allowed window", "code": 10, "error_subcode": 2018278}},
    )
    result = deliver(conv, ACK, store, T0 + timedelta(hours=1))
    assert (result.status, result.error_class, result.retryable) == ("skipped", "outside_window", False)
    assert result.details["platform_code"] == "10/2018278"
    assert len(platforms.calls) == 1
    assert outbound_items(env) == []


def test_a_rate_limit_is_a_retryable_failure_with_its_wait(
    env: Aws, platforms: responses.RequestsMock
) -> None:
    store = get_store()
    conv = customer_message(store, Channel.MESSENGER, PAGE, PSID, "mid.in5", T0)
    platforms.post(
        f"{GRAPH}/{PAGE}/messages", status=429, headers={"Retry-After": "60"}, json={"error": {"code": 613}}
    )
    result = deliver(conv, ACK, store, T0 + timedelta(minutes=1))
    assert (result.status, result.error_class, result.retryable) == ("failed", "rate_limited", True)
    assert result.details["retry_after"] == "60"
    (logged,) = store.attempts(conv.id)
    assert logged.retryable


def test_an_expired_token_is_a_failure_operations_hear_about(
    env: Aws, platforms: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    store = get_store()
    conv = customer_message(store, Channel.MESSENGER, PAGE, PSID, "mid.in6", T0)
    platforms.post(
        f"{GRAPH}/{PAGE}/messages", status=400, json={"error": {"message": "expired", "code": 190}}
    )
    result = deliver(conv, ACK, store, T0 + timedelta(minutes=1))
    assert (result.status, result.error_class) == ("failed", "auth_config")
    assert "credentials or configuration" in caplog.text


def test_a_send_that_cannot_be_stored_still_reports_sent(
    env: Aws, platforms: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = get_store()
    conv = customer_message(store, Channel.MESSENGER, PAGE, PSID, "mid.in7", T0)
    platforms.post(f"{GRAPH}/{PAGE}/messages", json={"message_id": "mid.out7"})

    def broken(*args: object) -> None:
        raise RuntimeError("DynamoDB unavailable")

    monkeypatch.setattr(store, "put_outbound_message", broken)
    result = deliver(conv, ACK, store, T0 + timedelta(minutes=1))
    assert (result.status, result.details["stored"]) == ("sent", "false")


# -- WhatsApp: template outside the window, statuses -----------------------------------------------
def test_a_whatsapp_survey_after_the_window_goes_as_a_template_and_its_status_applies(
    env: Aws, platforms: responses.RequestsMock
) -> None:
    store = get_store()
    conv = customer_message(store, Channel.WHATSAPP, "106540352242922", "16505551234", "wamid.in", T0)
    platforms.post(f"{GRAPH}/106540352242922/messages", json={"messages": [{"id": "wamid.OUT"}]})
    survey = OutboundMessage(
        text="How did we do?",
        kind="survey",
        template=TemplateRef(name="csat_survey"),
        choices=(Choice("5", "Great"),),
    )
    result = deliver(conv, survey, store, T0 + timedelta(hours=30))
    assert result.status == "sent"
    assert json.loads(platforms.calls[0].request.body or b"{}")["type"] == "template"
    status = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": "106540352242922",
                            },
                            "statuses": [
                                {
                                    "id": "wamid.OUT",
                                    "status": "delivered",
                                    "timestamp": "1763910000",
                                    "recipient_id": "16505551234",
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    raw = json.dumps(status).encode()
    post("meta_webhook", "/webhooks/meta", raw, {"X-Hub-Signature-256": meta_signature(raw)})
    assert process(env) == {"batchItemFailures": []}
    (stored,) = outbound_items(env)
    assert stored["status"]["S"] == "delivered"


def test_a_whatsapp_reply_after_the_window_without_template_is_skipped(
    env: Aws, platforms: responses.RequestsMock
) -> None:
    store = get_store()
    conv = customer_message(store, Channel.WHATSAPP, "106540352242922", "16505551234", "wamid.in2", T0)
    result = deliver(conv, AGENT, store, T0 + timedelta(hours=30))
    assert result.status == "skipped"
    assert len(platforms.calls) == 0


# -- Twilio: send, then the status callback ---------------------------------------------------------
def test_a_twilio_sms_is_sent_and_its_status_callback_updates_it(
    env: Aws, platforms: responses.RequestsMock
) -> None:
    store = get_store()
    conv = customer_message(store, Channel.SMS, "+15005550006", "+14155550100", "SMin", T0)
    platforms.post(
        f"{TWILIO}/2010-04-01/Accounts/AC7d2e5f8a9b0c1d2e3f4a5b6c7d8e9f01/Messages.json",
        status=201,
        json={"sid": "SMout1", "status": "queued"},
    )
    with clock.frozen(T0 + timedelta(days=3)):
        result = deliver(conv, ACK, store, clock.now())  # SMS has no window
    assert result.platform_message_id == "SMout1"
    raw = urlencode(
        {
            "MessageSid": "SMout1",
            "MessageStatus": "delivered",
            "From": "+15005550006",
            "To": "+14155550100",
            "AccountSid": "AC1",
        }
    ).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(raw),
    }
    assert post("twilio_webhook", "/webhooks/twilio", raw, headers)["statusCode"] == 200
    assert process(env) == {"batchItemFailures": []}
    (stored,) = outbound_items(env)
    assert stored["status"]["S"] == "delivered"


def test_a_twilio_whatsapp_template_with_an_empty_variable_is_skipped_with_the_reason_logged(
    env: Aws, platforms: responses.RequestsMock
) -> None:
    # Given a WhatsApp (Twilio) customer who last wrote 30 hours ago, and a survey template whose link
    # variable came out empty (no survey link could be made)
    store = get_store()
    conv = customer_message(store, Channel.TWILIO_WHATSAPP, "+15005550006", "+14155550100", "SMin2", T0)
    survey = OutboundMessage(
        text="How did we do?",
        kind="survey",
        template=TemplateRef(name="HXb5b62575e6e4ff6129ad7c8efe1f983e", parameters=("Sheena", "")),
    )
    # When it is delivered
    result = deliver(conv, survey, store, T0 + timedelta(hours=30))
    # Then nothing reaches Twilio (it would refuse it with 21656), and the send log says why
    assert result.status == "skipped"
    assert result.reason is not None
    assert "variable 2 empty" in result.reason
    assert "21656" in result.reason
    assert len(platforms.calls) == 0
    (logged,) = store.attempts(conv.id)
    assert (logged.status, logged.kind, logged.reason) == ("skipped", "survey", result.reason)


def test_an_sms_with_emoji_is_stored_with_its_ucs2_segments(
    env: Aws, platforms: responses.RequestsMock
) -> None:
    store = get_store()
    conv = customer_message(store, Channel.SMS, "+15005550006", "+14155550100", "SMin3", T0)
    platforms.post(
        f"{TWILIO}/2010-04-01/Accounts/AC7d2e5f8a9b0c1d2e3f4a5b6c7d8e9f01/Messages.json",
        status=201,
        json={"sid": "SMout3", "status": "queued"},
    )
    reply = OutboundMessage(text="Your parcel is on its way 🚚 " * 4, kind="agent_reply", author="agent-7")
    result = deliver(conv, reply, store, T0 + timedelta(minutes=5))
    assert (result.details["sms_encoding"], result.details["sms_segments"]) == ("UCS-2", "2")
    (stored,) = outbound_items(env)
    assert "UCS-2" in json.dumps(stored)


def test_a_messenger_survey_inside_the_window_is_an_update(
    env: Aws, platforms: responses.RequestsMock
) -> None:
    store = get_store()
    conv = customer_message(store, Channel.MESSENGER, PAGE, PSID, "mid.in9", T0)
    platforms.post(f"{GRAPH}/{PAGE}/messages", json={"recipient_id": PSID, "message_id": "mid.out9"})
    survey = OutboundMessage(text="How did we do?", kind="survey", choices=(Choice("csat_5", "Great"),))
    assert deliver(conv, survey, store, T0 + timedelta(hours=2)).status == "sent"
    assert json.loads(platforms.calls[0].request.body or b"{}")["messaging_type"] == "UPDATE"


# -- X: public reply vs DM, and the DM echo --------------------------------------------------------
def test_x_answers_a_mention_publicly_and_a_survey_privately(
    env: Aws, platforms: responses.RequestsMock
) -> None:
    store = get_store()
    conv = customer_message(
        store, Channel.X, "2244994945", "272953809", "1800166866023854157", T0, kind="post", public=True
    )
    platforms.post(f"{X_API}/2/tweets", status=201, json={"data": {"id": "1800168547637768237"}})
    platforms.post(
        f"{X_API}/2/dm_conversations/with/272953809/messages",
        status=201,
        json={"data": {"dm_conversation_id": "c", "dm_event_id": "958501256728776708"}},
    )
    reply = deliver(
        conv, OutboundMessage(text="We're on it, please check your DMs.", kind="rule_reply"), store, T0
    )
    assert reply.details["x_send"] == "public_reply"
    assert json.loads(platforms.calls[0].request.body or b"{}")["reply"] == {
        "in_reply_to_tweet_id": "1800166866023854157"
    }
    survey = deliver(conv, OutboundMessage(text="How did we do?", kind="survey"), store, T0)
    assert survey.details["x_send"] == "direct_message"


def test_x_dm_echo_of_a_carehooks_send_is_not_stored_twice(
    env: Aws, platforms: responses.RequestsMock
) -> None:
    store = get_store()
    conv = customer_message(store, Channel.X, "835740314006511618", "272953809", "958501034212564996", T0)
    platforms.post(
        f"{X_API}/2/dm_conversations/with/272953809/messages",
        status=201,
        json={"data": {"dm_conversation_id": "c", "dm_event_id": "958501256728776708"}},
    )
    assert deliver(conv, ACK, store, T0).status == "sent"
    from tests.helpers import event_bytes

    raw = event_bytes("x/direct_message_echo.json")
    post(
        "x_webhook",
        "/webhooks/x",
        raw,
        {"Content-Type": "application/json", "x-twitter-webhooks-signature": x_signature(raw)},
    )
    assert process(env) == {"batchItemFailures": []}
    assert len(outbound_items(env)) == 1


# -- Telegram --------------------------------------------------------------------------------------
def test_telegram_has_no_window(env: Aws, platforms: responses.RequestsMock) -> None:
    store = get_store()
    conv = customer_message(store, Channel.TELEGRAM, "123456789", "1111111", "1111111:1365", T0)
    platforms.post(
        f"{TELEGRAM}/bot123456789:AAE-test-bot-token/sendMessage",
        json={"ok": True, "result": {"message_id": 1400, "chat": {"id": 1111111}}},
    )
    result = deliver(conv, ACK, store, T0 + timedelta(days=30))
    assert result.platform_message_id == "1111111:1400"
    (stored,) = outbound_items(env)
    assert stored["sk"]["S"] == "MSG#1111111:1400"
