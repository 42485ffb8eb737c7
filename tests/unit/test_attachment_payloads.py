"""Attachments in outbound messages: each platform's request shape (platforms.md and the platforms' own
references), how one reply is split into the messages a channel carries, where a channel refuses them,
and how the platforms' media errors read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from carehooks.channels.instagram.client import InstagramClient
from carehooks.channels.messenger.client import MessengerClient
from carehooks.channels.meta.graph import classify as meta_classify
from carehooks.channels.meta.send import attachment_content
from carehooks.channels.telegram.client import build_call
from carehooks.channels.telegram.client import classify as telegram_classify
from carehooks.channels.traits import traits_for
from carehooks.channels.twilio.client import build_form
from carehooks.channels.twilio.errors import classify as twilio_classify
from carehooks.channels.twilio.traits import mms_route
from carehooks.channels.whatsapp.client import build_body
from carehooks.domain.models import Channel, Conversation
from carehooks.outbound.client import SendPlan
from carehooks.outbound.media import refusal, split
from carehooks.outbound.models import MediaAttachment, OutboundMessage, PermanentError

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PHOTO = MediaAttachment(url="https://cdn.example.com/photos/box.jpg", type="image")
INVOICE = MediaAttachment(url="https://cdn.example.com/docs/invoice%20123.pdf", type="file")


def conv(
    channel: Channel, account: str = "112233445566778", contact: str = "7318845612093471"
) -> Conversation:
    return Conversation(id="conv-1", channel=channel, account_id=account, contact_id=contact, created_at=NOW)


def reply(text: str = "", *attachments: MediaAttachment) -> OutboundMessage:
    return OutboundMessage(
        text=text, kind="agent_reply", author="agent-7", origin_tag="agent:conv-1:x", attachments=attachments
    )


# -- Messenger and Instagram: the Send API attachment, one per message, never with text --------------
@pytest.mark.parametrize("client", [MessengerClient(), InstagramClient()], ids=["messenger", "instagram"])
def test_a_meta_attachment_is_the_send_api_attachment_payload_with_its_url(client: Any) -> None:
    body, details = client.body(conv(Channel.MESSENGER), reply("", PHOTO), SendPlan())
    assert body == {
        "recipient": {"id": "7318845612093471"},
        "messaging_type": "RESPONSE",
        "message": {
            "attachment": {"type": "image", "payload": {"url": PHOTO.url, "is_reusable": False}},
            "metadata": "agent:conv-1:x",
        },
    }
    assert details == {"attachment_type": "image"}


def test_a_meta_file_goes_as_a_file_attachment_and_a_late_reply_keeps_the_human_agent_tag() -> None:
    body, _ = MessengerClient().body(
        conv(Channel.MESSENGER), reply("", INVOICE), SendPlan(mode="human_agent")
    )
    assert body["message"]["attachment"] == {
        "type": "file",
        "payload": {"url": INVOICE.url, "is_reusable": False},
    }
    assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


@pytest.mark.parametrize("message", [reply("caption?", PHOTO), reply("", PHOTO, INVOICE)])
def test_a_meta_message_never_carries_text_with_an_attachment_or_two_attachments(
    message: OutboundMessage,
) -> None:
    with pytest.raises(PermanentError):
        attachment_content(message)


# -- WhatsApp Cloud API: image / document messages with a link -----------------------------------------
def test_a_whatsapp_image_carries_its_link_and_the_text_as_caption() -> None:
    body, details = build_body(
        conv(Channel.WHATSAPP, "106540352242922", "16505551234"), reply("Here it is", PHOTO), SendPlan()
    )
    assert body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "16505551234",
        "type": "image",
        "image": {"link": PHOTO.url, "caption": "Here it is"},
        "biz_opaque_callback_data": "agent:conv-1:x",
    }
    assert details["attachment_type"] == "image"


def test_a_whatsapp_file_is_a_document_named_after_its_url() -> None:
    body, _ = build_body(
        conv(Channel.WHATSAPP, "106540352242922", "16505551234"), reply("", INVOICE), SendPlan()
    )
    assert body["type"] == "document"
    assert body["document"] == {"link": INVOICE.url, "filename": "invoice 123.pdf"}


# -- Telegram: sendPhoto / sendDocument ----------------------------------------------------------------
def test_a_telegram_image_is_send_photo_with_its_url_and_caption() -> None:
    method, body, details = build_call(conv(Channel.TELEGRAM, "bot", "1111111"), reply("Your parcel", PHOTO))
    assert method == "sendPhoto"
    assert body == {"chat_id": 1111111, "photo": PHOTO.url, "caption": "Your parcel"}
    assert details == {"attachment_type": "image"}


def test_a_telegram_file_is_send_document_and_text_alone_is_still_send_message() -> None:
    method, body, _ = build_call(conv(Channel.TELEGRAM, "bot", "1111111"), reply("", INVOICE))
    assert (method, body) == ("sendDocument", {"chat_id": 1111111, "document": INVOICE.url})
    method, body, _ = build_call(conv(Channel.TELEGRAM, "bot", "1111111"), reply("hello"))
    assert (method, body) == ("sendMessage", {"chat_id": 1111111, "text": "hello"})


# -- Twilio: MediaUrl (MMS: several; WhatsApp: one) ----------------------------------------------------
def test_an_mms_carries_every_media_url_and_the_text_as_body(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    form, details = build_form(
        conv(Channel.SMS, "+15005550006", "+14155550100"), reply("Photos", PHOTO, INVOICE), SendPlan()
    )
    assert form == {
        "To": "+14155550100",
        "From": "+15005550006",
        "MediaUrl": [PHOTO.url, INVOICE.url],
        "Body": "Photos",
    }
    assert details == {"media": "2"}  # an MMS is not counted in SMS segments


def test_a_twilio_whatsapp_medium_has_the_whatsapp_addresses_and_no_empty_body(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    form, _ = build_form(
        conv(Channel.TWILIO_WHATSAPP, "+14155238886", "+14155550100"), reply("", INVOICE), SendPlan()
    )
    assert form == {"To": "whatsapp:+14155550100", "From": "whatsapp:+14155238886", "MediaUrl": [INVOICE.url]}
    with pytest.raises(PermanentError):
        build_form(
            conv(Channel.TWILIO_WHATSAPP, "+14155238886", "+14155550100"),
            reply("", PHOTO, INVOICE),
            SendPlan(),
        )


# -- one reply, the messages each channel sends ---------------------------------------------------------
def shapes(channel: Channel, message: OutboundMessage) -> list[tuple[str, tuple[str, ...]]]:
    return [
        (part.text, tuple(a.type for a in part.attachments)) for part in split(message, traits_for(channel))
    ]


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        # Meta: the text first, alone, then one message per attachment
        (Channel.MESSENGER, [("See these", ()), ("", ("image",)), ("", ("file",))]),
        (Channel.INSTAGRAM, [("See these", ()), ("", ("image",)), ("", ("file",))]),
        # WhatsApp and Telegram: the text as the first attachment's caption
        (Channel.WHATSAPP, [("See these", ("image",)), ("", ("file",))]),
        (Channel.TELEGRAM, [("See these", ("image",)), ("", ("file",))]),
        # MMS: one message with both media and the body
        (Channel.SMS, [("See these", ("image", "file"))]),
        # WhatsApp through Twilio: one medium per message, the body a caption on images
        (Channel.TWILIO_WHATSAPP, [("See these", ("image",)), ("", ("file",))]),
    ],
)
def test_a_reply_with_text_and_two_attachments_is_split_as_the_channel_carries_it(
    channel: Channel, expected: list[tuple[str, tuple[str, ...]]]
) -> None:
    assert shapes(channel, reply("See these", PHOTO, INVOICE)) == expected


def test_a_text_that_cannot_be_a_caption_goes_first_on_its_own() -> None:
    # Twilio's WhatsApp documents have no caption
    assert shapes(Channel.TWILIO_WHATSAPP, reply("Invoice", INVOICE)) == [("Invoice", ()), ("", ("file",))]
    # a caption is at most 1024 characters
    long_text = "x" * 1025
    assert shapes(Channel.WHATSAPP, reply(long_text, PHOTO)) == [(long_text, ()), ("", ("image",))]
    assert shapes(Channel.WHATSAPP, reply("x" * 1024, PHOTO)) == [("x" * 1024, ("image",))]


def test_a_message_without_attachments_is_one_unchanged_message() -> None:
    message = reply("plain text")
    for channel in Channel:
        assert split(message, traits_for(channel)) == (message,)


def test_more_media_than_one_mms_carries_go_in_several() -> None:
    many = tuple(MediaAttachment(url=f"https://cdn.example.com/{i}.jpg") for i in range(12))
    parts = split(reply("", *many), traits_for(Channel.SMS))
    assert [len(p.attachments) for p in parts] == [10, 2]


# -- where a conversation cannot carry them --------------------------------------------------------------
def test_x_refuses_attachments_with_its_reason() -> None:
    reason = refusal(traits_for(Channel.X), (PHOTO,), business="835740314006511618", customer="272953809")
    assert reason is not None
    assert "X cannot carry attachments" in reason


@pytest.mark.parametrize(
    ("business", "customer", "allowed"),
    [
        ("+15005550006", "+14155550100", True),  # US to US
        ("+15005550006", "+16135550100", True),  # US to Canada (both +1)
        ("+61400000000", "+61412345678", True),  # Australia to Australia
        ("+447700900123", "+447700900456", False),  # UK: SMS only
        ("+15005550006", "+447700900456", False),  # US to UK: international MMS is converted to SMS
        ("+61400000000", "+14155550100", False),
        ("12345", "+14155550100", False),  # a short code
    ],
)
def test_an_sms_carries_media_only_where_twilio_sends_mms(
    business: str, customer: str, allowed: bool
) -> None:
    reason = refusal(traits_for(Channel.SMS), (PHOTO,), business=business, customer=customer)
    assert (reason is None) is allowed
    assert (mms_route(business, customer) is None) is allowed
    if not allowed:
        assert reason is not None
        assert "SMS" in reason


def test_a_public_thread_too_many_attachments_and_no_attachments_at_all() -> None:
    messenger = traits_for(Channel.MESSENGER)
    public = refusal(messenger, (PHOTO,), business="p", customer="c", public=True)
    assert public is not None
    assert "public comment thread" in public
    eleven = tuple(PHOTO for _ in range(11))
    too_many = refusal(messenger, eleven, business="p", customer="c")
    assert too_many is not None
    assert "at most 10" in too_many
    assert refusal(traits_for(Channel.X), (), business="p", customer="c") is None


def test_every_channel_but_x_takes_images_and_files() -> None:
    for channel in Channel:
        media = traits_for(channel).media
        if channel is Channel.X:
            assert media.types == frozenset()
            assert media.refusal
        else:
            assert media.types == {"image", "file"}
            assert 1 <= media.per_message <= media.max_per_reply <= 10


# -- the platforms' media errors, readable -------------------------------------------------------------
def test_telegram_could_not_fetch_the_url_is_a_permanent_readable_failure() -> None:
    error = telegram_classify(
        400, {"ok": False, "error_code": 400, "description": "Bad Request: failed to get HTTP URL content"}
    )
    assert isinstance(error, PermanentError)
    assert error.reason.startswith("Telegram could not fetch the attachment from its URL")
    assert error.platform_code == "400"


def test_whatsapp_media_upload_error_is_permanent_and_says_what_happened() -> None:
    error = meta_classify(400, {"error": {"code": 131053, "message": "Media upload error"}})
    assert isinstance(error, PermanentError)
    assert not error.retryable
    assert "could not fetch or use the attachment" in error.reason
    assert error.platform_code == "131053"


def test_meta_failing_to_fetch_an_attachment_quotes_meta() -> None:
    error = meta_classify(
        400, {"error": {"code": 100, "message": "(#100) Failed to fetch the file from the url"}}
    )
    assert isinstance(error, PermanentError)
    assert "Failed to fetch the file from the url" in error.reason


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (21620, "attachment URL"),
        (21623, "too many attachments"),
        (63019, "could not download"),
        (12300, "content type"),
    ],
)
def test_twilio_media_errors_are_permanent_and_readable(code: int, words: str) -> None:
    error = twilio_classify(400, code, "whatever Twilio says")
    assert isinstance(error, PermanentError)
    assert words in error.reason
    assert f"Twilio error {code}" in error.reason


def test_the_mms_form_goes_out_with_media_url_repeated() -> None:
    # The MMS form repeats MediaUrl; requests encodes a list value as repeated fields.
    prepared = requests.Request(
        "POST", "https://twilio.test", data={"MediaUrl": ["a", "b"], "Body": "x"}
    ).prepare()
    assert prepared.body == "MediaUrl=a&MediaUrl=b&Body=x"
