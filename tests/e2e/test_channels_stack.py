"""Every channel through the local stack: a signed real-format event in → one stored message → the
acknowledgement goes out as the right platform request (the stack's outbox); a redelivery stores
nothing new; a forged request is refused and stores nothing.

Bodies are the fixtures under events/, with fresh ids (and, for the windowed channels, current
timestamps so the 24-hour window is open), signed with the stack's local default secrets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from infra.local.settings import SECRET_DEFAULTS

from tests.e2e.harness import LocalStack, wait_for
from tests.helpers import event_bytes, event_json

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Inbound:
    channel: str
    path: str
    raw: bytes
    headers: dict[str, str]
    forged_headers: dict[str, str]
    contact: str
    text: str


def _digits(n: int) -> str:
    return str(uuid.uuid4().int)[:n]


def _meta(raw: bytes, secret: str = SECRET_DEFAULTS["META_APP_SECRET"]) -> dict[str, str]:
    digest = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}


def messenger() -> Inbound:
    body = event_json("meta/messenger_text.json")
    event = body["entry"][0]["messaging"][0]
    contact = "73" + _digits(14)
    event["sender"]["id"] = contact
    event["timestamp"] = int(time.time() * 1000)
    event["message"]["mid"] = f"m_{uuid.uuid4().hex}"
    raw = json.dumps(body).encode()
    return Inbound(
        "messenger", "/webhooks/meta", raw, _meta(raw), _meta(raw, "wrong"), contact, event["message"]["text"]
    )


def instagram() -> Inbound:
    body = event_json("meta/instagram_text.json")
    event = body["entry"][0]["messaging"][0]
    contact = "60" + _digits(14)
    event["sender"]["id"] = contact
    event["timestamp"] = int(time.time() * 1000)
    event["message"]["mid"] = f"aWdf{uuid.uuid4().hex}"
    raw = json.dumps(body).encode()
    return Inbound(
        "instagram", "/webhooks/meta", raw, _meta(raw), _meta(raw, "wrong"), contact, event["message"]["text"]
    )


def whatsapp() -> Inbound:
    body = event_json("meta/whatsapp_text.json")
    value = body["entry"][0]["changes"][0]["value"]
    contact = "1650" + _digits(7)
    value["contacts"][0]["wa_id"] = contact
    message = value["messages"][0]
    message["from"] = contact
    message["id"] = f"wamid.{uuid.uuid4().hex}"
    message["timestamp"] = str(int(time.time()))
    raw = json.dumps(body).encode()
    return Inbound(
        "whatsapp",
        "/webhooks/meta",
        raw,
        _meta(raw),
        {"Content-Type": "application/json"},
        contact,
        message["text"]["body"],
    )


def _x(raw: bytes, secret: str = SECRET_DEFAULTS["X_CONSUMER_SECRET"]) -> dict[str, str]:
    digest = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    return {"Content-Type": "application/json", "x-twitter-webhooks-signature": f"sha256={digest}"}


def x_dm() -> Inbound:
    body = event_json("x/direct_message.json")
    contact = _digits(9)
    event = body["direct_message_events"][0]
    event["id"] = _digits(18)
    event["message_create"]["sender_id"] = contact
    raw = json.dumps(body).encode()
    return Inbound(
        "x",
        "/webhooks/x",
        raw,
        _x(raw),
        _x(raw, "wrong"),
        contact,
        "Hello World & good wishes. Where is order #4411?",
    )


def telegram() -> Inbound:
    body = event_json("telegram/message.json")
    chat = int(_digits(9))
    body["update_id"] = int(_digits(8))
    body["message"]["chat"]["id"] = chat
    body["message"]["from"]["id"] = chat
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": SECRET_DEFAULTS["TELEGRAM_SECRET_TOKEN"],
    }
    forged = {**headers, "X-Telegram-Bot-Api-Secret-Token": "guess"}
    return Inbound("telegram", "/webhooks/telegram", raw, headers, forged, str(chat), body["message"]["text"])


def _twilio_inbound(fixture: str, channel: str, stack: LocalStack) -> Inbound:
    fields = dict(parse_qsl(event_bytes(fixture).decode(), keep_blank_values=True))
    sid = "SM" + uuid.uuid4().hex
    for key in ("MessageSid", "SmsSid", "SmsMessageSid"):
        if key in fields:
            fields[key] = sid
    number = "+1415" + _digits(7)
    fields["From"] = f"whatsapp:{number}" if fields["From"].startswith("whatsapp:") else number
    raw = urlencode(fields).encode()
    url = stack.url + "/webhooks/twilio"
    payload = url + "".join(k + v for k, v in sorted(parse_qsl(raw.decode(), keep_blank_values=True)))
    token = SECRET_DEFAULTS["TWILIO_AUTH_TOKEN"]
    signature = base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    forged = {**headers, "X-Twilio-Signature": base64.b64encode(b"0" * 20).decode()}
    return Inbound(channel, "/webhooks/twilio", raw, headers, forged, number, fields["Body"])


CHANNELS: dict[str, Callable[[LocalStack], Inbound]] = {
    "messenger": lambda s: messenger(),
    "instagram": lambda s: instagram(),
    "whatsapp": lambda s: whatsapp(),
    "x": lambda s: x_dm(),
    "telegram": lambda s: telegram(),
    "sms": lambda s: _twilio_inbound("twilio/sms.txt", "sms", s),
    "twilio_whatsapp": lambda s: _twilio_inbound("twilio/whatsapp_text.txt", "twilio_whatsapp", s),
}

# Where each channel's reply must go, and how the request names the customer.
OUTBOX_CHANNEL = {
    "messenger": "meta",
    "instagram": "meta",
    "whatsapp": "meta",
    "x": "x",
    "telegram": "telegram",
    "sms": "twilio",
    "twilio_whatsapp": "twilio",
}


def names_customer(channel: str, call: dict[str, Any], contact: str) -> bool:
    body = call.get("body")
    data: dict[str, Any] = body if isinstance(body, dict) else {}
    if channel in ("messenger", "instagram"):
        return (data.get("recipient") or {}).get("id") == contact and data.get("messaging_type") == "RESPONSE"
    if channel == "whatsapp":
        return data.get("to") == contact and data.get("messaging_product") == "whatsapp"
    if channel == "x":
        return f"/2/dm_conversations/with/{contact}/messages" in call["url"] and bool(data.get("text"))
    if channel == "telegram":
        return call["url"].endswith("/sendMessage") and str(data.get("chat_id")) == contact
    if channel == "sms":
        return call["url"].endswith("/Messages.json") and data.get("To") == contact
    return call["url"].endswith("/Messages.json") and data.get("To") == f"whatsapp:{contact}"


def conversation_of(stack: LocalStack, channel: str, contact: str) -> dict[str, Any] | None:
    listed = stack.get("/_local/conversations?limit=500").json()["items"]
    found = [c for c in listed if c["contact_id"] == contact and c["channel"] == channel]
    if not found:
        return None
    detail: dict[str, Any] = stack.get(f"/_local/conversations/{found[0]['id']}").json()
    return detail


def customer_texts(conversation: dict[str, Any] | None) -> list[str]:
    return [m["text"] for m in (conversation or {}).get("messages", []) if m["direction"] == "in"]


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_a_customer_message_is_stored_once_and_acknowledged_on_its_platform(
    project_stack: LocalStack, channel: str
) -> None:
    inbound = CHANNELS[channel](project_stack)
    answer = project_stack.request("POST", inbound.path, inbound.raw, inbound.headers)
    assert answer.status == 200, answer.body
    stored = wait_for(
        lambda: conversation_of(project_stack, channel, inbound.contact), what=f"the {channel} conversation"
    )
    assert customer_texts(stored) == [inbound.text]
    call = wait_for(
        lambda: next(
            (
                c
                for c in project_stack.outbox()
                if c["channel"] == OUTBOX_CHANNEL[channel] and names_customer(channel, c, inbound.contact)
            ),
            None,
        ),
        what=f"the {channel} acknowledgement in the outbox",
    )
    assert call["method"] == "POST"
    # The redelivery stores nothing new.
    assert project_stack.request("POST", inbound.path, inbound.raw, inbound.headers).status == 200
    time.sleep(2)
    assert customer_texts(conversation_of(project_stack, channel, inbound.contact)) == [inbound.text]


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_a_forged_request_is_refused_and_stores_nothing(project_stack: LocalStack, channel: str) -> None:
    inbound = CHANNELS[channel](project_stack)
    answer = project_stack.request("POST", inbound.path, inbound.raw, inbound.forged_headers)
    assert answer.status == 401, answer.body
    time.sleep(1)
    assert conversation_of(project_stack, channel, inbound.contact) is None


def test_the_x_crc_challenge_is_answered(project_stack: LocalStack) -> None:
    answer = project_stack.get("/webhooks/x?crc_token=9b4507b3-9040-4669-9ca3-6b94edb50553")
    assert answer.status == 200
    secret = SECRET_DEFAULTS["X_CONSUMER_SECRET"].encode()
    expected = base64.b64encode(
        hmac.new(secret, b"9b4507b3-9040-4669-9ca3-6b94edb50553", hashlib.sha256).digest()
    ).decode()
    assert answer.json() == {"response_token": f"sha256={expected}"}
