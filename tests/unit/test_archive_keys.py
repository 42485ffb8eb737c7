"""The archive's key format, the replay marker, the admin scope and the tombstone digest: pure rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from infra.cli.archive import parse_time

from carehooks.api.routes.privacy import ADMIN_SCOPE, scopes_of
from carehooks.archive.objects import LocalArchive, object_key, parse_key, person_prefixes
from carehooks.archive.records import REPLAY_FIELD, archive_body, is_replay, replay_body
from carehooks.domain.models import Channel, QueuedEvent
from carehooks.store.erasure import contact_digest

T0 = datetime(2026, 3, 2, 23, 59, 59, 999000, tzinfo=UTC)
ids = st.text(min_size=1, max_size=60).filter(lambda s: s.strip() != "")


def queued(
    contact: str = "psid-1", account: str = "112233445566778", event_id: str = "m_1", at: datetime = T0
) -> QueuedEvent:
    return QueuedEvent(
        source="meta",
        channel=Channel.MESSENGER,
        account_id=account,
        contact_id=contact,
        event_id=event_id,
        received_at=at,
        payload={"message": {"mid": event_id, "text": "hi"}},
    )


@settings(max_examples=200)
@given(contact=ids, account=ids, event_id=ids, offset=st.integers(min_value=0, max_value=10**11))
def test_every_key_names_its_channel_day_account_and_contact_and_stays_one_level_each(
    contact: str, account: str, event_id: str, offset: int
) -> None:
    at = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(milliseconds=offset)
    key = object_key(queued(contact, account, event_id, at))
    parts = parse_key(key)
    assert parts is not None
    assert (parts.channel, parts.account_id, parts.contact_id) == ("messenger", account, contact)
    assert parts.day == at.date()
    assert parts.received_ms == int(at.timestamp() * 1000)
    assert key.count("/") == 5  # an id never adds a level (a "/" in an id is encoded)
    # and the person's prefix of that day finds it
    assert any(key.startswith(p) for p in person_prefixes("messenger", account, contact, at, at))


def test_the_key_is_the_events_own_so_a_retry_overwrites_it() -> None:
    assert object_key(queued()) == object_key(queued())
    assert object_key(queued(event_id="m_2")) != object_key(queued())
    assert object_key(queued()).startswith("events/messenger/2026-03-02/112233445566778/psid-1/")


def test_a_person_prefix_per_day_covers_the_range_and_no_other_person() -> None:
    prefixes = person_prefixes("messenger", "p", "psid-1", T0 - timedelta(days=2), T0)
    assert [p.split("/")[2] for p in prefixes] == ["2026-02-28", "2026-03-01", "2026-03-02"]
    assert not object_key(queued(contact="psid-10")).startswith(
        prefixes[-1].replace("/p/", "/112233445566778/")
    )


@pytest.mark.parametrize(
    "key",
    ["events/messenger/2026-03-02/p/c", "other/x/2026-03-02/p/c/1-a.json", "events/m/notaday/p/c/1-a.json"],
)
def test_a_key_this_module_did_not_make_is_not_parsed(key: str) -> None:
    assert parse_key(key) is None


def test_a_local_archive_key_cannot_leave_its_directory(tmp_path: Path) -> None:
    archive = LocalArchive(tmp_path / "archive")
    with pytest.raises(ValueError, match="inside the archive"):
        archive.put("../escape.json", b"{}")
    assert not (tmp_path / "escape.json").exists()


def test_a_replayed_body_is_the_archived_event_marked_and_is_not_archived_again(tmp_path: Path) -> None:
    archive = LocalArchive(tmp_path)
    body = queued().model_dump_json()
    key = archive_body(archive, body)
    assert key == object_key(queued())
    assert archive.get(key).decode() == body  # as received
    event, again = replay_body(archive.get(key))
    assert event == queued()
    assert is_replay(again)
    assert not is_replay(body)
    assert json.loads(again)[REPLAY_FIELD] is True
    assert QueuedEvent.model_validate_json(again) == queued()  # the processor still reads it
    assert archive_body(archive, again) is None
    assert archive_body(archive, "not json") is None


@pytest.mark.parametrize(
    ("claims", "admin"),
    [
        ({"scope": "openid carehooks:admin"}, True),
        ({"scope": "[carehooks:admin openid]"}, True),
        ({"scope": ["carehooks:admin"]}, True),
        ({"scope": "carehooks:admins"}, False),
        ({"scope": "carehooks:admin-read"}, False),
        ({"scope": ""}, False),
        ({}, False),
        (None, False),
        ({"scope": 3}, False),
    ],
)
def test_the_admin_scope_is_one_whole_entry_of_the_scope_claim(claims: object, admin: bool) -> None:
    assert (ADMIN_SCOPE in scopes_of(claims)) is admin  # type: ignore[arg-type]


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=["Zs", "Cc"]), min_size=1, max_size=20).filter(
            lambda s: "[" not in s and "]" not in s and "," not in s
        ),
        max_size=5,
    )
)
def test_scopes_read_back_whatever_the_claim_lists(scopes: list[str]) -> None:
    assert scopes_of({"scope": " ".join(scopes)}) == set(scopes)


def test_the_digest_is_keyed_stable_and_refuses_an_empty_key() -> None:
    assert contact_digest("+15005550006", "k1") == contact_digest("+15005550006", "k1")
    assert contact_digest("+15005550006", "k1") != contact_digest("+15005550006", "k2")
    assert len(contact_digest("x", "k")) == 64
    with pytest.raises(ValueError, match="no erasure key"):
        contact_digest("+15005550006", "")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1d", T0 - timedelta(days=1)),
        ("12h", T0 - timedelta(hours=12)),
        ("30m", T0 - timedelta(minutes=30)),
        ("2w", T0 - timedelta(weeks=2)),
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01T12:00:00Z", datetime(2026, 3, 1, 12, tzinfo=UTC)),
    ],
)
def test_times_are_durations_back_from_now_or_iso(value: str, expected: datetime) -> None:
    assert parse_time(value, T0) == expected


def test_a_time_that_is_neither_is_refused() -> None:
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match="not a duration"):
        parse_time("yesterday", T0)
