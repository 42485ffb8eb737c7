"""Erasure and export through AgentApiFunction's handler (admin scope), on the template's table under moto,
with the local archive in a temporary directory."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from carehooks import clock
from carehooks.archive.objects import LocalArchive, object_key
from carehooks.domain.models import QueuedEvent
from carehooks.store import Store
from carehooks.store.contacts import Contact, ContactEvent, Identity, contact_note
from carehooks.store.erasure import contact_digest
from carehooks.wiring.store import make_store
from tests.integration.agent_api_client import ADA, PAGE, T0, FakeDeliver, api_event, call, inbound, installed
from tests.integration.conftest import TABLE, Aws

NOW = T0 + timedelta(hours=1)
PSID = "5987263140083395"
OTHER = "7000000000000001"
KEY = "test-erasure-key-0123456789"
CONTACT = f"/api/contacts/messenger/{PAGE}/{PSID}"
ADMIN = {**ADA, "scope": "openid carehooks:admin"}


@pytest.fixture
def store(aws: Aws) -> Store:
    return make_store(TABLE)


@pytest.fixture
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalArchive:
    monkeypatch.setenv("CAREHOOKS_ARCHIVE_DIR", str(tmp_path / "archive"))
    monkeypatch.setenv("ERASURE_KEY", KEY)
    return LocalArchive(tmp_path / "archive")


@pytest.fixture
def api(store: Store, archive: LocalArchive) -> Iterator[None]:
    with clock.frozen(NOW), installed(store, FakeDeliver(), clock.now):
        yield


def request(method: str, path: str, claims: dict[str, str] = ADMIN) -> tuple[int, Any]:
    answer = call(api_event(method, path, claims=claims))
    return answer.status, answer.body


def archived(archive: LocalArchive, contact: str, at: Any, event_id: str) -> str:
    event = QueuedEvent(
        source="meta",
        channel="messenger",
        account_id=PAGE,
        contact_id=contact,
        event_id=event_id,
        received_at=at,
        payload={"sender": {"id": contact}, "message": {"mid": event_id, "text": "raw text"}},
    )
    key = object_key(event)
    archive.put(key, event.model_dump_json().encode())
    return key


def person_with_everything(store: Store, archive: LocalArchive) -> tuple[str, str]:
    """A customer with a conversation, a contact with attributes, a note and an archived event; and
    another customer's archived event."""
    conv = inbound(store, PSID, "my address is 1 Main St", T0)
    who = Identity("messenger", PAGE, PSID)
    store.save_contacts([Contact(who, created_at=T0, name="Sheena", attributes={"plan": "gold"})])
    note = contact_note(who, "prefers email", "agent-ada", T0)
    store.add_contact_note(note, ContactEvent(who, "note_added", T0, "agent-ada", {"note_id": note.id}))
    mine = archived(archive, PSID, T0, "m_1")
    theirs = archived(archive, OTHER, T0, "m_2")
    return conv.id, f"{mine}|{theirs}"


def test_erasure_and_export_need_the_admin_scope(store: Store, archive: LocalArchive, api: None) -> None:
    person_with_everything(store, archive)
    for method, path in (("DELETE", CONTACT), ("GET", f"{CONTACT}/export")):
        for claims in (ADA, {**ADA, "scope": "openid profile"}, {**ADA, "scope": "carehooks:admins"}):
            status, body = request(method, path, claims)
            assert status == 403, (method, claims)
            assert body["error"]["code"] == "forbidden"
            assert "carehooks:admin" in body["error"]["message"]
    assert store.latest_conversation("messenger", PAGE, PSID) is not None


def test_without_a_token_it_is_401(store: Store, archive: LocalArchive, api: None) -> None:
    assert call(api_event("DELETE", CONTACT, claims=None)).status == 401


def test_an_unknown_identity_is_404_and_nothing_is_written(
    store: Store, archive: LocalArchive, api: None
) -> None:
    assert request("DELETE", CONTACT)[0] == 404
    assert request("GET", f"{CONTACT}/export")[0] == 404
    assert store.get_tombstone("messenger", PAGE, contact_digest(PSID, KEY)) is None


def test_an_unknown_channel_is_422_naming_it(store: Store, archive: LocalArchive, api: None) -> None:
    status, body = request("DELETE", f"/api/contacts/myspace/{PAGE}/{PSID}")
    assert status == 422
    assert any(f["field"].endswith("channel") for f in body["error"]["fields"])


def test_export_holds_everything_about_the_person(store: Store, archive: LocalArchive, api: None) -> None:
    conversation_id, _ = person_with_everything(store, archive)
    status, body = request("GET", f"{CONTACT}/export")
    assert status == 200
    assert body["identity"] == {"channel": "messenger", "account_id": PAGE, "contact_id": PSID}
    assert body["contact"]["attributes"] == {"plan": "gold"}
    assert [c["id"] for c in body["conversations"]] == [conversation_id]
    assert [m["text"] for m in body["messages"]] == ["my address is 1 Main St"]
    assert [n["text"] for n in body["notes"]] == ["prefers email"]
    assert [e["event"]["contact_id"] for e in body["archive"]] == [PSID]
    assert body["archive_complete"] is True
    assert "pk" not in body["conversations"][0]
    json.dumps(body)  # one JSON document


def test_erasure_removes_the_person_keeps_a_tombstone_and_export_is_404(
    store: Store, archive: LocalArchive, api: None
) -> None:
    # Given a person with conversations, a contact, a note and an archived event, and another customer
    conversation_id, keys = person_with_everything(store, archive)
    mine, theirs = keys.split("|")
    other = inbound(store, OTHER, "unrelated", T0)
    # When an admin erases the person
    status, body = request("DELETE", CONTACT)
    # Then the answer names ids and counts only
    assert status == 200
    assert body["archive_objects_deleted"] == 1
    assert body["conversations_deleted"] == 1
    assert body["digest"] == contact_digest(PSID, KEY)
    assert PSID not in json.dumps(body)
    # And nothing of the person is left: conversations, messages, contact, notes, archive
    who = Identity("messenger", PAGE, PSID)
    assert store.latest_conversation("messenger", PAGE, PSID) is None
    assert store.get_conversation(conversation_id) is None
    assert store.get_contact(who) is None
    assert store.contact_notes(who) == []
    assert not (archive.root / mine).exists()
    assert request("GET", f"{CONTACT}/export")[0] == 404
    assert request("GET", CONTACT)[0] == 404
    # And the other customer keeps everything
    assert store.get_conversation(other.id) is not None
    assert (archive.root / theirs).exists()
    # And the tombstone holds exactly what the event publisher expects, never the contact id
    tombstone = store.get_tombstone("messenger", PAGE, contact_digest(PSID, KEY))
    assert tombstone is not None
    assert tombstone.event_id == body["event_id"]
    assert clock.iso(tombstone.erased_at) == body["erased_at"] == clock.iso(NOW)
    # And a second erasure finds nothing
    assert request("DELETE", CONTACT)[0] == 404


def test_without_an_erasure_key_erasure_is_503_and_nothing_is_removed(
    store: Store, archive: LocalArchive, api: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    person_with_everything(store, archive)
    monkeypatch.delenv("ERASURE_KEY")
    status, body = request("DELETE", CONTACT)
    assert status == 503
    assert "ERASURE_KEY" in body["error"]["message"]
    assert store.latest_conversation("messenger", PAGE, PSID) is not None


def test_the_erasure_is_logged_as_one_event_with_ids_only(
    store: Store, archive: LocalArchive, api: None, caplog: pytest.LogCaptureFixture
) -> None:
    conversation_id, _ = person_with_everything(store, archive)
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        assert request("DELETE", CONTACT)[0] == 200
    [event] = [r for r in caplog.records if r.getMessage() == "contact erased"]
    assert event.__dict__["conversation_ids"] == [conversation_id]
    assert event.__dict__["digest"] == contact_digest(PSID, KEY)
    ours = [r for r in caplog.records if r.name.startswith("carehooks")]  # not botocore's wire logs
    assert event in ours
    everything = " ".join(f"{r.getMessage()} {r.__dict__}" for r in ours)
    for secret in (PSID, "1 Main St", "Sheena", "prefers email"):
        assert secret not in everything


def test_an_id_with_a_key_separator_is_422_and_nothing_is_erased(
    store: Store, archive: LocalArchive, api: None
) -> None:
    person_with_everything(store, archive)
    status, body = request("DELETE", f"/api/contacts/messenger/{PAGE}/{PSID}%23x")
    assert status == 422
    assert any(f["field"].endswith("contact_id") for f in body["error"]["fields"])
    assert store.latest_conversation("messenger", PAGE, PSID) is not None


def test_an_export_over_the_budget_says_it_is_incomplete(store: Store, archive: LocalArchive) -> None:
    from carehooks.archive.privacy import export_person

    person_with_everything(store, archive)
    for n in range(3):
        archived(archive, PSID, T0 + timedelta(minutes=n), f"m_more_{n}")
    who = Identity("messenger", PAGE, PSID)
    whole = export_person(store, archive, who, NOW, archive_budget=None)
    assert whole is not None
    assert len(whole["archive"]) == 4
    assert whole["archive_complete"] is True
    one = len(archive.get(whole["archive"][0]["key"]))
    capped = export_person(store, archive, who, NOW, archive_budget=one * 2 + 1)
    assert capped is not None
    assert len(capped["archive"]) == 2
    assert capped["archive_complete"] is False
