"""Replies with attachments through the agent API's handler and the real send path (window check, the
channel's client, the stored messages), on the moto table; the platforms are recorded stubs and the
name lookup is injected (no network)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses

from carehooks import clock
from carehooks.api.deps import Services, services
from carehooks.delivery.send import deliver
from carehooks.domain.models import Attachment, Channel, Direction, MessageEvent
from carehooks.inbound.processor import store_message
from carehooks.outbound import http
from carehooks.outbound.models import MediaAttachment, OutboundMessage
from carehooks.outbound.public_urls import HostNotFoundError, LookupUnavailableError
from carehooks.store import Store
from carehooks.wiring.store import make_store
from tests.channel_support import (
    GRAPH_URL,
    TELEGRAM_API_URL,
    TWILIO_API_URL,
    configure_channels,
    platform_stubs,
    point_platforms_at_stubs,
)
from tests.integration.agent_api_client import ADA, PAGE, REOPEN_WINDOW, T0, api_event, call, inbound
from tests.integration.conftest import TABLE, Aws

NOW = T0 + timedelta(hours=1)
PHOTO = "https://cdn.example.com/photos/box.jpg"
INVOICE = "https://cdn.example.com/docs/invoice.pdf"
# What the injected lookup knows; anything else does not exist.
DNS = {
    "cdn.example.com": ["93.184.215.14"],
    "intranet.example.com": ["10.20.30.40"],
    "rebound.example.com": ["93.184.215.14", "127.0.0.1"],
}
UNAVAILABLE = "slow.example.com"


def lookup(host: str) -> Sequence[str]:
    if host == UNAVAILABLE:
        raise LookupUnavailableError(host)
    if host not in DNS:
        raise HostNotFoundError(host)
    return DNS[host]


@pytest.fixture
def store(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The API wired to the real deliver, the moto table, the injected lookup, the clock frozen at NOW."""
    from carehooks.api.app import app as resolver

    configure_channels(monkeypatch)
    point_platforms_at_stubs(monkeypatch)
    monkeypatch.setattr(http, "_sleep", lambda seconds: None)
    table = make_store(TABLE)
    with clock.frozen(NOW):
        resolver().dependency_overrides[services] = lambda: Services(
            store=table, now=clock.now, deliver=deliver, resolve=lookup
        )
        try:
            yield table
        finally:
            resolver().dependency_overrides.clear()


@pytest.fixture
def platforms() -> Iterator[responses.RequestsMock]:
    with platform_stubs() as mock:
        yield mock


def reply(conv_id: str, body: object) -> tuple[int, Any]:
    answer = call(api_event("POST", f"/api/conversations/{conv_id}/reply", body, claims=ADA))
    return answer.status, answer.body


def detail(conv_id: str) -> dict[str, Any]:
    answer = call(api_event("GET", f"/api/conversations/{conv_id}"))
    assert answer.status == 200
    body: dict[str, Any] = answer.body
    return body


def sent_bodies(mock: responses.RequestsMock) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for recorded in mock.calls:
        raw = recorded.request.body or b""
        text = raw.decode() if isinstance(raw, bytes) else raw
        body = json.loads(text) if text.startswith("{") else parse_qs(text)
        out.append((str(recorded.request.url), body))
    return out


def outbound(conv_id: str) -> list[dict[str, Any]]:
    return [m for m in detail(conv_id)["messages"] if m["direction"] == "out"]


# -- sending ---------------------------------------------------------------------------------------------
def test_a_messenger_reply_goes_as_its_text_then_one_send_api_call_per_attachment(
    store: Store, platforms: responses.RequestsMock
) -> None:
    conv = inbound(store, "att-m1", "can I see it?", T0)
    # When the agent replies with text, an image and a file
    status, body = reply(
        conv.id,
        {
            "text": "Here you go",
            "attachments": [{"url": PHOTO, "type": "image"}, {"url": INVOICE, "type": "file"}],
        },
    )
    # Then Messenger got three Send API calls: the text, then each attachment by URL
    assert status == 201, body
    sent = sent_bodies(platforms)
    assert [url for url, _ in sent] == [f"{GRAPH_URL}/{PAGE}/messages"] * 3
    assert sent[0][1]["message"]["text"] == "Here you go"
    assert sent[1][1]["message"]["attachment"] == {
        "type": "image",
        "payload": {"url": PHOTO, "is_reusable": False},
    }
    assert sent[2][1]["message"]["attachment"]["type"] == "file"
    assert {b["messaging_type"] for _, b in sent} == {"RESPONSE"}
    # and each went out with the same origin tag, so every echo is recognised as the agent's
    assert len({b["message"]["metadata"] for _, b in sent}) == 1
    # The answer lists the three messages; each attachment is stored with its message
    assert [m["text"] for m in body["messages"]] == ["Here you go", "", ""]
    assert [[(a["type"], a["url"]) for a in m["attachments"]] for m in body["messages"]] == [
        [],
        [("image", PHOTO)],
        [("file", INVOICE)],
    ]
    assert body["message"] == body["messages"][0]
    assert body["details"]["parts"] == "3"
    stored = outbound(conv.id)
    assert [m["platform_message_id"] for m in stored] == [m["platform_message_id"] for m in body["messages"]]
    assert stored[1]["attachments"] == [
        {"type": "image", "url": PHOTO, "kind": "image", "media_id": None, "mime_type": None}
    ]
    assert body["conversation"]["first_responder"] == ADA["sub"]


@pytest.mark.parametrize(
    ("channel", "account", "contact", "endpoint", "check"),
    [
        (
            Channel.WHATSAPP,
            "106540352242922",
            "16505551234",
            f"{GRAPH_URL}/106540352242922/messages",
            lambda b: b["type"] == "image" and b["image"] == {"link": PHOTO, "caption": "Here you go"},
        ),
        (
            Channel.TELEGRAM,
            "bot",
            "1111111",
            f"{TELEGRAM_API_URL}/bot",
            lambda b: b == {"chat_id": 1111111, "photo": PHOTO, "caption": "Here you go"},
        ),
        (
            Channel.SMS,
            "+15005550006",
            "+14155550100",
            f"{TWILIO_API_URL}/2010-04-01/Accounts/",
            lambda b: b["MediaUrl"] == [PHOTO] and b["Body"] == ["Here you go"],
        ),
        (
            Channel.TWILIO_WHATSAPP,
            "+14155238886",
            "+14155550100",
            f"{TWILIO_API_URL}/2010-04-01/Accounts/",
            lambda b: b["MediaUrl"] == [PHOTO] and b["To"] == ["whatsapp:+14155550100"],
        ),
    ],
    ids=["whatsapp", "telegram", "mms", "twilio-whatsapp"],
)
def test_an_image_with_a_caption_is_one_platform_media_call(
    store: Store,
    platforms: responses.RequestsMock,
    channel: Channel,
    account: str,
    contact: str,
    endpoint: str,
    check: Any,
) -> None:
    conv = inbound(store, contact, "photo please", T0, channel=channel, account=account)
    status, body = reply(conv.id, {"text": "Here you go", "attachments": [{"url": PHOTO, "type": "image"}]})
    assert status == 201, body
    ((url, sent),) = sent_bodies(platforms)
    assert url.startswith(endpoint)
    if channel is Channel.TELEGRAM:
        assert url.endswith("/sendPhoto")
    assert check(sent), sent
    (stored,) = outbound(conv.id)
    assert stored["text"] == "Here you go"
    assert [(a["type"], a["url"]) for a in stored["attachments"]] == [("image", PHOTO)]


def test_attachments_without_text_are_a_reply_too(store: Store, platforms: responses.RequestsMock) -> None:
    conv = inbound(store, "+14155550111", "invoice?", T0, channel=Channel.TELEGRAM, account="bot")
    status, body = reply(conv.id, {"attachments": [{"url": INVOICE, "type": "file"}]})
    assert status == 201, body
    ((url, sent),) = sent_bodies(platforms)
    assert url.endswith("/sendDocument")
    assert "caption" not in sent
    assert body["message"]["attachments"][0]["type"] == "file"


# -- where it cannot: 422 with the reason, nothing sent, nothing stored ------------------------------------
@pytest.mark.parametrize(
    ("channel", "account", "contact", "words"),
    [
        (Channel.X, "835740314006511618", "272953809", "X cannot carry attachments"),
        (Channel.SMS, "+447700900123", "+447700900456", "SMS-only route"),
        (Channel.SMS, "+15005550006", "+447700900456", "SMS-only route"),
    ],
    ids=["x", "sms-uk", "sms-international"],
)
def test_a_channel_that_cannot_carry_attachments_is_a_422_with_the_reason(
    store: Store, platforms: responses.RequestsMock, channel: Channel, account: str, contact: str, words: str
) -> None:
    conv = inbound(store, contact, "hi", T0, channel=channel, account=account)
    status, body = reply(conv.id, {"text": "see", "attachments": [{"url": PHOTO, "type": "image"}]})
    assert status == 422
    assert body["error"]["code"] == "invalid_input"
    assert words in body["error"]["message"]
    assert body["error"]["fields"][0]["field"] == "body.attachments"
    assert len(platforms.calls) == 0
    assert outbound(conv.id) == []


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://cdn.example.com/a.jpg", "must be an https URL"),
        ("https://192.168.1.20/a.jpg", "non-public address"),
        ("https://169.254.169.254/latest/meta-data/", "non-public address"),
        ("https://localhost/a.jpg", "localhost"),
        ("https://intranet.example.com/a.jpg", "resolves to a private"),
        ("https://rebound.example.com/a.jpg", "127.0.0.1"),
        ("https://nowhere.example.com/a.jpg", "does not resolve"),
    ],
)
def test_an_attachment_url_that_is_not_https_or_not_public_is_a_422(
    store: Store, platforms: responses.RequestsMock, url: str, words: str
) -> None:
    conv = inbound(store, "att-u1", "hi", T0)
    status, body = reply(
        conv.id, {"attachments": [{"url": PHOTO, "type": "image"}, {"url": url, "type": "image"}]}
    )
    assert status == 422
    (problem,) = body["error"]["fields"]
    assert problem["field"] == "body.attachments.url"
    assert words in problem["reason"]
    assert len(platforms.calls) == 0
    assert outbound(conv.id) == []


def test_a_lookup_that_cannot_answer_now_is_a_503_and_nothing_is_sent(
    store: Store, platforms: responses.RequestsMock
) -> None:
    conv = inbound(store, "att-u2", "hi", T0)
    status, body = reply(conv.id, {"attachments": [{"url": f"https://{UNAVAILABLE}/a.jpg", "type": "image"}]})
    assert status == 503
    assert "nothing was sent" in body["error"]["message"]
    assert len(platforms.calls) == 0


# -- the platform refuses: its reason, readable -------------------------------------------------------------
def test_telegram_failing_to_fetch_the_url_is_a_409_with_a_readable_reason(store: Store) -> None:
    conv = inbound(store, "2222222", "hi", T0, channel=Channel.TELEGRAM, account="bot")
    with responses.RequestsMock() as mock:
        mock.post(
            re.compile(re.escape(TELEGRAM_API_URL) + r"/bot.*/sendPhoto"),
            status=400,
            json={
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: failed to get HTTP URL content",
            },
        )
        status, body = reply(conv.id, {"attachments": [{"url": PHOTO, "type": "image"}]})
    assert status == 409
    assert body["error"]["code"] == "send_refused"
    assert body["error"]["message"].startswith("Telegram could not fetch the attachment from its URL")
    assert outbound(conv.id) == []


def test_when_a_later_part_fails_the_parts_sent_are_stored_and_the_agent_is_told(store: Store) -> None:
    conv = inbound(store, "att-p1", "hi", T0)
    with responses.RequestsMock() as mock:
        mock.post(f"{GRAPH_URL}/{PAGE}/messages", json={"recipient_id": "att-p1", "message_id": "mid.text1"})
        mock.post(
            f"{GRAPH_URL}/{PAGE}/messages",
            status=400,
            json={"error": {"message": "(#100) Failed to fetch the file from the url", "code": 100}},
        )
        status, body = reply(conv.id, {"text": "Look", "attachments": [{"url": PHOTO, "type": "image"}]})
        assert len(mock.calls) == 2
    assert status == 409
    assert body["error"]["code"] == "send_partial"
    message = body["error"]["message"]
    assert "Failed to fetch the file from the url" in message
    assert "part 2 of 2" in message
    (stored,) = outbound(conv.id)
    assert (stored["platform_message_id"], stored["text"]) == ("mid.text1", "Look")


# -- inbound attachments in the resource --------------------------------------------------------------------
def test_inbound_attachments_are_shown_with_type_and_url(store: Store) -> None:
    outcome = store_message(
        store,
        MessageEvent(
            channel=Channel.SMS,
            account_id="+15005550006",
            contact_id="+14155550199",
            platform_message_id="MM" + "1" * 32,
            sent_at=T0,
            direction=Direction.IN,
            text="this arrived broken",
            kind="media",
            attachments=(
                Attachment(kind="media", url="https://api.twilio.com/media/ME1", mime_type="image/jpeg"),
                Attachment(kind="media", url="https://api.twilio.com/media/ME2", mime_type="application/pdf"),
            ),
        ),
        T0,
        REOPEN_WINDOW,
    )
    assert outcome.conversation is not None
    (message,) = detail(outcome.conversation.id)["messages"]
    assert [(a["type"], a["url"], a["kind"], a["mime_type"]) for a in message["attachments"]] == [
        ("image", "https://api.twilio.com/media/ME1", "media", "image/jpeg"),
        ("file", "https://api.twilio.com/media/ME2", "media", "application/pdf"),
    ]


# -- the send path itself ----------------------------------------------------------------------------------
def test_deliver_refuses_attachments_a_channel_cannot_carry_whoever_calls_it(
    store: Store, platforms: responses.RequestsMock
) -> None:
    conv = inbound(store, "272953809", "hi", T0, channel=Channel.X, account="835740314006511618")
    message = OutboundMessage(
        text="see", kind="agent_reply", author="agent-7", attachments=(MediaAttachment(url=PHOTO),)
    )
    result = deliver(conv, message, store, NOW)
    assert (result.status, result.error_class) == ("failed", "permanent")
    assert result.reason is not None
    assert "X cannot carry attachments" in result.reason
    assert len(platforms.calls) == 0
    (logged,) = store.attempts(conv.id)
    assert logged.reason == result.reason


def test_a_late_messenger_reply_tags_every_part_human_agent_and_automation_is_still_skipped(
    store: Store, platforms: responses.RequestsMock
) -> None:
    conv = inbound(store, "att-w1", "hi", T0)
    late = NOW + timedelta(days=2)
    person = OutboundMessage(
        text="Sorry for the wait",
        kind="agent_reply",
        author="agent-7",
        attachments=(MediaAttachment(url=PHOTO),),
    )
    result = deliver(conv, person, store, late)
    assert result.status == "sent"
    assert len(result.part_ids) == 2
    assert {(b["messaging_type"], b["tag"]) for _, b in sent_bodies(platforms)} == {
        ("MESSAGE_TAG", "HUMAN_AGENT")
    }
    automation = OutboundMessage(text="", kind="rule_reply", attachments=(MediaAttachment(url=PHOTO),))
    skipped = deliver(conv, automation, store, late)
    assert (skipped.status, skipped.error_class) == ("skipped", "outside_window")
    assert len(platforms.calls) == 2
