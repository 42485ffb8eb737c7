"""The Store contract for erasure and export (issue 18): the same assertions on the in-memory store and on
DynamoDB Local (fixtures of :mod:`tests.integration.test_store_contract`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from carehooks.store import Store
from carehooks.store.contacts import Contact, ContactEvent, Identity, contact_note, conversation_note
from carehooks.store.dynamo import DynamoStore
from carehooks.store.erasure import Tombstone, contact_digest
from carehooks.store.events import ConversationEvent
from carehooks.store.memory import MemoryStore
from carehooks.store.sends import SendAttempt
from tests.integration.test_store_contract import CUSTOMER, PAGE, T0, dynamodb, record, store, text

__all__ = ["dynamodb", "store"]

ME = Identity("messenger", PAGE, CUSTOMER)
OTHER = Identity("messenger", PAGE, "9000000000000009")
WA = Identity("whatsapp", "106540352242922", "16505551234")
KEY = "contract-key"
LATER = T0 + timedelta(days=2)


def all_items(store: Store) -> list[dict[str, Any]]:
    """Every item of the table (tests only: a Scan)."""
    if isinstance(store, MemoryStore):
        return store.items()
    assert isinstance(store, DynamoStore)
    pages = store.client.get_paginator("scan").paginate(TableName=store.table_name)
    return [store.unmarshal(i) for page in pages for i in page["Items"]]


def mentions(item: dict[str, Any], value: str) -> bool:
    return value in repr(item)


def person(store: Store, who: Identity = ME, linked: tuple[Identity, ...] = ()) -> str:
    """A customer with two conversations, messages, events, notes, a contact, a send log and claims."""
    first = record(store, text(f"m1-{who.contact_id}", T0, "my card is 4111", contact=who.contact_id))
    store.claim("ack", first.id, T0, timedelta(days=400), owner="m1")
    store.claim("survey", first.id, T0, timedelta(days=30))
    store.claim("csat-alert", first.id, T0, timedelta(days=30))
    scope = f"{who.channel}#{who.account_id}#{who.contact_id}"
    for kind in ("ack-contact", "survey-contact", "profile"):
        store.claim(kind, scope, T0, timedelta(days=1))
    store.record_attempt(
        SendAttempt(
            conversation_id=first.id,
            at=T0,
            kind="ack",
            author="carehooks",
            status="failed",
            reason="blocked",
        )
    )
    store.save_with_event(
        replace(first, status="resolved"),
        ConversationEvent(first.id, "resolve", T0 + timedelta(minutes=1), "agent-ada"),
    )
    second = record(store, text(f"m2-{who.contact_id}", LATER, "again", contact=who.contact_id))
    note = conversation_note(second, "angry customer", "agent-ada", LATER)
    store.add_conversation_note(
        second,
        note,
        ConversationEvent(second.id, "note_added", LATER, "agent-ada", details={"note_id": note.id}),
    )
    store.save_contacts(
        [Contact(who, created_at=T0, name="Sheena", attributes={"plan": "gold"}, identities=linked)]
    )
    person_note = contact_note(who, "VIP", "agent-ada", T0)
    store.add_contact_note(
        person_note, ContactEvent(who, "note_added", T0, "agent-ada", {"note_id": person_note.id})
    )
    return first.id


def test_erasure_removes_everything_held_and_writes_the_tombstone(store: Store) -> None:
    # Given a person with everything the table can hold, and another customer
    first_id = person(store)
    person(store, OTHER)
    theirs = [i for i in all_items(store) if mentions(i, OTHER.contact_id)]
    # When the person is erased
    tombstone = Tombstone.new(ME, contact_digest(ME.contact_id, KEY), LATER)
    result = store.erase_contact(ME, tombstone)
    # Then no item names the person or their conversations any more
    left = all_items(store)
    assert not [i for i in left if mentions(i, ME.contact_id)]
    assert not [i for i in left if mentions(i, first_id)]
    assert result.conversations == 2
    assert result.items_deleted >= 12
    # And the other customer keeps every item
    assert [i for i in left if mentions(i, OTHER.contact_id)] == theirs
    # And the tombstone is exactly what the event publisher reads
    [stone] = [i for i in left if str(i["pk"]).startswith("ERASED#")]
    assert stone == {
        "pk": f"ERASED#messenger#{PAGE}#{contact_digest(ME.contact_id, KEY)}",
        "sk": "ERASED",
        "type": "tombstone",
        "channel": "messenger",
        "account_id": PAGE,
        "digest": contact_digest(ME.contact_id, KEY),
        "erased_at": "2025-11-24T09:00:00.000Z",
        "event_id": tombstone.event_id,
    }
    assert store.get_tombstone("messenger", PAGE, tombstone.digest) == tombstone
    assert store.get_tombstone("messenger", PAGE, contact_digest(OTHER.contact_id, KEY)) is None


def test_erasure_takes_the_identity_off_its_linked_identities(store: Store) -> None:
    person(store, ME, linked=(WA,))
    record(
        store,
        replace(text("wa-1", T0, "hi", contact=WA.contact_id, channel=WA.channel), account_id=WA.account_id),
    )
    [wa] = store.save_contacts([Contact(WA, created_at=T0, identities=(ME,))])
    store.save_contacts(
        [],
        [
            ContactEvent(WA, "linked", T0, "agent-ada", ME.as_dict()),
            ContactEvent(WA, "note_added", T0, "agent-ada", {"note_id": "n1"}),
        ],
    )
    store.erase_contact(ME, Tombstone.new(ME, contact_digest(ME.contact_id, KEY), LATER))
    kept = store.get_contact(WA)
    assert kept is not None
    assert kept.identities == ()
    assert [e.action for e in store.contact_events(WA)] == ["note_added"]
    assert store.latest_conversation(WA.channel, WA.account_id, WA.contact_id) is not None
    assert wa.version < kept.version


def test_export_holds_every_kind_of_item_and_none_once_erased(store: Store) -> None:
    assert store.export_contact(ME) is None
    first_id = person(store)
    document = store.export_contact(ME)
    assert document is not None
    assert document["identity"] == ME.as_dict()
    assert document["contact"]["attributes"] == {"plan": "gold"}
    assert {c["id"] for c in document["conversations"]} >= {first_id}
    assert len(document["conversations"]) == 2
    assert sorted(m["text"] for m in document["messages"]) == ["again", "my card is 4111"]
    assert [n["text"] for n in document["notes"]] == ["VIP"]
    assert [n["text"] for n in document["conversation_notes"]] == ["angry customer"]
    assert {e["action"] for e in document["conversation_events"]} >= {"resolve", "note_added"}
    assert [a["reason"] for a in document["send_log"]] == ["blocked"]
    assert all("pk" not in entry for entry in document["messages"])
    store.erase_contact(ME, Tombstone.new(ME, contact_digest(ME.contact_id, KEY), LATER))
    assert store.export_contact(ME) is None


def test_erasing_again_finishes_and_changes_nothing_else(store: Store) -> None:
    person(store)
    tombstone = Tombstone.new(ME, contact_digest(ME.contact_id, KEY), LATER)
    store.erase_contact(ME, tombstone)
    before = all_items(store)
    again = store.erase_contact(ME, tombstone)
    assert again.items_deleted == 0
    assert all_items(store) == before
