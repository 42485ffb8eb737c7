"""Spike alerts on Amazon DynamoDB Local: exact counters under concurrency, redeliveries counted once,
and a direct run of ``check_spikes`` (what AutomationFunction calls) over messages through the processor.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from infra.template import table_create_kwargs

from carehooks import clock
from carehooks.automation.spikes import check_spikes, volume_counter
from carehooks.channels.meta.ingress import split
from carehooks.config.automation import AutomationConfig
from carehooks.config.document import ConfigDocument, OpsConfig
from carehooks.config.spikes import SpikesConfig
from carehooks.inbound.processor import Inbound, process_queued, process_runs
from carehooks.store import Store, keys
from carehooks.store.spikes import VolumeIncrement
from carehooks.wiring.store import make_store

pytestmark = pytest.mark.ddblocal

PAGE = "112233445566778"
T0 = datetime(2026, 3, 2, 9, 5, 10, tzinfo=UTC)
BUCKET = "20260302T0905"
GROUP = f"messenger#{PAGE}"
CONFIG = ConfigDocument(
    ops=OpsConfig(recipients=["ops@example.com"]),
    automation=AutomationConfig(spikes=SpikesConfig(min_count=20, multiple=3)),
)
_names = itertools.count()


@pytest.fixture(scope="module")
def dynamodb(ddblocal: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=ddblocal, region_name="eu-west-1")


@pytest.fixture
def store(dynamodb: Any) -> Iterator[Store]:
    name = f"spikes-{next(_names)}"
    dynamodb.create_table(**table_create_kwargs("Table", name))
    yield make_store(name, client=dynamodb)
    dynamodb.delete_table(TableName=name)


def queued(contact: str, mid: str, at: datetime, text: str) -> str:
    ms = int(at.timestamp() * 1000)
    event = {
        "sender": {"id": contact},
        "recipient": {"id": PAGE},
        "timestamp": ms,
        "message": {"mid": mid, "text": text},
    }
    raw = json.dumps({"object": "page", "entry": [{"id": PAGE, "time": ms, "messaging": [event]}]}).encode()
    (one,) = split(raw, at)
    return one.model_dump_json()


def processor(store: Store, at: datetime) -> Inbound:
    return Inbound(store=store, now=lambda: at, count=volume_counter(store, lambda: CONFIG))


class Mailer:
    def __init__(self) -> None:
        self.sent: list[tuple[list[str], str, str, str]] = []

    def __call__(self, to: list[str], subject: str, html: str, text: str) -> str:
        self.sent.append((to, subject, html, text))
        return f"ses-{len(self.sent)}"


def test_concurrent_counter_updates_are_exact(store: Store) -> None:
    def worker(index: int) -> None:
        for n in range(25):
            tags = {"outage": 1} if n % 5 == 0 else {}
            store.count_volume(
                VolumeIncrement(
                    bucket=BUCKET, shard=(index + n) % keys.VOLUME_SHARDS, group=GROUP, count=1, tags=tags
                )
            )

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counted = store.bucket_volumes(BUCKET)[GROUP]
    assert (counted.count, counted.tags) == (200, {"outage": 40})
    assert store.group_volumes(GROUP, [BUCKET])[BUCKET].count == 200


def test_a_redelivered_message_is_counted_once_and_a_run_once_per_message(store: Store) -> None:
    first = queued("psid-1", "m_1", T0, "hello")
    process_queued(first, processor(store, T0))
    process_queued(first, processor(store, T0 + timedelta(seconds=20)))  # redelivered
    assert store.bucket_volumes(BUCKET)[GROUP].count == 1
    run = [(f"r{n}", queued("psid-1", f"m_run_{n}", T0 + timedelta(seconds=n), "more")) for n in range(1, 5)]
    handled = process_runs(run, processor(store, T0 + timedelta(seconds=30)))
    assert handled == {"r1", "r2", "r3", "r4"}
    assert store.bucket_volumes(BUCKET)[GROUP].count == 5
    process_runs(run, processor(store, T0 + timedelta(seconds=40)))  # the whole batch again
    for _, body in run:
        process_queued(body, processor(store, T0 + timedelta(seconds=50)))
    assert store.bucket_volumes(BUCKET)[GROUP].count == 5


def test_forty_messages_on_a_quiet_channel_email_once_with_three_samples_until_the_spike_ends(
    store: Store,
) -> None:
    for n in range(40):
        at = T0 + timedelta(seconds=5 * n)
        process_queued(
            queued(f"psid-{n}", f"m_{n}", at, f"my parcel {n} never arrived"), processor(store, at)
        )
    mailer = Mailer()
    with clock.frozen(T0 + timedelta(minutes=4)):
        first = check_spikes(store, CONFIG, mailer, clock.now())
        again = check_spikes(store, CONFIG, mailer, clock.now())
    assert (first.started, first.emailed, again.emailed, again.active) == (1, 1, 0, 1)
    [(to, subject, _html, text)] = mailer.sent
    assert to == ["ops@example.com"]
    assert f"Spike on messenger ({PAGE}): 40 messages (all messages) in 5 minutes, baseline 0" in subject
    samples = [line for line in text.splitlines() if "never arrived" in line]
    assert len(samples) == 3
    assert all(f"my parcel {n} never arrived" in line for n, line in zip((39, 38, 37), samples, strict=True))
    # two quiet buckets later the spike is over, and its state is gone
    ended = check_spikes(store, CONFIG, mailer, T0 + timedelta(minutes=11))
    assert (ended.ended, ended.active, store.active_spikes()) == (1, 0, [])
    assert len(mailer.sent) == 1
