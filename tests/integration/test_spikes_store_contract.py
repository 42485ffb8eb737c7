"""The Store contract of spike alerts and of the acknowledgement kept on its claim (issue 17): the same
assertions on the in-memory store and on DynamoDB Local."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from carehooks.store import Store, keys
from carehooks.store.rules import DECISION_ATTRIBUTE
from carehooks.store.sla import ReadStats
from carehooks.store.spikes import VolumeIncrement
from tests.integration.test_store_contract import PAGE, T0, dynamodb, record, store, text

__all__ = ["dynamodb", "store"]  # the fixtures: memory, and DynamoDB Local

BUCKET = keys.volume_bucket(T0)
GROUP = keys.volume_group("messenger", PAGE)


def test_counters_add_per_shard_and_tag_and_read_per_bucket_and_group(store: Store) -> None:
    store.count_volume(VolumeIncrement(BUCKET, 0, GROUP, 2, {"order": 2}))
    store.count_volume(VolumeIncrement(BUCKET, 7, GROUP, 3, {"order": 1, "vip": 3}))
    store.count_volume(VolumeIncrement(BUCKET, 7, "x#acct", 1))
    earlier = keys.volume_bucket(T0 - timedelta(days=1))
    store.count_volume(VolumeIncrement(earlier, 3, GROUP, 4))
    volumes = store.bucket_volumes(BUCKET)
    assert set(volumes) == {GROUP, "x#acct"}
    assert (volumes[GROUP].count, volumes[GROUP].tags) == (5, {"order": 3, "vip": 3})
    history = store.group_volumes(GROUP, [BUCKET, earlier, keys.volume_bucket(T0 - timedelta(days=2))])
    assert [c.count for c in history.values()] == [5, 4, 0]
    assert store.bucket_volumes(keys.volume_bucket(T0 + timedelta(minutes=5))) == {}


def test_a_spike_state_is_claimed_once_marked_listed_and_dropped(store: Store) -> None:
    assert store.claim_spike(GROUP, {"bucket": BUCKET, "tag": ""}, T0)
    assert not store.claim_spike(GROUP, {"bucket": BUCKET, "tag": ""}, T0 + timedelta(minutes=1))
    store.mark_spike(GROUP, state="sent", message_id="ses-1")
    [state] = store.active_spikes()
    assert (state["sk"], state["state"], state["message_id"], state["bucket"]) == (
        GROUP,
        "sent",
        "ses-1",
        BUCKET,
    )
    # a state whose run vanished expires (a week): a later spike may start again
    assert store.claim_spike(GROUP, {"bucket": BUCKET}, T0 + timedelta(days=8))
    store.drop_spike(GROUP)
    assert store.active_spikes() == []
    assert store.claim_spike(GROUP, {"bucket": BUCKET}, T0)


def test_recent_conversations_of_a_channel_account_in_a_window_newest_first(store: Store) -> None:
    convs = [record(store, text(f"m{n}", T0 + timedelta(seconds=n), contact=f"c{n}")) for n in range(5)]
    record(store, replace(text("other", T0 + timedelta(seconds=2), contact="c9"), account_id="other-page"))
    found = store.recent_conversation_keys("messenger", PAGE, T0, T0 + timedelta(minutes=5), 3)
    read = store.get_conversations(found, ReadStats())
    assert sorted(c.id for c in read) == sorted(c.id for c in convs[2:])
    assert (
        store.recent_conversation_keys(
            "messenger", PAGE, T0 + timedelta(minutes=1), T0 + timedelta(minutes=5), 3
        )
        == []
    )


def test_a_pending_ack_is_read_settled_from_the_claim_its_message_owns(store: Store) -> None:
    conv = record(store, text("m_ack", T0))
    [message] = store.messages(conv)
    store.record_decision(message, lambda _: None, {"matched": ["r"], "ack": {"status": "pending"}}, T0)
    assert store.claim("ack", conv.id, T0, timedelta(days=1), owner="m_ack", reentrant=True)
    # claimed but not sent: still pending
    assert store.messages(conv)[0].extra[DECISION_ATTRIBUTE]["ack"] == {"status": "pending"}
    store.mark_claim(
        "ack",
        conv.id,
        outcome="sent",
        platform_message_id="m_sent",
        rule="r",
        template="default",
        language="en",
        in_hours="true",
    )
    expected = {
        "status": "sent",
        "platform_message_id": "m_sent",
        "rule": "r",
        "template": "default",
        "language": "en",
        "in_hours": True,
    }
    assert store.messages(conv)[0].extra[DECISION_ATTRIBUTE]["ack"] == expected
    got = store.get_message("messenger", PAGE, conv.contact_id, "m_ack")
    assert got is not None
    assert got.extra[DECISION_ATTRIBUTE]["ack"] == expected
