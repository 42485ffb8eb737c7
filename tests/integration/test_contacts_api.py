"""Contacts, links and notes through AgentApiFunction's handler, on the template's table under moto."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from carehooks import clock
from carehooks.domain.models import Channel
from carehooks.store import Store
from carehooks.store.contacts import Contact, Identity
from carehooks.wiring.store import make_store
from tests.integration.agent_api_client import (
    ADA,
    BOB,
    PAGE,
    T0,
    FakeDeliver,
    api_event,
    call,
    inbound,
    installed,
)
from tests.integration.conftest import TABLE, Aws

NOW = T0 + timedelta(hours=1)
PSID = "5987263140083395"
WA_NUMBER = "106540352242922"
WA_ID = "16505551234"
CONTACT = f"/api/contacts/messenger/{PAGE}/{PSID}"
WA_CONTACT = f"/api/contacts/whatsapp/{WA_NUMBER}/{WA_ID}"


@pytest.fixture
def store(aws: Aws) -> Store:
    return make_store(TABLE)


@pytest.fixture
def deliver() -> FakeDeliver:
    return FakeDeliver()


@pytest.fixture
def api(store: Store, deliver: FakeDeliver) -> Iterator[None]:
    with clock.frozen(NOW), installed(store, deliver, clock.now):
        yield


def request(method: str, path: str, body: Any = None, claims: dict[str, str] = ADA) -> tuple[int, Any]:
    answer = call(api_event(method, path, body, claims=claims))
    return answer.status, answer.body


def fields_of(body: dict[str, Any]) -> set[str]:
    """The fields an error names, without their location (``path.channel`` is ``channel``)."""
    return {f["field"].removeprefix("path.").removeprefix("body.") for f in body["error"].get("fields", [])}


def customer(store: Store) -> None:
    inbound(store, PSID, "where is my order?", T0)


# -- reading -----------------------------------------------------------------------------------------
def test_a_customer_who_wrote_is_a_contact_with_the_contract_fields(store: Store, api: None) -> None:
    # Given a Messenger customer who wrote (no contact item yet: the processor's step did not run)
    customer(store)
    # When an agent reads the contact
    status, body = request("GET", CONTACT)
    # Then it is made from the conversations, with every field of the contract
    assert status == 200
    assert set(body) >= {
        "channel",
        "account_id",
        "contact_id",
        "name",
        "username",
        "avatar_url",
        "attributes",
        "identities",
        "created_at",
        "last_seen_at",
    }
    assert (body["channel"], body["account_id"], body["contact_id"]) == ("messenger", PAGE, PSID)
    assert body["attributes"] == {}
    assert body["identities"] == []
    assert body["last_seen_at"] == clock.iso(T0)


def test_last_seen_is_the_later_of_the_contact_and_its_latest_conversation(store: Store, api: None) -> None:
    customer(store)
    store.save_contacts([Contact(Identity("messenger", PAGE, PSID), created_at=T0, last_seen_at=T0)])
    later = T0 + timedelta(minutes=20)
    inbound(store, PSID, "any news?", later)  # a follow-up: the contact item is not written
    status, body = request("GET", CONTACT)
    assert status == 200
    assert body["last_seen_at"] == clock.iso(later)


def test_an_unknown_contact_is_404_and_an_unknown_channel_422(store: Store, api: None) -> None:
    assert request("GET", CONTACT)[0] == 404
    assert request("PATCH", CONTACT, {"name": "x"})[0] == 404
    assert request("GET", f"{CONTACT}/notes")[0] == 404
    assert request("POST", f"{CONTACT}/notes", {"text": "x"})[0] == 404
    status, body = request("GET", f"/api/contacts/myspace/{PAGE}/{PSID}")
    assert status == 422
    assert "channel" in fields_of(body)


# -- changing ----------------------------------------------------------------------------------------
def test_a_name_override_wins_and_reaches_the_current_conversation(store: Store, api: None) -> None:
    customer(store)
    status, body = request("PATCH", CONTACT, {"name": "Sheena Nelson"})
    assert status == 200
    assert body["name"] == "Sheena Nelson"
    conv = store.latest_conversation("messenger", PAGE, PSID)
    assert conv is not None
    assert conv.contact_name == "Sheena Nelson"
    status, listed = request("GET", "/api/conversations")
    assert [c["contact_name"] for c in listed["items"]] == ["Sheena Nelson"]


def test_removing_the_override_shows_the_platforms_name_again(store: Store, api: None) -> None:
    customer(store)
    store.save_contacts([Contact(Identity("messenger", PAGE, PSID), created_at=T0, name="Platform Name")])
    assert request("PATCH", CONTACT, {"name": "Agent Name"})[1]["name"] == "Agent Name"
    status, body = request("PATCH", CONTACT, {"name": None})
    assert status == 200
    assert body["name"] == "Platform Name"


def test_attributes_merge_and_null_removes_a_key(store: Store, api: None) -> None:
    customer(store)
    request("PATCH", CONTACT, {"attributes": {"plan": "gold", "orders": 3, "vip": True}})
    status, body = request("PATCH", CONTACT, {"attributes": {"plan": None, "ltv": 120.5}})
    assert status == 200
    assert body["attributes"] == {"orders": 3, "vip": True, "ltv": 120.5}
    assert request("GET", CONTACT)[1]["attributes"] == body["attributes"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"attributes": {"1bad": "x"}}, "attributes"),
        ({"attributes": {"k": "x" * 1001}}, "attributes"),
        ({"attributes": {"k": {"nested": 1}}}, "attributes"),
        ({"attributes": {"k": [1, 2]}}, "attributes"),
        ({"attributes": {f"k{i}": i for i in range(51)}}, "attributes"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"nickname": "x"}, "nickname"),
    ],
)
def test_invalid_patches_are_422_naming_the_field(
    store: Store, api: None, patch: dict[str, Any], field: str
) -> None:
    customer(store)
    status, body = request("PATCH", CONTACT, patch)
    assert status == 422
    assert any(f == field or f.startswith(f"{field}.") for f in fields_of(body)), body
    assert store.get_contact(Identity("messenger", PAGE, PSID)) is None


def test_the_attributes_total_size_is_limited_across_patches(store: Store, api: None) -> None:
    customer(store)
    for n in range(8):
        assert request("PATCH", CONTACT, {"attributes": {f"k{n}": "x" * 1000}})[0] == 200
    status, body = request("PATCH", CONTACT, {"attributes": {"k8": "x" * 1000}})
    assert status == 422
    assert fields_of(body) == {"attributes"}
    assert "k8" not in request("GET", CONTACT)[1]["attributes"]


# -- links -------------------------------------------------------------------------------------------
def test_linking_spans_the_history_both_ways_and_unlinking_undoes_it(store: Store, api: None) -> None:
    # Given the same person on Messenger and on WhatsApp
    customer(store)
    inbound(
        store,
        WA_ID,
        "hi from whatsapp",
        T0 + timedelta(minutes=5),
        channel=Channel.WHATSAPP,
        account=WA_NUMBER,
    )
    assert len(request("GET", f"{CONTACT}/conversations")[1]["items"]) == 1
    # When an agent links the WhatsApp identity
    status, body = request(
        "POST", f"{CONTACT}/links", {"channel": "whatsapp", "account_id": WA_NUMBER, "contact_id": WA_ID}
    )
    assert status == 200
    assert body["identities"] == [{"channel": "whatsapp", "account_id": WA_NUMBER, "contact_id": WA_ID}]
    # Then both histories list both conversations, newest first
    for path in (CONTACT, WA_CONTACT):
        items = request("GET", f"{path}/conversations")[1]["items"]
        assert [c["channel"] for c in items] == ["whatsapp", "messenger"]
    assert request("GET", WA_CONTACT)[1]["identities"] == [
        {"channel": "messenger", "account_id": PAGE, "contact_id": PSID}
    ]
    # And each side records a contact event
    assert [e.action for e in store.contact_events(Identity("whatsapp", WA_NUMBER, WA_ID))] == ["linked"]
    # When the agent unlinks them
    status, body = request("DELETE", f"{WA_CONTACT}/links/messenger/{PAGE}/{PSID}")
    assert status == 200
    assert body["identities"] == []
    assert len(request("GET", f"{CONTACT}/conversations")[1]["items"]) == 1
    assert request("GET", CONTACT)[1]["identities"] == []
    # Unlinking again is a 404
    assert request("DELETE", f"{WA_CONTACT}/links/messenger/{PAGE}/{PSID}")[0] == 404


def test_linking_to_itself_is_422_and_to_an_unknown_identity_404(store: Store, api: None) -> None:
    customer(store)
    status, body = request(
        "POST", f"{CONTACT}/links", {"channel": "messenger", "account_id": PAGE, "contact_id": PSID}
    )
    assert status == 422
    assert fields_of(body) == {"contact_id"}
    status, _ = request(
        "POST", f"{CONTACT}/links", {"channel": "whatsapp", "account_id": WA_NUMBER, "contact_id": WA_ID}
    )
    assert status == 404
    status, body = request(
        "POST", f"{CONTACT}/links", {"channel": "fax", "account_id": "1", "contact_id": "2"}
    )
    assert status == 422
    assert "channel" in fields_of(body)
    assert store.get_contact(Identity("messenger", PAGE, PSID)) is None


def test_linking_twice_changes_nothing(store: Store, api: None) -> None:
    customer(store)
    inbound(store, WA_ID, "hi", T0, channel=Channel.WHATSAPP, account=WA_NUMBER)
    link = {"channel": "whatsapp", "account_id": WA_NUMBER, "contact_id": WA_ID}
    assert request("POST", f"{CONTACT}/links", link)[0] == 200
    status, body = request("POST", f"{CONTACT}/links", link)
    assert status == 200
    assert len(body["identities"]) == 1
    assert len(store.contact_events(Identity("messenger", PAGE, PSID))) == 1


# -- notes -------------------------------------------------------------------------------------------
def test_contact_notes_have_author_and_time_and_span_linked_identities(store: Store, api: None) -> None:
    customer(store)
    inbound(store, WA_ID, "hi", T0, channel=Channel.WHATSAPP, account=WA_NUMBER)
    status, note = request("POST", f"{CONTACT}/notes", {"text": "prefers email"})
    assert status == 201
    assert set(note) >= {"id", "text", "author", "created_at"}
    assert (note["text"], note["author"], note["created_at"]) == ("prefers email", ADA["sub"], clock.iso(NOW))
    request("POST", f"{CONTACT}/links", {"channel": "whatsapp", "account_id": WA_NUMBER, "contact_id": WA_ID})
    request("POST", f"{WA_CONTACT}/notes", {"text": "VIP"}, claims=BOB)
    for path in (CONTACT, WA_CONTACT):
        items = request("GET", f"{path}/notes")[1]["items"]
        assert sorted(n["text"] for n in items) == ["VIP", "prefers email"]
    actions = [e.action for e in store.contact_events(Identity("messenger", PAGE, PSID))]
    assert "note_added" in actions


def test_only_the_author_deletes_a_note(store: Store, api: None) -> None:
    customer(store)
    note = request("POST", f"{CONTACT}/notes", {"text": "call back tuesday"})[1]
    status, body = request("DELETE", f"{CONTACT}/notes/{note['id']}", claims=BOB)
    assert status == 403
    assert body["error"]["code"] == "forbidden"
    assert len(request("GET", f"{CONTACT}/notes")[1]["items"]) == 1
    status, _ = request("DELETE", f"{CONTACT}/notes/{note['id']}")
    assert status == 204
    assert request("GET", f"{CONTACT}/notes")[1]["items"] == []
    assert request("DELETE", f"{CONTACT}/notes/{note['id']}")[0] == 404
    assert request("DELETE", f"{CONTACT}/notes/not-a-note")[0] == 404
    actions = [e.action for e in store.contact_events(Identity("messenger", PAGE, PSID))]
    assert actions[:2] == ["note_deleted", "note_added"]


@pytest.mark.parametrize("body", [{"text": ""}, {"text": "   "}, {"text": "x" * 4001}, {"note": "x"}, {}])
def test_invalid_notes_are_422(store: Store, api: None, body: dict[str, Any]) -> None:
    conv = inbound(store, PSID, "hello", T0)
    for path in (f"{CONTACT}/notes", f"/api/conversations/{conv.id}/notes"):
        status, answer = request("POST", path, body)
        assert status == 422
        assert fields_of(answer)
    assert request("GET", f"{CONTACT}/notes")[1]["items"] == []


def test_conversation_notes_are_listed_and_recorded_as_events(store: Store, api: None) -> None:
    conv = inbound(store, PSID, "hello", T0)
    status, note = request("POST", f"/api/conversations/{conv.id}/notes", {"text": "refund approved"})
    assert status == 201
    assert (note["author"], note["conversation_id"]) == (ADA["sub"], conv.id)
    assert [n["text"] for n in request("GET", f"/api/conversations/{conv.id}/notes")[1]["items"]] == [
        "refund approved"
    ]
    events = request("GET", f"/api/conversations/{conv.id}")[1]["events"]
    assert [(e["action"], e["actor"], e["details"]) for e in events] == [
        ("note_added", ADA["sub"], {"note_id": note["id"]})
    ]
    # The conversation itself is unchanged (a note is not a change of state)
    after = store.get_conversation(conv.id)
    assert after is not None
    assert replace(after, extra={}) == replace(conv, extra={})


def test_notes_of_an_unknown_conversation_are_404(store: Store, api: None) -> None:
    assert request("GET", "/api/conversations/01JAAAAAAAAAAAAAAAAAAAAAAA/notes")[0] == 404
    assert request("POST", "/api/conversations/01JAAAAAAAAAAAAAAAAAAAAAAA/notes", {"text": "x"})[0] == 404


def test_a_patch_that_changes_nothing_writes_nothing(store: Store, api: None) -> None:
    customer(store)
    assert request("PATCH", CONTACT, {})[0] == 200
    assert store.get_contact(Identity("messenger", PAGE, PSID)) is None
    request("PATCH", CONTACT, {"attributes": {"plan": "gold"}})
    request("PATCH", CONTACT, {"attributes": {"plan": "gold"}})
    assert len(store.contact_events(Identity("messenger", PAGE, PSID))) == 1
