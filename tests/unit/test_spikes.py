"""Spike alerts, pure and on the in-memory store: counting, baseline, minimum, one email per spike, end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from carehooks.automation.spikes import (
    ALL_MESSAGES,
    assess,
    baseline,
    check_spikes,
    history_buckets,
    volume_increments,
)
from carehooks.config.automation import AutomationConfig
from carehooks.config.document import ConfigDocument, OpsConfig
from carehooks.config.spikes import SpikesConfig
from carehooks.domain.conversations import RecordOutcome, StoredMessage
from carehooks.domain.models import Channel, Conversation, Direction, Message, MessageEvent
from carehooks.store import keys
from carehooks.store.memory import MemoryStore
from carehooks.store.spikes import VolumeCount, VolumeIncrement

NOW = datetime(2026, 3, 2, 9, 7, 30, tzinfo=UTC)  # bucket 09:05
BUCKET = "20260302T0905"
PREVIOUS = "20260302T0900"
GROUP = "messenger#page-1"
SPIKES = SpikesConfig(multiple=3, min_count=20, baseline_days=7)


def config(**spikes: Any) -> ConfigDocument:
    return ConfigDocument(
        ops=OpsConfig(recipients=["ops@example.com"]),
        automation=AutomationConfig(spikes=SpikesConfig(**{"min_count": 20, **spikes})),
    )


class Mailer:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[list[str], str, str, str]] = []
        self.fail = fail

    def __call__(self, to: list[str], subject: str, html: str, text: str) -> str:
        if self.fail:
            raise RuntimeError("SES refused")
        self.sent.append((to, subject, html, text))
        return f"ses-{len(self.sent)}"


def count(store: MemoryStore, bucket: str, n: int, group: str = GROUP, **tags: int) -> None:
    store.count_volume(
        VolumeIncrement(bucket=bucket, shard=n % keys.VOLUME_SHARDS, group=group, count=n, tags=tags)
    )


# -- keys and the baseline ---------------------------------------------------------------------------------
def test_buckets_are_five_minutes_utc_and_history_is_the_same_bucket_on_past_days() -> None:
    assert keys.volume_bucket(NOW) == BUCKET
    assert keys.volume_bucket(datetime(2026, 3, 2, 10, 5, tzinfo=UTC).astimezone()) == "20260302T1005"
    assert history_buckets(BUCKET, 3) == ["20260301T0905", "20260228T0905", "20260227T0905"]


def test_the_baseline_is_the_median_of_the_past_days() -> None:
    assert baseline([]) == 0
    assert baseline([1, 100, 3]) == 3  # one busy day does not move it
    assert baseline([2, 4]) == 3


def past(*counts: int, **tag_counts: list[int]) -> list[VolumeCount]:
    out = [VolumeCount(count=c) for c in counts]
    for tag, values in tag_counts.items():
        for day, value in enumerate(values):
            out[day].tags[tag] = value
    return out


def test_a_bucket_above_multiple_times_its_baseline_and_the_minimum_is_a_spike() -> None:
    found = assess(GROUP, {BUCKET: VolumeCount(40)}, {BUCKET: past(5, 6, 7)}, SPIKES)
    assert found is not None
    assert (found.tag, found.count, found.baseline, found.bucket) == (ALL_MESSAGES, 40, 6, BUCKET)
    assert (found.channel, found.account_id) == ("messenger", "page-1")


@pytest.mark.parametrize(
    ("now", "history", "why"),
    [
        (18, [0, 0, 0], "under the minimum, whatever the baseline"),
        (30, [10, 10, 11], "exactly 3 x baseline is not above it"),
        (29, [10, 10, 10], "below 3 x baseline"),
    ],
)
def test_no_spike(now: int, history: list[int], why: str) -> None:
    assert assess(GROUP, {BUCKET: VolumeCount(now)}, {BUCKET: past(*history)}, SPIKES) is None, why


def test_a_quiet_channel_spikes_at_the_minimum() -> None:
    assert assess(GROUP, {BUCKET: VolumeCount(19)}, {BUCKET: past(0, 0)}, SPIKES) is None
    assert assess(GROUP, {BUCKET: VolumeCount(20)}, {BUCKET: past(0, 0)}, SPIKES) is not None


def test_a_tag_can_spike_inside_a_normal_total_and_is_named() -> None:
    now = VolumeCount(100, {"outage": 25, "billing": 10})
    history = past(90, 95, 100, outage=[1, 0, 2], billing=[10, 10, 10])
    found = assess(GROUP, {BUCKET: now}, {BUCKET: history}, SPIKES)
    assert found is not None
    assert (found.tag, found.count, found.baseline, found.total) == ("outage", 25, 1, 100)
    assert found.top_tags == (("outage", 25), ("billing", 10))


def test_the_previous_bucket_keeps_a_spike_until_both_fall_back() -> None:
    quiet = {BUCKET: past(0, 0), PREVIOUS: past(0, 0)}
    spiking = assess(GROUP, {BUCKET: VolumeCount(2), PREVIOUS: VolumeCount(40)}, quiet, SPIKES)
    assert spiking is not None
    assert spiking.bucket == PREVIOUS
    assert assess(GROUP, {BUCKET: VolumeCount(2), PREVIOUS: VolumeCount(3)}, quiet, SPIKES) is None


# -- counting ----------------------------------------------------------------------------------------------
def stored(
    mid: str, tags: list[str], direction: Direction = Direction.IN, account: str = "page-1"
) -> StoredMessage:
    conv = Conversation(
        id="C1", channel=Channel.MESSENGER, account_id=account, contact_id="p", created_at=NOW, tags=tags
    )
    event = MessageEvent(
        channel=Channel.MESSENGER,
        account_id=account,
        contact_id="p",
        platform_message_id=mid,
        sent_at=NOW,
        direction=direction,
        text="x",
    )
    message = Message(
        platform_message_id=mid,
        conversation_id="C1",
        channel=Channel.MESSENGER,
        account_id=account,
        contact_id="p",
        direction=direction,
        text="x",
        sent_at=NOW,
    )
    return StoredMessage(
        event=event, outcome=RecordOutcome(duplicate=False, conversation=conv, message=message), now=NOW
    )


def test_a_run_of_messages_is_one_increment_per_channel_account_and_echoes_do_not_count() -> None:
    increments = volume_increments(
        [
            stored("m1", ["order", "order"]),
            stored("m2", ["order", "vip"]),
            stored("m3", [], direction=Direction.OUT),
            stored("m4", ["vip"], account="page-2"),
        ]
    )
    by_group = {i.group: i for i in increments}
    assert set(by_group) == {"messenger#page-1", "messenger#page-2"}
    one = by_group["messenger#page-1"]
    assert (one.bucket, one.count, dict(one.tags)) == (BUCKET, 2, {"order": 2, "vip": 1})
    assert one.shard == keys.volume_shard("m1")
    assert (by_group["messenger#page-2"].count, dict(by_group["messenger#page-2"].tags)) == (1, {"vip": 1})


def test_the_memory_counter_adds_atomically_and_sums_shards() -> None:
    store = MemoryStore()
    count(store, BUCKET, 3, order=2)
    count(store, BUCKET, 4, order=1, vip=4)
    count(store, BUCKET, 5, group="x#acct")
    volumes = store.bucket_volumes(BUCKET)
    assert (volumes[GROUP].count, volumes[GROUP].tags) == (7, {"order": 3, "vip": 4})
    assert volumes["x#acct"].count == 5
    history = store.group_volumes(GROUP, [BUCKET, PREVIOUS])
    assert (history[BUCKET].count, history[PREVIOUS].count) == (7, 0)


# -- the run -----------------------------------------------------------------------------------------------
def test_one_email_per_spike_none_while_it_lasts_and_a_new_one_after_it_ended() -> None:
    store, mailer = MemoryStore(), Mailer()
    count(store, BUCKET, 40, outage=30)
    first = check_spikes(store, config(), mailer, NOW)
    assert (first.started, first.emailed, first.active) == (1, 1, 1)
    [(to, subject, html, text)] = mailer.sent
    assert to == ["ops@example.com"]
    assert "messenger" in subject
    assert "40 messages" in subject
    assert "baseline 0" in subject
    assert "outage: 30" in text
    assert "outage" in html
    # still spiking a minute later: no new email
    again = check_spikes(store, config(), mailer, NOW + timedelta(minutes=1))
    assert (again.started, again.emailed, again.ended, again.active) == (0, 0, 0, 1)
    # the next bucket is quiet, but the one before spiked: still on
    assert check_spikes(store, config(), mailer, NOW + timedelta(minutes=4)).ended == 0
    # two quiet buckets: over
    ended = check_spikes(store, config(), mailer, NOW + timedelta(minutes=10))
    assert (ended.ended, ended.active) == (1, 0)
    assert store.active_spikes() == []
    # a new spike later is a new email
    count(store, "20260302T1000", 25)
    later = check_spikes(store, config(), mailer, datetime(2026, 3, 2, 10, 1, tzinfo=UTC))
    assert later.emailed == 1
    assert len(mailer.sent) == 2


def test_a_usual_busy_bucket_is_not_a_spike() -> None:
    store, mailer = MemoryStore(), Mailer()
    for day in history_buckets(BUCKET, 7):
        count(store, day, 30)
    count(store, BUCKET, 80)
    assert check_spikes(store, config(), mailer, NOW).started == 0
    count(store, BUCKET, 20)  # 100 > 3 x 30
    assert check_spikes(store, config(), mailer, NOW).emailed == 1


def test_a_failed_email_releases_the_spike_so_the_next_run_sends_it() -> None:
    store = MemoryStore()
    count(store, BUCKET, 40)
    failed = check_spikes(store, config(), Mailer(fail=True), NOW)
    assert (failed.failures, failed.emailed, store.active_spikes()) == (1, 0, [])
    mailer = Mailer()
    assert check_spikes(store, config(), mailer, NOW).emailed == 1
    assert len(mailer.sent) == 1


def test_a_fault_in_one_channel_account_does_not_stop_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    store, mailer = MemoryStore(), Mailer()
    count(store, BUCKET, 40, group="messenger#broken")
    count(store, BUCKET, 40, group="x#fine")
    original = store.group_volumes

    def flaky(group: str, buckets: Any) -> dict[str, VolumeCount]:
        if group == "messenger#broken":
            raise RuntimeError("throttled")
        return original(group, buckets)

    monkeypatch.setattr(store, "group_volumes", flaky)
    result = check_spikes(store, config(), mailer, NOW)
    assert (result.failures, result.emailed) == (1, 1)
    assert "x (fine)" in mailer.sent[0][1]


def test_a_spike_claimed_by_an_overlapping_run_is_not_emailed_twice() -> None:
    store, mailer = MemoryStore(), Mailer()
    count(store, BUCKET, 40)
    assert store.claim_spike(GROUP, {"bucket": BUCKET}, NOW)  # another run got there first
    assert check_spikes(store, config(), mailer, NOW).emailed == 0
    assert mailer.sent == []


def test_disabled_reads_and_sends_nothing() -> None:
    store, mailer = MemoryStore(), Mailer()
    count(store, BUCKET, 400)
    result = check_spikes(store, config(enabled=False), mailer, NOW)
    assert (result.enabled, result.groups, mailer.sent) == (False, 0, [])


def test_without_recipients_the_spike_is_held_but_nobody_is_emailed() -> None:
    store, mailer = MemoryStore(), Mailer()
    count(store, BUCKET, 40)
    document = ConfigDocument(automation=AutomationConfig(spikes=SpikesConfig()))
    result = check_spikes(store, document, mailer, NOW)
    assert (result.started, result.emailed, mailer.sent) == (1, 0, [])
    assert store.active_spikes()[0]["state"] == "no_recipients"


def test_spike_recipients_override_ops() -> None:
    store, mailer = MemoryStore(), Mailer()
    count(store, BUCKET, 40)
    check_spikes(store, config(recipients=["crisis@example.com"]), mailer, NOW)
    assert mailer.sent[0][0] == ["crisis@example.com"]


# -- the configuration -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("section", "path"),
    [
        ({"multiple": 1}, "multiple"),
        ({"min_count": 0}, "min_count"),
        ({"baseline_days": 0}, "baseline_days"),
        ({"baseline_days": 29}, "baseline_days"),
        ({"recipients": ["not-an-address"]}, "recipients"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_a_bad_section_is_refused_with_its_path(section: dict[str, Any], path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ConfigDocument.model_validate({"automation": {"spikes": section}})
    assert [e["loc"] for e in caught.value.errors()] == [("automation", "spikes", path)]


def test_the_packaged_default_turns_spike_alerts_on() -> None:
    from carehooks.config.loader import load_config

    spikes = load_config().automation.spikes
    assert (spikes.enabled, spikes.multiple, spikes.min_count, spikes.baseline_days) == (True, 3, 20, 7)


@given(
    multiple=st.floats(min_value=1.0001, max_value=1000, allow_nan=False),
    min_count=st.integers(min_value=1, max_value=1_000_000),
    days=st.integers(min_value=1, max_value=28),
    now=st.integers(min_value=0, max_value=10_000),
    history=st.lists(st.integers(min_value=0, max_value=10_000), max_size=28),
)
def test_a_valid_section_round_trips_and_decides_by_its_rule(
    multiple: float, min_count: int, days: int, now: int, history: list[int]
) -> None:
    section = SpikesConfig.model_validate(
        {"multiple": multiple, "min_count": min_count, "baseline_days": days}
    )
    assert SpikesConfig.model_validate(section.model_dump()) == section
    found = assess(GROUP, {BUCKET: VolumeCount(now)}, {BUCKET: past(*history)}, section)
    expected = now >= min_count and now > multiple * baseline(history)
    assert (found is not None) == expected


@given(
    st.dictionaries(
        st.sampled_from(["multiple", "min_count", "baseline_days"]), st.integers(-5, 0), min_size=1
    )
)
def test_non_positive_settings_are_always_refused(section: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        SpikesConfig.model_validate(section)


def test_unreadable_counters_fail_the_run_softly(monkeypatch: pytest.MonkeyPatch) -> None:
    store, mailer = MemoryStore(), Mailer()
    count(store, BUCKET, 40)

    def throttled(bucket: str) -> dict[str, VolumeCount]:
        raise RuntimeError("ProvisionedThroughputExceededException")

    monkeypatch.setattr(store, "bucket_volumes", throttled)
    result = check_spikes(store, config(), mailer, NOW)
    assert (result.failures, result.groups, mailer.sent) == (1, 0, [])


def test_a_failing_counter_never_fails_the_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from carehooks.automation.spikes import volume_counter

    store = MemoryStore()

    def refused(increment: VolumeIncrement) -> None:
        raise RuntimeError("ProvisionedThroughputExceededException")

    monkeypatch.setattr(store, "count_volume", refused)
    volume_counter(store, config)([stored("m1", ["order"])])  # logged and dropped, not raised
    monkeypatch.undo()
    volume_counter(store, config)([stored("m2", ["order"])])
    assert store.bucket_volumes(BUCKET)[GROUP].tags == {"order": 1}
    volume_counter(store, lambda: config(enabled=False))([stored("m3", ["order"])])
    assert store.bucket_volumes(BUCKET)[GROUP].count == 1
