"""The viral bench's input (tests/bench/viral_bench.py): real Meta ingress records of one thread, one
message group, handed over batch after batch in order."""

from __future__ import annotations

import json

from tests.bench import viral_bench


def test_a_threads_comments_are_one_message_group_in_the_threads_partition() -> None:
    records = viral_bench.queued_records(25, viral_bench.datetime(2026, 12, 7, tzinfo=viral_bench.UTC))
    queued = [json.loads(body) for body in records]
    assert len(queued) == 25
    assert {q["thread_id"] for q in queued} == {viral_bench.TOP}
    assert len({q["event_id"] for q in queued}) == 25  # every comment its own event, none deduplicated
    assert [q["payload"]["change"]["value"]["comment_id"] for q in queued][:2] == [
        viral_bench.TOP,
        "556677889900112_2000000000000001",
    ]


def test_batches_are_handed_over_in_order_ten_at_a_time() -> None:
    records = [str(n) for n in range(25)]
    assert [len(b) for b in viral_bench.batches(records)] == [10, 10, 5]
    seen: list[list[str]] = []
    viral_bench.run_group(records, seen.append)
    assert seen == [records[:10], records[10:20], records[20:]]
