"""The Store contract for contacts and notes: the same assertions on the in-memory store and on DynamoDB
Local (fixtures of :mod:`tests.integration.test_store_contract`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from carehooks.domain.models import Conversation
from carehooks.store import ConflictError, Store
from carehooks.store.contacts import (
    Contact,
    ContactEvent,
    Identity,
    contact_note,
    conversation_note,
    show_name_on_latest,
)
from carehooks.store.events import ConversationEvent
from tests.integration.test_store_contract import CUSTOMER, PAGE, T0, dynamodb, record, store, text

__all__ = ["dynamodb", "store"]

ME = Identity("messenger", PAGE, CUSTOMER)
WA = Identity("whatsapp", "106540352242922", "16505551234")


def test_a_contact_round_trips_and_its_writes_are_versioned(store: Store) -> None:
    assert store.get_contact(ME) is None
    contact = Contact(
        ME,
        created_at=T0,
        last_seen_at=T0 + timedelta(minutes=1),
        name="Sheena",
        name_override="Mrs Nelson",
        username="sheena",
        avatar_url="https://x.test/a.png",
        attributes={"plan": "gold", "orders": 3, "ltv": 12.5, "vip": True},
        identities=(WA,),
        profile_fetched_at=T0,
    )
    [saved] = store.save_contacts([contact])
    assert saved.version == 1
    assert store.get_contact(ME) == saved
    assert store.linked_identities(ME.channel, ME.account_id, ME.contact_id) == [WA]
    # A write from a stale read (or a second creation) is a conflict, and changes nothing
    with pytest.raises(ConflictError):
        store.save_contacts([contact])
    with pytest.raises(ConflictError):
        store.save_contacts([replace(saved, version=5, name="Other")])
    [again] = store.save_contacts([replace(saved, name="Renamed")])
    assert again.version == 2
    assert store.get_contact(ME) == again


def test_contacts_saved_together_are_all_or_nothing(store: Store) -> None:
    [mine] = store.save_contacts([Contact(ME, created_at=T0)])
    with pytest.raises(ConflictError):
        # The second is stale (it exists already at version 1): neither is written
        store.save_contacts(
            [
                replace(mine, identities=(WA,)),
                Contact(WA, created_at=T0, identities=(ME,), version=3),
            ],
            [ContactEvent(ME, "linked", T0, "agent-ada", WA.as_dict())],
        )
    assert store.get_contact(ME) == mine
    assert store.get_contact(WA) is None
    assert store.contact_events(ME) == []
    saved = store.save_contacts(
        [replace(mine, identities=(WA,)), Contact(WA, created_at=T0, identities=(ME,))],
        [
            ContactEvent(ME, "linked", T0, "agent-ada", WA.as_dict()),
            ContactEvent(WA, "linked", T0, "agent-ada", ME.as_dict()),
        ],
    )
    assert [c.version for c in saved] == [2, 1]
    assert store.linked_identities(WA.channel, WA.account_id, WA.contact_id) == [ME]
    [event] = store.contact_events(ME)
    assert (event.action, event.actor, event.details) == ("linked", "agent-ada", WA.as_dict())


def test_the_contact_item_is_invisible_to_the_conversation_queries(store: Store) -> None:
    conv = new_conversation(store)
    store.save_contacts([Contact(ME, created_at=T0)])
    store.add_contact_note(
        contact_note(ME, "secret", "agent-ada", T0), ContactEvent(ME, "note_added", T0, "agent-ada")
    )
    assert [c.id for c in store.contact_conversations(ME.channel, ME.account_id, ME.contact_id)] == [conv.id]
    latest = store.latest_conversation(ME.channel, ME.account_id, ME.contact_id)
    assert latest is not None
    assert latest.id == conv.id
    assert [c.id for c in store.partition_conversations(ME.pk)] == [conv.id]


def test_contact_notes_are_listed_newest_first_and_deleted_once(store: Store) -> None:
    first = contact_note(ME, "prefers email", "agent-ada", T0, author_name="Ada")
    second = contact_note(ME, "VIP", "agent-bob", T0 + timedelta(minutes=1))
    store.add_contact_note(first, ContactEvent(ME, "note_added", T0, "agent-ada", {"note_id": first.id}))
    store.add_contact_note(second, ContactEvent(ME, "note_added", T0, "agent-bob", {"note_id": second.id}))
    assert store.contact_notes(ME) == [second, first]
    assert store.contact_notes(WA) == []
    deleted = ContactEvent(ME, "note_deleted", T0 + timedelta(minutes=2), "agent-ada", {"note_id": first.id})
    assert store.delete_contact_note(first, deleted) is True
    assert store.delete_contact_note(first, deleted) is False
    assert store.contact_notes(ME) == [second]
    assert [e.action for e in store.contact_events(ME)] == ["note_deleted", "note_added", "note_added"]


def test_conversation_notes_are_kept_with_their_conversation_and_recorded_as_events(store: Store) -> None:
    conv = new_conversation(store)
    note = conversation_note(conv, "refund approved", "agent-ada", T0)
    event = ConversationEvent(conv.id, "note_added", T0, "agent-ada", details={"note_id": note.id})
    store.add_conversation_note(conv, note, event)
    assert store.conversation_notes(conv) == [note]
    [recorded] = store.conversation_events(conv)
    assert (recorded.action, recorded.details) == ("note_added", {"note_id": note.id})
    # Not a message, not a contact note, and the conversation is unchanged
    assert store.messages(conv) == [m for m in store.messages(conv) if m.text != "refund approved"]
    assert store.contact_notes(ME) == []
    after = store.get_conversation(conv.id)
    assert after is not None
    assert after.version == conv.version


def test_a_name_is_shown_on_the_latest_conversation(store: Store) -> None:
    conv = new_conversation(store)
    shown = show_name_on_latest(store, ME, "Sheena Nelson")
    assert shown is not None
    assert shown.contact_name == "Sheena Nelson"
    stored = store.get_conversation(conv.id)
    assert stored is not None
    assert (stored.contact_name, stored.version) == ("Sheena Nelson", conv.version + 1)
    assert show_name_on_latest(store, ME, "Sheena Nelson") is None  # already shown: no write
    assert show_name_on_latest(store, WA, "Nobody") is None  # no conversation


def new_conversation(store: Store) -> Conversation:
    return record(store, text("m1", T0, "hi"))
