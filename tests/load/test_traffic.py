"""The load's own parts: the sending plan, the loopback-only client, the percentiles it reports."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.load.run import Client, percentile
from tests.load.traffic import CHANNELS, plan

BASE = "http://127.0.0.1:3999"


def test_the_plan_sends_every_message_once_and_a_tenth_again_byte_for_byte() -> None:
    deliveries = plan(200, 50, 0.10, 10, "run1", BASE, seed=10)
    by_message = Counter(d.n for d in deliveries)
    assert set(by_message) == set(range(200))
    assert sum(by_message.values()) == 220
    assert sorted(Counter(by_message.values()).items()) == [(1, 180), (2, 20)]
    for n in (n for n, count in by_message.items() if count == 2):
        first, again = [d for d in deliveries if d.n == n]
        assert first is again  # the same body and signature: a redelivery, not a new message


def test_a_redelivery_never_precedes_its_original() -> None:
    deliveries = plan(300, 60, 0.10, 20, "run2", BASE, seed=3)
    first_seen: dict[int, int] = {}
    for position, d in enumerate(deliveries):
        first_seen.setdefault(d.n, position)
        assert first_seen[d.n] <= position


def test_the_plan_covers_every_channel_with_distinct_customers_and_texts() -> None:
    deliveries = plan(140, 35, 0.0, 5, "run3", BASE, seed=1)
    assert {d.customer.channel for d in deliveries} == {c for c, _ in CHANNELS}
    assert len({(d.customer.channel, d.customer.contact) for d in deliveries}) == 35
    assert len({d.text for d in deliveries}) == 140
    routes = {d.customer.platform: d.path for d in deliveries}
    assert routes == {p: f"/webhooks/{p}" for p in ("meta", "telegram", "x", "twilio")}


def test_the_load_only_talks_to_the_loopback_interface() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        Client("http://10.0.0.5:3000")
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        Client("http://localhost.example.com:3000")
    Client(BASE).close()


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 90) == 90.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) == 0.0
