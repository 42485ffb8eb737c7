"""Messenger, Instagram and WhatsApp adapters: queued slices → canonical events (pure), and loop guards."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from carehooks.channels.meta.ingress import split
from carehooks.channels.registry import parser_for
from carehooks.domain.models import (
    AdapterError,
    Attachment,
    CanonicalEvent,
    Channel,
    Direction,
    IgnoredEvent,
    MessageEvent,
    StatusEvent,
)
from tests.helpers import event_bytes, event_json

NOW = datetime(2025, 11, 22, 8, 0, tzinfo=UTC)
PAGE = "112233445566778"
CUSTOMER = "7318845612093471"
IG_ACCOUNT = "17841405822304914"
IG_USER = "6021459874123365"
WA_NUMBER = "106540352242922"
WA_USER = "16505551234"


def parse_raw(raw: bytes) -> list[CanonicalEvent]:
    """Split a body as the webhook does, then parse every slice as the processor does."""
    out: list[CanonicalEvent] = []
    for queued in split(raw, NOW):
        out.extend(parser_for(queued.channel)(queued))
    return out


def parse_file(path: str) -> list[CanonicalEvent]:
    return parse_raw(event_bytes(path))


def one(events: list[CanonicalEvent]) -> CanonicalEvent:
    assert len(events) == 1, events
    return events[0]


def message(events: list[CanonicalEvent]) -> MessageEvent:
    event = one(events)
    assert isinstance(event, MessageEvent), event
    return event


def ignored(events: list[CanonicalEvent]) -> IgnoredEvent:
    event = one(events)
    assert isinstance(event, IgnoredEvent), event
    return event


def envelope(obj: str, account: str, *items: dict[str, Any], key: str = "messaging") -> bytes:
    doc = {"object": obj, "entry": [{"id": account, "time": 1763798400000, key: list(items)}]}
    return json.dumps(doc).encode()


def page_item(part: dict[str, Any], sender: str = CUSTOMER, recipient: str = PAGE) -> dict[str, Any]:
    return {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": 1763798400000, **part}


def ig_item(part: dict[str, Any], sender: str = IG_USER, recipient: str = IG_ACCOUNT) -> dict[str, Any]:
    return page_item(part, sender, recipient)


def wa_message(element: dict[str, Any], contacts: bool = True) -> bytes:
    doc = event_json("meta/whatsapp_text.json")
    value = doc["entry"][0]["changes"][0]["value"]
    value["messages"] = [{"from": WA_USER, "id": "wamid.X", "timestamp": "1763798400", **element}]
    if not contacts:
        del value["contacts"]
    return json.dumps(doc).encode()


def wa_status(element: dict[str, Any]) -> bytes:
    doc = event_json("meta/whatsapp_statuses.json")
    doc["entry"][0]["changes"][0]["value"]["statuses"] = [
        {"id": "wamid.S", "timestamp": "1763798500", "recipient_id": WA_USER, **element}
    ]
    return json.dumps(doc).encode()


# ================================================================ Messenger
def test_messenger_text_is_an_inbound_message_at_platform_time() -> None:
    event = message(parse_file("meta/messenger_text.json"))
    assert event.channel is Channel.MESSENGER
    assert (event.account_id, event.contact_id) == (PAGE, CUSTOMER)
    assert event.platform_message_id == "m_AbCdEf0123456789text"
    assert event.direction is Direction.IN
    assert event.text == "where is my order? #1234"
    assert event.kind == "text"
    assert event.sent_at == datetime.fromtimestamp(1763798400, tz=UTC)
    assert not event.standby


def test_messenger_attachment_keeps_type_and_url() -> None:
    event = message(parse_file("meta/messenger_attachment.json"))
    assert event.kind == "attachment"
    assert event.text == ""
    assert event.attachments == (
        Attachment(kind="image", url="https://scontent.xx.fbcdn.net/v/t1.15752-9/448912345_n.jpg"),
    )


def test_messenger_postback_is_an_inbound_message_with_its_payload() -> None:
    event = message(parse_file("meta/messenger_postback.json"))
    assert event.kind == "postback"
    assert event.direction is Direction.IN
    assert event.text == "Get Started"
    assert event.reply_payload == "GET_STARTED"
    assert event.platform_message_id == "mid.$cAAJdkrCd2ORnva8ErFhjGm2Z_S_e"


def test_a_postback_without_mid_gets_a_stable_synthetic_id() -> None:
    raw = envelope("page", PAGE, page_item({"postback": {"title": "Go", "payload": "GO"}}))
    first = message(parse_raw(raw)).platform_message_id
    assert first == f"postback:{CUSTOMER}:1763798400000"
    assert message(parse_raw(raw)).platform_message_id == first


def test_a_quick_reply_tap_carries_its_payload() -> None:
    raw = envelope(
        "page",
        PAGE,
        page_item({"message": {"mid": "m_q", "text": "Great", "quick_reply": {"payload": "CSAT_5"}}}),
    )
    event = message(parse_raw(raw))
    assert (event.kind, event.text, event.reply_payload) == ("quick_reply", "Great", "CSAT_5")


def test_an_echo_from_metas_inbox_is_an_outbound_message_without_origin_tag() -> None:
    # An echo with no metadata was typed by a person in the Meta Business Suite inbox.
    event = message(parse_file("meta/messenger_echo.json"))
    assert event.direction is Direction.OUT
    assert event.contact_id == CUSTOMER
    assert event.origin_tag is None
    assert event.text == "Hi! Your order #1234 left our warehouse today."


def test_an_echo_of_our_own_send_carries_the_metadata_marker() -> None:
    raw = envelope(
        "page",
        PAGE,
        page_item(
            {"message": {"is_echo": True, "app_id": 1, "metadata": "ack:conv-1", "mid": "m_e", "text": "t"}},
            sender=PAGE,
            recipient=CUSTOMER,
        ),
    )
    event = message(parse_raw(raw))
    assert event.direction is Direction.OUT
    assert event.origin_tag == "ack:conv-1"


def test_metadata_on_a_customer_message_is_not_an_origin_tag() -> None:
    raw = envelope(
        "page", PAGE, page_item({"message": {"mid": "m_x", "text": "t", "metadata": "ack:forged"}})
    )
    event = message(parse_raw(raw))
    assert event.direction is Direction.IN
    assert event.origin_tag is None


def test_a_message_sent_by_the_page_is_outbound_even_without_is_echo() -> None:
    raw = envelope("page", PAGE, page_item({"message": {"mid": "m_p", "text": "t"}}, PAGE, CUSTOMER))
    event = message(parse_raw(raw))
    assert event.direction is Direction.OUT
    assert event.contact_id == CUSTOMER


def test_a_standby_message_is_stored_but_flagged() -> None:
    raw = envelope("page", PAGE, page_item({"message": {"mid": "m_s", "text": "t"}}), key="standby")
    event = message(parse_raw(raw))
    assert event.standby
    assert event.direction is Direction.IN


def test_a_standby_echo_is_outbound_and_flagged() -> None:
    raw = envelope(
        "page",
        PAGE,
        page_item({"message": {"is_echo": True, "mid": "m_se", "text": "t"}}, PAGE, CUSTOMER),
        key="standby",
    )
    event = message(parse_raw(raw))
    assert event.standby
    assert event.direction is Direction.OUT


def test_a_delivery_gives_one_status_per_mid_at_the_watermark() -> None:
    (event,) = parse_file("meta/messenger_delivery.json")
    assert isinstance(event, StatusEvent)
    assert event.status == "delivered"
    assert event.platform_message_id == "mid.$cAAJdkrCd2ORnva8ErFhjGm3a_T_f"
    assert event.watermark == datetime.fromtimestamp(1763798600, tz=UTC)
    assert event.at == event.watermark


def test_a_delivery_with_several_mids_gives_several_statuses() -> None:
    raw = envelope(
        "page", PAGE, page_item({"delivery": {"mids": ["m_1", "m_2"], "watermark": 1763798600000}})
    )
    events = parse_raw(raw)
    assert [e.platform_message_id for e in events if isinstance(e, StatusEvent)] == ["m_1", "m_2"]


def test_a_delivery_without_mids_is_one_watermark_status() -> None:
    raw = envelope("page", PAGE, page_item({"delivery": {"watermark": 1763798600000}}))
    event = one(parse_raw(raw))
    assert isinstance(event, StatusEvent)
    assert event.platform_message_id is None
    assert event.watermark == datetime.fromtimestamp(1763798600, tz=UTC)


def test_a_read_is_a_status_with_its_watermark() -> None:
    event = one(parse_file("meta/messenger_read.json"))
    assert isinstance(event, StatusEvent)
    assert event.status == "read"
    assert event.watermark == datetime.fromtimestamp(1763798600, tz=UTC)
    assert event.at == datetime.fromtimestamp(1763798700, tz=UTC)


@pytest.mark.parametrize(
    ("part", "kind"),
    [
        ({"reaction": {"mid": "m_1", "action": "react", "emoji": "x"}}, "reaction"),
        ({"message_edit": {"mid": "m_1", "text": "y", "num_edit": 1}}, "message_edit"),
        ({"optin": {"ref": "r"}}, "optin"),
        ({"referral": {"ref": "r", "source": "SHORTLINK"}}, "referral"),
        ({"pass_thread_control": {"new_owner_app_id": 1}}, "pass_thread_control"),
        ({"something_new": {}}, "unknown"),
    ],
)
def test_unsupported_messenger_kinds_are_ignored_not_errors(part: dict[str, Any], kind: str) -> None:
    event = ignored(parse_raw(envelope("page", PAGE, page_item(part))))
    assert event.kind == kind
    assert event.channel is Channel.MESSENGER


def test_a_page_feed_change_is_ignored() -> None:
    raw = json.dumps(
        {
            "object": "page",
            "entry": [
                {"id": PAGE, "changes": [{"field": "feed", "value": {"item": "status", "post_id": "1"}}]}
            ],
        }
    ).encode()
    assert ignored(parse_raw(raw)).kind == "change:feed"


def test_a_message_without_mid_is_an_adapter_error() -> None:
    with pytest.raises(AdapterError):
        parse_raw(envelope("page", PAGE, page_item({"message": {"text": "t"}})))


@pytest.mark.parametrize("timestamp", [None, "soon", 1.5, True, [1]])
def test_a_message_without_a_usable_timestamp_is_an_adapter_error(timestamp: Any) -> None:
    item = page_item({"message": {"mid": "m", "text": "t"}})
    item["timestamp"] = timestamp
    with pytest.raises(AdapterError):
        parse_raw(envelope("page", PAGE, item))


def test_a_numeric_string_timestamp_is_read_as_milliseconds() -> None:
    item = page_item({"message": {"mid": "m", "text": "t"}})
    item["timestamp"] = "1763798400123"
    assert message(parse_raw(envelope("page", PAGE, item))).sent_at == datetime(
        2025, 11, 22, 8, 0, 0, 123000, tzinfo=UTC
    )


# ================================================================ Instagram
def test_instagram_text_is_an_inbound_message() -> None:
    event = message(parse_file("meta/instagram_text.json"))
    assert event.channel is Channel.INSTAGRAM
    assert (event.account_id, event.contact_id) == (IG_ACCOUNT, IG_USER)
    assert event.direction is Direction.IN
    assert event.text == "Is the blue one back in stock?"


def test_instagram_echo_is_outbound_to_the_customer() -> None:
    event = message(parse_file("meta/instagram_echo.json"))
    assert event.direction is Direction.OUT
    assert event.contact_id == IG_USER
    assert event.origin_tag is None


def test_an_instagram_message_from_the_account_itself_is_outbound() -> None:
    raw = envelope(
        "instagram", IG_ACCOUNT, ig_item({"message": {"mid": "m", "text": "t"}}, IG_ACCOUNT, IG_USER)
    )
    assert message(parse_raw(raw)).direction is Direction.OUT


@pytest.mark.parametrize(
    ("flag", "kind"),
    [("is_self", "is_self"), ("is_deleted", "message_deleted"), ("is_unsupported", "unsupported")],
)
def test_instagram_self_deleted_and_unsupported_messages_are_ignored(flag: str, kind: str) -> None:
    raw = envelope("instagram", IG_ACCOUNT, ig_item({"message": {"mid": "m", "text": "t", flag: True}}))
    assert ignored(parse_raw(raw)).kind == kind


def test_instagram_seen_is_a_read_status_of_one_mid() -> None:
    raw = envelope("instagram", IG_ACCOUNT, ig_item({"read": {"mid": "m_seen"}}))
    event = one(parse_raw(raw))
    assert isinstance(event, StatusEvent)
    assert (event.status, event.platform_message_id, event.watermark) == ("read", "m_seen", None)


def test_instagram_reply_to_is_kept() -> None:
    raw = envelope(
        "instagram", IG_ACCOUNT, ig_item({"message": {"mid": "m2", "text": "t", "reply_to": {"mid": "m1"}}})
    )
    assert message(parse_raw(raw)).reply_to == "m1"


def test_instagram_story_mention_is_an_attachment_message() -> None:
    raw = envelope(
        "instagram",
        IG_ACCOUNT,
        ig_item(
            {"message": {"mid": "m", "attachments": [{"type": "story_mention", "payload": {"url": "u"}}]}}
        ),
    )
    event = message(parse_raw(raw))
    assert event.kind == "attachment"
    assert event.attachments == (Attachment(kind="story_mention", url="u"),)


def test_instagram_postback_is_an_inbound_message() -> None:
    raw = envelope(
        "instagram",
        IG_ACCOUNT,
        ig_item(
            {"postback": {"mid": "m_pb", "title": "Track my order", "payload": "ICEBREAKER_TRACK_ORDER"}}
        ),
    )
    event = message(parse_raw(raw))
    assert (event.kind, event.reply_payload, event.direction) == (
        "postback",
        "ICEBREAKER_TRACK_ORDER",
        Direction.IN,
    )


def test_instagram_comments_changes_are_public_messages_not_direct_ones() -> None:
    raw = json.dumps(
        {
            "object": "instagram",
            "entry": [
                {
                    "id": IG_ACCOUNT,
                    "changes": [
                        {"field": "comments", "value": {"id": "c1", "from": {"id": IG_USER}, "text": "x"}}
                    ],
                }
            ],
        }
    ).encode()
    # (the public comment flow is specified in test_meta_comments.py)
    event = message(parse_raw(raw))
    assert (event.public, event.kind, event.thread_id) == (True, "comment", "c1")


# ================================================================ WhatsApp
def test_whatsapp_text_is_an_inbound_message_with_the_profile_name() -> None:
    event = message(parse_file("meta/whatsapp_text.json"))
    assert event.channel is Channel.WHATSAPP
    assert (event.account_id, event.contact_id) == (WA_NUMBER, WA_USER)
    assert event.text == "Does it come in another color?"
    assert event.contact_name == "Sheena Nelson"
    # A string of Unix seconds, normalised to platform time.
    assert event.sent_at == datetime.fromtimestamp(1763798400, tz=UTC)


def test_whatsapp_button_reply_carries_the_button_id_and_context() -> None:
    event = message(parse_file("meta/whatsapp_interactive.json"))
    assert (event.kind, event.text, event.reply_payload) == ("interactive", "Excellent", "csat_5")
    assert event.reply_to == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"


def test_whatsapp_list_reply_carries_the_row_id() -> None:
    raw = wa_message(
        {
            "type": "interactive",
            "interactive": {
                "type": "list_reply",
                "list_reply": {"id": "row_2", "title": "Returns", "description": "d"},
            },
        }
    )
    event = message(parse_raw(raw))
    assert (event.text, event.reply_payload) == ("Returns", "row_2")


def test_whatsapp_template_quick_reply_button_carries_its_payload() -> None:
    raw = wa_message({"type": "button", "button": {"payload": "CSAT_4", "text": "Good"}})
    event = message(parse_raw(raw))
    assert (event.kind, event.text, event.reply_payload) == ("button", "Good", "CSAT_4")


@pytest.mark.parametrize("kind", ["image", "audio", "video", "document", "sticker"])
def test_whatsapp_media_keeps_the_media_id_not_a_url(kind: str) -> None:
    raw = wa_message({"type": kind, kind: {"id": "media-1", "mime_type": "image/jpeg", "caption": "look"}})
    event = message(parse_raw(raw))
    assert event.attachments == (Attachment(kind=kind, media_id="media-1", mime_type="image/jpeg"),)
    assert event.text == "look"


def test_whatsapp_location_is_a_message() -> None:
    raw = wa_message({"type": "location", "location": {"latitude": 1, "longitude": 2, "name": "Shop"}})
    event = message(parse_raw(raw))
    assert (event.kind, event.text) == ("location", "Shop")


@pytest.mark.parametrize(
    "kind", ["reaction", "system", "unsupported", "order", "request_welcome", "contacts"]
)
def test_unsupported_whatsapp_kinds_are_ignored_not_errors(kind: str) -> None:
    raw = wa_message({"type": kind, kind: {}}, contacts=kind != "system")
    event = ignored(parse_raw(raw))
    assert event.kind == kind
    assert event.channel is Channel.WHATSAPP


def test_a_whatsapp_message_without_contacts_has_no_name() -> None:
    raw = wa_message({"type": "text", "text": {"body": "x"}}, contacts=False)
    assert message(parse_raw(raw)).contact_name is None


@pytest.mark.parametrize("timestamp", [None, "yesterday", "", True])
def test_a_whatsapp_message_with_a_bad_timestamp_is_an_adapter_error(timestamp: Any) -> None:
    raw = wa_message({"type": "text", "text": {"body": "x"}, "timestamp": timestamp})
    with pytest.raises(AdapterError):
        parse_raw(raw)


def test_whatsapp_sent_and_failed_statuses() -> None:
    sent, failed = parse_file("meta/whatsapp_statuses.json")
    assert isinstance(sent, StatusEvent)
    assert isinstance(failed, StatusEvent)
    assert (sent.status, sent.error_code) == ("sent", None)
    assert sent.at == datetime.fromtimestamp(1763798500, tz=UTC)
    assert failed.status == "failed"
    assert failed.error_code == "131049"
    assert failed.error_title == "This message was not delivered to maintain healthy ecosystem engagement."
    assert failed.platform_message_id == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA"


@pytest.mark.parametrize("status", ["sent", "delivered", "read", "failed", "played"])
def test_every_whatsapp_status_is_a_status_never_a_message(status: str) -> None:
    event = one(parse_raw(wa_status({"status": status})))
    assert isinstance(event, StatusEvent)
    assert event.status == status


# ================================================================ loop guards (platforms.md §8.5)
LOOP_GUARD_CASES = {
    "messenger-echo": event_bytes("meta/messenger_echo.json"),
    "messenger-sender-is-page": envelope(
        "page", PAGE, page_item({"message": {"mid": "m", "text": "t"}}, PAGE, CUSTOMER)
    ),
    "messenger-delivery": event_bytes("meta/messenger_delivery.json"),
    "messenger-read": event_bytes("meta/messenger_read.json"),
    "messenger-reaction": envelope("page", PAGE, page_item({"reaction": {"mid": "m", "action": "react"}})),
    "instagram-echo": event_bytes("meta/instagram_echo.json"),
    "instagram-self": envelope(
        "instagram", IG_ACCOUNT, ig_item({"message": {"mid": "m", "text": "t", "is_self": True}})
    ),
    "instagram-seen": envelope("instagram", IG_ACCOUNT, ig_item({"read": {"mid": "m"}})),
    "instagram-edit": envelope(
        "instagram", IG_ACCOUNT, ig_item({"message_edit": {"mid": "m", "text": "t", "num_edit": 1}})
    ),
    "whatsapp-statuses": event_bytes("meta/whatsapp_statuses.json"),
}


@pytest.mark.parametrize("raw", LOOP_GUARD_CASES.values(), ids=LOOP_GUARD_CASES.keys())
def test_no_loop_guarded_event_is_an_inbound_customer_message(raw: bytes) -> None:
    events = parse_raw(raw)
    assert events
    assert not [e for e in events if isinstance(e, MessageEvent) and e.direction is Direction.IN]


def test_standby_customer_messages_are_flagged_so_no_step_auto_answers_them() -> None:
    raw = envelope("page", PAGE, page_item({"message": {"mid": "m", "text": "t"}}), key="standby")
    assert message(parse_raw(raw)).standby


def test_the_adapters_are_pure_the_same_input_gives_the_same_output() -> None:
    raw = event_bytes("meta/batched.json")
    assert parse_raw(raw) == parse_raw(raw)
