"""Spike alerts: what the volume counters cost per message, and what one detection run reads.

Measured on Amazon DynamoDB Local with ``ReturnConsumedCapacity=INDEXES``:

- the counter's write units per message (one ``UpdateItem ADD`` per message, or per run of one
  conversation's messages), with no tag, three tags, and 30 distinct tags on the counter item;
- the read units and calls of one ``check_spikes`` run (what AutomationFunction does every minute) with
  200 channel accounts counted in the current bucket, none spiking; then with one spiking (the baseline
  read for the candidates, the samples, the email).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.bench.foundation_bench import _units, local_dynamodb

NOW = datetime(2026, 3, 2, 9, 7, tzinfo=UTC)
GROUPS = 200


def measure(client: Any, table: str) -> dict[str, dict[str, Any]]:
    from carehooks.automation.spikes import check_spikes
    from carehooks.config.automation import AutomationConfig
    from carehooks.config.document import ConfigDocument, OpsConfig
    from carehooks.config.spikes import SpikesConfig
    from carehooks.store import keys
    from carehooks.store.spikes import VolumeIncrement
    from carehooks.wiring.store import make_store

    log: list[dict[str, Any]] = []
    store = make_store(table, client=client, capacity_log=log)
    bucket = keys.volume_bucket(NOW)
    earlier = keys.volume_bucket(NOW - timedelta(hours=1))  # the write cases: out of the runs' sight
    figures: dict[str, dict[str, Any]] = {}

    def add(name: str, increment: VolumeIncrement) -> None:
        log.clear()
        store.count_volume(increment)
        figures[name] = _units(log)

    add("one message, no tag", VolumeIncrement(earlier, 0, "messenger#p0", 1))
    add(
        "one message, 3 tags",
        VolumeIncrement(earlier, 1, "messenger#p0", 1, {"order": 1, "vip": 1, "late": 1}),
    )
    for n in range(30):
        store.count_volume(VolumeIncrement(earlier, 2, "messenger#p0", 1, {f"tag-number-{n:02d}": 1}))
    add(
        "one message, counter holding 30 tags",
        VolumeIncrement(earlier, 2, "messenger#p0", 1, {"tag-number-00": 1}),
    )
    add("a run of 10 messages", VolumeIncrement(earlier, 3, "messenger#p0", 10, {"order": 10}))
    for n in range(1, GROUPS):
        store.count_volume(VolumeIncrement(bucket, n % keys.VOLUME_SHARDS, f"messenger#p{n}", 5))
    config = ConfigDocument(
        ops=OpsConfig(recipients=["ops@example.com"]),
        automation=AutomationConfig(spikes=SpikesConfig(min_count=20)),
    )
    sent: list[str] = []

    def mailer(to: list[str], subject: str, html: str, text: str) -> str:
        sent.append(subject)
        return "bench"

    log.clear()
    assert check_spikes(store, config, mailer, NOW).started == 0
    figures[f"run, {GROUPS} channel accounts, none spiking"] = _units(log)
    store.count_volume(VolumeIncrement(bucket, 4, "messenger#p7", 40))
    log.clear()
    result = check_spikes(store, config, mailer, NOW + timedelta(seconds=30))
    figures[f"run, {GROUPS} channel accounts, one spike starts"] = _units(log)
    assert result.emailed == 1, result
    assert len(sent) == 1
    return figures


def main() -> None:
    from infra import dynamodb_local
    from infra.template import table_create_kwargs

    from carehooks.observability import logger

    print(__doc__.strip().splitlines()[0])
    logger.setLevel("WARNING")
    try:
        server = dynamodb_local.start()
    except dynamodb_local.DynamoDBLocalUnavailableError as exc:
        print(f"   skipped: {exc}")
        return
    try:
        client = local_dynamodb(server.endpoint)
        client.create_table(**table_create_kwargs("Table", "bench-spikes"))
        figures = measure(client, "bench-spikes")
    finally:
        server.stop()
    print(f"   {'case':<50} {'write':>6} {'read':>6} {'calls':>6}")
    for name, got in figures.items():
        print(f"   {name:<50} {got['write']:>6g} {got['read']:>6g} {len(got['calls']):>6}")
