"""The raw archive on DynamoDB Local: archived as received, a lost table rebuilt by a replay without a
second acknowledgement, and an erased person's redelivered webhook storing nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from carehooks import clock
from carehooks.archive.objects import LocalArchive
from carehooks.archive.privacy import erase_person
from carehooks.archive.records import archive_body, archived_keys, is_replay, replay_body
from carehooks.store import Store
from carehooks.store.contacts import Identity
from carehooks.store.dynamo import DynamoStore
from carehooks.wiring.inbound import REPLAYED, process
from tests.integration.race_support import (
    PAGE,
    CountingPlatform,
    Webhook,
    fresh_table,
    install_platform,
    items,
    messenger_body,
    stub_webhook,
)

pytestmark = pytest.mark.ddblocal

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, in the default calendar's hours
KEY = "replay-test-erasure-key"


@pytest.fixture
def store(ddblocal: str) -> Iterator[Store]:
    yield from fresh_table(ddblocal)


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> CountingPlatform:
    fake = CountingPlatform()
    install_platform(monkeypatch, fake)
    return fake


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Webhook:
    monkeypatch.setenv("ERASURE_KEY", KEY)
    return stub_webhook(monkeypatch)


@pytest.fixture
def archive(tmp_path: Path) -> LocalArchive:
    return LocalArchive(tmp_path / "archive")


def receive(webhook: Webhook, archive: LocalArchive, store: Store, raw: bytes, at: datetime) -> list[Any]:
    """The webhook enqueues at ``at``; the processor archives each record, then processes it."""
    with clock.frozen(at):
        bodies = webhook.bodies(raw)
    results = []
    for body in bodies:
        archive_body(archive, body)
        with clock.frozen(at + timedelta(seconds=1)):
            results.append(process(body, store, replayed=is_replay(body)))
    return results


def listed(store: Store) -> list[tuple[str, str, list[tuple[str, str | None]]]]:
    """Every conversation of the test's customers with the messages the platform sent (contact, status,
    [(mid, text)]). carehooks' own sends are not inbound events: they come back only as the platform's
    echoes, which these tests' platform does not send (see docs/archive.md)."""
    out = []
    for contact in ("psid-ann", "psid-ben"):
        for conv in store.contact_conversations("messenger", PAGE, contact):
            messages = [(m.platform_message_id, m.text) for m in store.messages(conv) if m.direction == "in"]
            out.append((contact, conv.status, messages))
    return out


def empty(store: Store) -> None:
    assert isinstance(store, DynamoStore)
    for item in items(store):
        store.client.delete_item(TableName=store.table_name, Key=store.key(item["pk"], item["sk"]))
    assert items(store) == []


def test_a_lost_table_is_rebuilt_from_the_archive_without_a_second_acknowledgement(
    store: Store, platform: CountingPlatform, webhook: Webhook, archive: LocalArchive
) -> None:
    # Given two customers' messages, received, archived, stored and acknowledged
    receive(webhook, archive, store, messenger_body("psid-ann", "m_a1", T0, "where is my order?"), T0)
    receive(
        webhook, archive, store, messenger_body("psid-ann", "m_a2", T0 + timedelta(minutes=1), "#1234"), T0
    )
    receive(
        webhook, archive, store, messenger_body("psid-ben", "m_b1", T0 + timedelta(minutes=2), "hello"), T0
    )
    before = listed(store)
    acks = len(platform.acks())
    assert acks == 2
    created = {c.contact_id: c.created_at for c in store.contact_conversations("messenger", PAGE, "psid-ann")}
    # When the table is emptied by an accident, and the archive of the day is replayed
    empty(store)
    keys = list(archived_keys(archive, T0 - timedelta(hours=1), T0 + timedelta(hours=1), ["messenger"]))
    assert len(keys) == 3
    for key in keys:
        _, body = replay_body(archive.get(key))
        assert is_replay(body)
        with clock.frozen(T0 + timedelta(hours=3)):
            process(body, store, replayed=True)
    # Then the same conversations and messages are listed, created when they were first
    assert listed(store) == before
    rebuilt = {c.contact_id: c.created_at for c in store.contact_conversations("messenger", PAGE, "psid-ann")}
    assert rebuilt == created
    # And no acknowledgement went out again: its claim says why
    assert len(platform.acks()) == acks
    claims = [i for i in items(store) if str(i["pk"]).startswith("CLAIM#ack#")]
    assert len(claims) == 2
    assert {c.get("reason") for c in claims} == {REPLAYED}
    # And replaying again changes nothing (the message items are the markers)
    snapshot = sorted(repr(sorted(i.items())) for i in items(store))
    for key in keys:
        with clock.frozen(T0 + timedelta(hours=4)):
            result = process(replay_body(archive.get(key))[1], store, replayed=True)
        assert result.stored == 0
    assert sorted(repr(sorted(i.items())) for i in items(store)) == snapshot
    assert len(platform.acks()) == acks


def test_an_erased_persons_redelivered_webhook_stores_nothing_and_a_new_message_starts_afresh(
    store: Store, platform: CountingPlatform, webhook: Webhook, archive: LocalArchive
) -> None:
    raw = messenger_body("psid-ann", "m_old", T0, "my phone is 555-0100")
    receive(webhook, archive, store, raw, T0)
    erased = erase_person(
        store, archive, Identity("messenger", PAGE, "psid-ann"), T0 + timedelta(hours=1), KEY
    )
    assert erased is not None
    assert erased.archive_objects == 1
    assert list(archive.keys("events/")) == []
    # When Meta redelivers the old webhook (its platform time is before the erasure)
    [result] = receive(webhook, archive, store, raw, T0 + timedelta(days=2))
    # Then nothing of the person is stored
    assert result.stored == 0
    assert result.ignored == ["erased"]
    assert store.contact_conversations("messenger", PAGE, "psid-ann") == []
    # And a new message after the erasure starts a new conversation
    later = T0 + timedelta(days=2, minutes=5)
    [fresh] = receive(webhook, archive, store, messenger_body("psid-ann", "m_new", later, "hi again"), later)
    assert fresh.stored == 1
    [conv] = store.contact_conversations("messenger", PAGE, "psid-ann")
    assert [m.platform_message_id for m in store.messages(conv) if m.direction == "in"] == ["m_new"]
    # And the old message, redelivered once more, does not join it
    [again] = receive(webhook, archive, store, raw, later + timedelta(minutes=1))
    assert again.stored == 0
    assert [m.platform_message_id for m in store.messages(conv) if m.direction == "in"] == ["m_new"]
