"""Splitting a verified Meta body into queued events: every batching level, routing keys, bad shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from carehooks.channels.meta.ingress import split
from carehooks.domain.models import Channel
from carehooks.ingress.queue import deduplication_id
from carehooks.web.errors import MalformedBodyError
from tests.helpers import event_bytes, event_json

NOW = datetime(2025, 11, 22, 8, 0, tzinfo=UTC)
PAGE = "112233445566778"
CUSTOMER = "7318845612093471"


def body(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def page_body(*messaging: dict[str, Any], standby: list[dict[str, Any]] | None = None) -> bytes:
    entry: dict[str, Any] = {"id": PAGE, "time": 1763798400000, "messaging": list(messaging)}
    if standby is not None:
        entry["standby"] = standby
    return body({"object": "page", "entry": [entry]})


def text_from(sender: str, mid: str, recipient: str = PAGE, **message: Any) -> dict[str, Any]:
    return {
        "sender": {"id": sender},
        "recipient": {"id": recipient},
        "timestamp": 1763798400000,
        "message": {"mid": mid, "text": "hi", **message},
    }


# ---------------------------------------------------------------- batching levels
def test_a_batch_gives_one_event_per_messaging_element_across_entries() -> None:
    events = split(event_bytes("meta/batched.json"), NOW)
    assert [e.event_id for e in events] == ["m_batch_a1", "m_batch_a2", "m_batch_b1", "m_batch_c1"]
    assert [e.account_id for e in events] == [PAGE, PAGE, PAGE, "998877665544332"]
    assert [e.contact_id for e in events] == [CUSTOMER, CUSTOMER, "5550001112223334", "4440009998887776"]
    assert [e.position for e in events] == [0, 1, 2, 3]


def test_the_group_is_channel_account_contact_so_each_customer_keeps_its_order() -> None:
    events = split(event_bytes("meta/batched.json"), NOW)
    assert [e.group_id for e in events] == [
        f"messenger#{PAGE}#{CUSTOMER}",
        f"messenger#{PAGE}#{CUSTOMER}",
        f"messenger#{PAGE}#5550001112223334",
        "messenger#998877665544332#4440009998887776",
    ]


def test_each_event_carries_its_own_raw_slice_and_the_receive_time() -> None:
    raw = event_bytes("meta/batched.json")
    events = split(raw, NOW)
    entries = json.loads(raw)["entry"]
    assert events[1].payload == {"kind": "messaging", "entry_id": PAGE, "event": entries[0]["messaging"][1]}
    assert all(e.received_at == NOW and e.source == "meta" for e in events)


def test_an_empty_batch_gives_no_events() -> None:
    assert split(b'{"object":"page","entry":[]}', NOW) == []
    assert split(body({"object": "page", "entry": [{"id": PAGE, "time": 1}]}), NOW) == []


@pytest.mark.parametrize(
    ("path", "channel"),
    [
        ("meta/messenger_text.json", Channel.MESSENGER),
        ("meta/instagram_text.json", Channel.INSTAGRAM),
        ("meta/whatsapp_text.json", Channel.WHATSAPP),
    ],
)
def test_the_envelope_object_picks_the_channel(path: str, channel: Channel) -> None:
    (event,) = split(event_bytes(path), NOW)
    assert event.channel is channel


def test_standby_events_are_queued_and_marked_as_standby() -> None:
    # A thread another app owns (handover protocol) arrives under entry[].standby[].
    raw = page_body(standby=[text_from(CUSTOMER, "m_standby_1")])
    (event,) = split(raw, NOW)
    assert event.payload["kind"] == "standby"
    assert event.event_id == "m_standby_1"
    assert event.contact_id == CUSTOMER


def test_messaging_and_standby_in_one_entry_both_count() -> None:
    raw = page_body(text_from(CUSTOMER, "m_1"), standby=[text_from(CUSTOMER, "m_2")])
    assert [(e.event_id, e.payload["kind"]) for e in split(raw, NOW)] == [
        ("m_1", "messaging"),
        ("m_2", "standby"),
    ]


# ---------------------------------------------------------------- contacts and event ids
def test_an_echo_belongs_to_the_customer_it_was_sent_to() -> None:
    (event,) = split(event_bytes("meta/messenger_echo.json"), NOW)
    assert event.contact_id == CUSTOMER
    assert event.group_id == f"messenger#{PAGE}#{CUSTOMER}"


def test_a_message_whose_sender_is_the_page_belongs_to_the_recipient_even_without_is_echo() -> None:
    (event,) = split(page_body(text_from(PAGE, "m_page", recipient=CUSTOMER)), NOW)
    assert event.contact_id == CUSTOMER


def test_an_instagram_echo_belongs_to_the_customer() -> None:
    (event,) = split(event_bytes("meta/instagram_echo.json"), NOW)
    assert event.contact_id == "6021459874123365"
    assert event.account_id == "17841405822304914"


def test_numeric_ids_are_turned_into_strings() -> None:
    raw = body(
        {
            "object": "page",
            "entry": [
                {
                    "id": 112233445566778,
                    "messaging": [
                        {
                            "sender": {"id": 7318845612093471},
                            "recipient": {"id": 112233445566778},
                            "timestamp": 1,
                            "message": {"mid": "m_num", "text": "x"},
                        }
                    ],
                }
            ],
        }
    )
    (event,) = split(raw, NOW)
    assert (event.account_id, event.contact_id) == (PAGE, CUSTOMER)


@pytest.mark.parametrize(
    ("element", "event_id"),
    [
        ({"message": {"mid": "m_1", "text": "x"}}, "m_1"),
        ({"postback": {"mid": "m_pb", "title": "Go", "payload": "GO"}}, "m_pb"),
        ({"delivery": {"mids": ["m_1"], "watermark": 1458668856253}}, f"delivery:{CUSTOMER}:1458668856253"),
        ({"read": {"watermark": 1458668856253}}, f"read:{CUSTOMER}:1458668856253"),
        ({"read": {"mid": "m_seen"}}, f"read:{CUSTOMER}:m_seen"),
        ({"reaction": {"mid": "m_1", "action": "react", "emoji": "x"}}, "m_1:reaction:"),
        ({"message_edit": {"mid": "m_1", "text": "y", "num_edit": 2}}, "m_1:message_edit:2"),
    ],
    ids=["message", "postback", "delivery", "read-watermark", "read-mid", "reaction", "edit"],
)
def test_the_event_id_is_the_platform_id_or_a_stable_stand_in(element: dict[str, Any], event_id: str) -> None:
    item = {"sender": {"id": CUSTOMER}, "recipient": {"id": PAGE}, "timestamp": 1, **element}
    (event,) = split(page_body(item), NOW)
    assert event.event_id == event_id


def test_an_edit_or_reaction_never_shares_the_dedup_id_of_the_message_it_changes() -> None:
    items = [
        {"sender": {"id": CUSTOMER}, "recipient": {"id": PAGE}, "timestamp": 1, **part}
        for part in (
            {"message": {"mid": "m_1", "text": "x"}},
            {"reaction": {"mid": "m_1", "action": "react"}},
            {"message_edit": {"mid": "m_1", "text": "y", "num_edit": 1}},
            {"message_edit": {"mid": "m_1", "text": "z", "num_edit": 2}},
        )
    ]
    events = split(page_body(*items), NOW)
    assert len({deduplication_id(e) for e in events}) == 4


def test_an_event_without_any_id_gets_a_content_hash_that_is_stable() -> None:
    item = {"sender": {"id": CUSTOMER}, "recipient": {"id": PAGE}, "timestamp": 1, "optin": {"ref": "x"}}
    first = split(page_body(item), NOW)[0].event_id
    again = split(page_body(item), datetime(2030, 1, 1, tzinfo=UTC))[0].event_id
    assert first.startswith("sha256:")
    assert first == again


def test_a_redelivered_body_gives_the_same_dedup_ids() -> None:
    raw = event_bytes("meta/batched.json")
    first = [deduplication_id(e) for e in split(raw, NOW)]
    later = [deduplication_id(e) for e in split(raw, datetime(2025, 11, 29, tzinfo=UTC))]
    assert first == later
    assert all(len(d) <= 128 and d.isalnum() for d in first)


def test_the_same_mid_on_two_channels_does_not_share_a_dedup_id() -> None:
    messenger = split(page_body(text_from(CUSTOMER, "m_same")), NOW)[0]
    instagram = messenger.model_copy(update={"channel": Channel.INSTAGRAM})
    assert deduplication_id(messenger) != deduplication_id(instagram)


# ---------------------------------------------------------------- WhatsApp
def test_a_whatsapp_message_is_keyed_by_phone_number_id_and_wa_id() -> None:
    (event,) = split(event_bytes("meta/whatsapp_text.json"), NOW)
    assert event.account_id == "106540352242922"
    assert event.contact_id == "16505551234"
    assert event.event_id == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    assert event.payload["kind"] == "message"
    assert event.payload["contact"] == {"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}


def test_whatsapp_statuses_give_one_event_each_keyed_by_id_and_status() -> None:
    events = split(event_bytes("meta/whatsapp_statuses.json"), NOW)
    assert [e.payload["kind"] for e in events] == ["status", "status"]
    assert [e.event_id for e in events] == [
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=:sent",
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA:failed",
    ]
    assert {e.contact_id for e in events} == {"16505551234"}


def test_successive_statuses_of_one_message_are_distinct_events() -> None:
    doc = event_json("meta/whatsapp_statuses.json")
    status = doc["entry"][0]["changes"][0]["value"]["statuses"][0]
    doc["entry"][0]["changes"][0]["value"]["statuses"] = [
        {**status, "status": "sent"},
        {**status, "status": "delivered"},
        {**status, "status": "read"},
    ]
    assert len({deduplication_id(e) for e in split(body(doc), NOW)}) == 3


def test_a_whatsapp_system_message_without_contacts_is_still_queued() -> None:
    doc = event_json("meta/whatsapp_text.json")
    value = doc["entry"][0]["changes"][0]["value"]
    del value["contacts"]
    value["messages"][0] = {
        "from": "16505551234",
        "id": "wamid.system",
        "timestamp": "1763798400",
        "type": "system",
        "system": {"body": "User changed number", "type": "user_changed_number"},
    }
    (event,) = split(body(doc), NOW)
    assert event.payload["contact"] is None


def test_messages_and_statuses_of_several_numbers_in_one_batch() -> None:
    text = event_json("meta/whatsapp_text.json")
    statuses = event_json("meta/whatsapp_statuses.json")
    other = json.loads(json.dumps(text))
    other["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    other["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.other"
    doc = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": text["entry"][0]["changes"] + statuses["entry"][0]["changes"],
            },
            other["entry"][0],
        ],
    }
    events = split(body(doc), NOW)
    assert [(e.account_id, e.payload["kind"]) for e in events] == [
        ("106540352242922", "message"),
        ("106540352242922", "status"),
        ("106540352242922", "status"),
        ("999", "message"),
    ]
    assert [e.position for e in events] == [0, 1, 2, 3]


def test_whatsapp_changes_of_other_fields_are_not_queued() -> None:
    doc = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [{"field": "message_template_status_update", "value": {"event": "APPROVED"}}],
            }
        ],
    }
    assert split(body(doc), NOW) == []


def test_page_changes_are_queued_whole_for_the_adapter_to_decide() -> None:
    doc = {
        "object": "page",
        "entry": [
            {
                "id": PAGE,
                "time": 1,
                "changes": [
                    {
                        "field": "feed",
                        "value": {
                            "item": "comment",
                            "comment_id": "c_1",
                            "verb": "add",
                            "from": {"id": "42"},
                        },
                    }
                ],
            }
        ],
    }
    (event,) = split(body(doc), NOW)
    assert event.payload["kind"] == "change"
    assert event.contact_id == "42"
    assert event.event_id.startswith("change:feed:c_1:add:")


# ---------------------------------------------------------------- malformed bodies
@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00",
        b'{"object":"page","entry":[',
        b"[]",
        b'"page"',
        b"null",
        b"{}",
        b'{"object":"page"}',
        b'{"object":"page","entry":{}}',
        b'{"object":"user","entry":[]}',
        b'{"object":"page","entry":[{"time":1}]}',
        b'{"object":"page","entry":["x"]}',
        b'{"object":"page","entry":[{"id":"1","messaging":[{"recipient":{"id":"1"}}]}]}',
        b'{"object":"page","entry":[{"id":"1","messaging":[{"sender":{},"recipient":{"id":"1"}}]}]}',
        b'{"object":"page","entry":[{"id":"1","messaging":"x"}]}',
        b'{"object":"page","entry":[{"id":"1","changes":[{"value":{}}]}]}',
    ],
    ids=[
        "empty",
        "text",
        "binary",
        "truncated",
        "array",
        "string",
        "null",
        "empty-object",
        "no-entry",
        "entry-not-list",
        "unknown-object",
        "entry-without-id",
        "entry-not-object",
        "messaging-without-sender",
        "sender-without-id",
        "messaging-not-list",
        "change-without-field",
    ],
)
def test_a_body_that_is_not_a_meta_envelope_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedBodyError):
        split(raw, NOW)


def whatsapp_value(**value: Any) -> bytes:
    return body(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
        }
    )


@pytest.mark.parametrize(
    "raw",
    [
        whatsapp_value(messages=[{"from": "1", "id": "w", "timestamp": "1", "type": "text"}]),
        whatsapp_value(metadata={}, messages=[{"from": "1", "id": "w"}]),
        whatsapp_value(metadata={"phone_number_id": "1"}, messages=[{"id": "w"}]),
        whatsapp_value(metadata={"phone_number_id": "1"}, messages=[{"from": "1"}]),
        whatsapp_value(metadata={"phone_number_id": "1"}, messages=["w"]),
        whatsapp_value(metadata={"phone_number_id": "1"}, statuses=[{"status": "sent", "recipient_id": "1"}]),
        whatsapp_value(metadata={"phone_number_id": "1"}, statuses=[{"id": "w", "status": "sent"}]),
    ],
    ids=[
        "no-metadata",
        "no-phone-number-id",
        "message-without-from",
        "message-without-id",
        "message-not-object",
        "status-without-id",
        "status-without-recipient",
    ],
)
def test_a_whatsapp_change_without_routing_keys_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedBodyError):
        split(raw, NOW)


def test_the_malformed_error_says_where_without_echoing_the_body() -> None:
    with pytest.raises(MalformedBodyError) as caught:
        split(b'{"object":"page","entry":[{"time":1,"secret":"s3cr3t"}]}', NOW)
    assert "entry.0.id" in caught.value.detail
    assert "s3cr3t" not in caught.value.detail
