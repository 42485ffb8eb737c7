"""The partition heat model (tests/bench/heat_bench.py): hot single-partition keys are found, shards are
not hot, the viral thread heats its own partition, and every index of the template is modelled."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from infra.template import table_create_kwargs

from carehooks.store import keys
from tests.bench import heat_bench
from tests.bench.heat_bench import Load, real_keys, simulate

# Data model v2's write plan, as the issue's targets would have it (a follow-up writes no list index).
V2_PARTS = {
    "new": {"table": 6, "ByConversation": 2, "ByStatus": 1, "ById": 1, "ByCreated": 1, "BySlaDue": 1},
    "followup": {"table": 3, "ByConversation": 1},
    "reply": {"table": 3, "ByConversation": 1, "ByStatus": 2, "BySlaDue": 1},
}
READS = {"new": 3.0, "followup": 2.0, "reply": 5.0}
# A tenth of the load (heat per key scales with it): keeps the test fast.
SMALL = Load(rate=1_000, customers=10_000, viral_per_second=5_000 / 60, agents=500, list_reads_per_second=5)
THREAD_PK = keys.conversation_pk("messenger", heat_bench.PAGE, "", heat_bench.VIRAL_THREAD)


def _single_partition(conv: Any) -> Mapping[str, Any]:
    """Data model v1's ByStatus key: one partition per status."""
    attributes = dict(real_keys(conv))
    attributes["gsi1pk"] = keys.legacy_status_pk(conv.status)
    return attributes


def test_a_single_partition_status_key_is_hot_and_the_sharded_one_is_not() -> None:
    parts = {**V2_PARTS, "followup": {**V2_PARTS["followup"], "ByStatus": 2}}
    single = simulate(SMALL, parts, READS, key_builder=_single_partition)
    sharded = simulate(SMALL, parts, READS)

    _, part, key = single.max()
    assert (part, key) == ("ByStatus", "STATUS#open")
    single_status = single.keys_of("ByStatus")
    sharded_status = sharded.keys_of("ByStatus")
    # The same units, spread over 32 shards instead of one key.
    assert abs(sum(single_status.values()) - sum(sharded_status.values())) < 1e-6
    assert len([k for k in sharded_status if k.startswith("STATUS#open#")]) == keys.STATUS_SHARDS
    assert max(sharded_status.values()) < single_status["STATUS#open"] / 8


def test_at_ten_thousand_messages_a_second_v2_parts_stay_under_the_partition_limits() -> None:
    heat = simulate(Load(), V2_PARTS, READS)
    value, _, _ = heat.max()
    assert value <= heat_bench.PARTITION_WCU, heat.hottest()
    rvalue, _, _ = heat.max(reads=True)
    assert rvalue <= heat_bench.PARTITION_RCU


def test_v1_figures_are_reported_hot_on_the_day_partition() -> None:
    heat = simulate(Load(), heat_bench.BEFORE, heat_bench.BEFORE_READS)
    value, part, key = heat.max()
    assert (part, key) == ("ByDay", "DAY#2026-12-07")
    assert value > heat_bench.PARTITION_WCU


def test_the_viral_threads_key_is_the_thread_partition() -> None:
    heat = simulate(SMALL, V2_PARTS, READS)
    for reads in (False, True):
        (key, _), *_ = heat.hottest(reads=reads)["table"]
        assert key == THREAD_PK
    comments = SMALL.viral_per_second
    assert heat.writes[("table", THREAD_PK)] >= comments * 4  # 3 table units + 1 LSI unit a comment
    # Table and LSI entries share the partition (an item collection): the LSI's units count on it.
    without_lsi = {
        case: {p: v for p, v in parts.items() if p != "ByConversation"} for case, parts in V2_PARTS.items()
    }
    alone = simulate(SMALL, without_lsi, READS)
    lsi = heat.writes[("ByConversation", THREAD_PK)]
    assert lsi >= comments
    assert heat.writes[("table", THREAD_PK)] - alone.writes[("table", THREAD_PK)] == lsi


def test_without_the_viral_thread_no_table_key_stands_out() -> None:
    heat = simulate(replace_load(SMALL, viral_per_second=0), V2_PARTS, READS)
    assert ("table", THREAD_PK) not in heat.writes
    assert max(heat.keys_of("table").values()) < 100


def test_resolutions_move_status_and_set_survey_markers_that_sending_clears() -> None:
    heat = simulate(SMALL, V2_PARTS, READS)
    resolved = [k for k in heat.keys_of("ByStatus") if k.startswith("STATUS#resolved#")]
    assert len(resolved) == keys.STATUS_SHARDS
    survey = heat.keys_of("BySurveyDue")
    assert sorted(survey) == sorted(keys.survey_due_partitions()[: keys.SURVEY_DUE_SHARDS])
    # Without resolutions there is no resolved list entry and no survey due marker written.
    idle = simulate(replace_load(SMALL, resolves_per_new=0), V2_PARTS, READS)
    assert not [k for k in idle.keys_of("ByStatus") if k.startswith("STATUS#resolved#")]
    assert not idle.keys_of("BySurveyDue")


def test_the_sweeps_read_every_shard() -> None:
    heat = simulate(SMALL, V2_PARTS, READS)
    sla = heat.keys_of("BySlaDue", reads=True)
    assert sorted(sla) == sorted(keys.sla_due_pk(n) for n in range(keys.SLA_DUE_SHARDS))
    survey = heat.keys_of("BySurveyDue", reads=True)
    assert len(survey) == keys.SURVEY_DUE_SHARDS
    # The SLA and automation sweeps: two Queries a shard, each at least half a unit.
    assert min(sla.values()) >= 1.0
    busier = simulate(replace_load(SMALL, sla_fires_per_new=20), V2_PARTS, READS)
    assert max(busier.keys_of("BySlaDue", reads=True).values()) > max(sla.values())


def test_every_index_of_the_template_is_modelled() -> None:
    table = table_create_kwargs("Table", "t")
    names = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])} | {
        i["IndexName"] for i in table.get("LocalSecondaryIndexes", [])
    }
    hash_keys = {
        i["IndexName"]: next(k["AttributeName"] for k in i["KeySchema"] if k["KeyType"] == "HASH")
        for i in table.get("GlobalSecondaryIndexes", []) + table.get("LocalSecondaryIndexes", [])
    }
    assert names <= set(heat_bench.INDEX_PK)
    assert {name: heat_bench.INDEX_PK[name] for name in names} == hash_keys
    heat = simulate(SMALL, {**V2_PARTS, "new": {**V2_PARTS["new"], "ByDay": 1}}, READS)
    written = {part for part, _ in heat.writes}
    assert names <= written


def replace_load(load: Load, **changes: float) -> Load:
    return replace(load, **changes)
