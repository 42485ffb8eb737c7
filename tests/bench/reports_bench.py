"""Reads and time of a 30-day agents report over 100,000 conversations (Amazon DynamoDB Local).

The conversations are built in memory with the domain's own functions (a customer message, a reply by
one of 12 agents, sometimes a reassignment, a next response and a resolution: so each carries the
ledger a real one would) and written directly with BatchWriteItem, spread over 30 days. The report is
then computed through the real store (``ByCreated`` Queries and BatchGetItem, ``ReturnConsumedCapacity``
recorded): it prints the read units, the calls, the time, and that nothing scanned.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

CONVERSATIONS = 100_000
DAYS = 30
AGENTS = [f"agent-{i:02d}" for i in range(12)]
START = datetime(2026, 3, 1, tzinfo=UTC)


def _conversations(count: int) -> list[Any]:
    from carehooks.domain import ledger
    from carehooks.domain.conversations import apply_message, new_conversation_id
    from carehooks.domain.models import Channel, Conversation, Direction, Message

    rng = random.Random(19)
    out = []
    for n in range(count):
        at = START + timedelta(seconds=rng.randrange(DAYS * 86400))
        cid = new_conversation_id(at, seed=str(n))
        conv = Conversation(
            id=cid, channel=Channel.MESSENGER, account_id="page", contact_id=f"c{n}", created_at=at
        )
        first, second = rng.sample(AGENTS, 2)

        def message(
            i: int,
            direction: Direction,
            when: datetime,
            author: str | None = None,
            cid: str = cid,
            n: int = n,
        ) -> Message:
            return Message(
                conversation_id=cid,
                channel=Channel.MESSENGER,
                account_id="page",
                contact_id=f"c{n}",
                platform_message_id=f"m{n}-{i}",
                direction=direction,
                sent_at=when,
                author=author,
            )

        t = at
        conv = apply_message(conv, message(0, Direction.IN, t))
        t += timedelta(minutes=rng.randrange(1, 90))
        conv = apply_message(conv, message(1, Direction.OUT, t, first))
        conv = replace(conv, assignee=first)
        if rng.random() < 0.4:
            t += timedelta(minutes=rng.randrange(1, 120))
            conv = apply_message(conv, message(2, Direction.IN, t))
            t += timedelta(minutes=rng.randrange(1, 120))
            conv = apply_message(conv, message(3, Direction.OUT, t, second))
            conv = replace(conv, assignee=second)
        if rng.random() < 0.8:
            t += timedelta(minutes=rng.randrange(1, 600))
            conv = replace(conv, status="resolved", resolved_at=t, extra={**conv.extra, "resolved_by": first})
            if rng.random() < 0.3:
                conv.csat = {"score": rng.randrange(1, 6), "comment": None, "agent": first}
        out.append(ledger.credit(conv))
    return out


def _write(client: Any, table: str, convs: list[Any]) -> None:
    from boto3.dynamodb.types import TypeSerializer

    from carehooks.store.items import conversation_item

    serializer = TypeSerializer()

    def batch(chunk: list[Any]) -> None:
        requests = [
            {"PutRequest": {"Item": {k: serializer.serialize(v) for k, v in conversation_item(c).items()}}}
            for c in chunk
        ]
        while requests:
            response = client.batch_write_item(RequestItems={table: requests})
            requests = response.get("UnprocessedItems", {}).get(table, [])

    chunks = [convs[i : i + 25] for i in range(0, len(convs), 25)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(batch, chunks))


def main() -> None:
    from infra import dynamodb_local
    from infra.template import table_create_kwargs

    from carehooks.config.loader import load_config
    from carehooks.reports.agents import agents_report
    from carehooks.reports.performance import agents_for, cohort
    from carehooks.reports.service import business_calendar
    from carehooks.reports.summary import Filters, Period
    from carehooks.wiring.store import make_store
    from tests.bench.foundation_bench import _units, local_dynamodb

    print(f"agents report over {CONVERSATIONS:,} conversations in {DAYS} days (DynamoDB Local)")
    try:
        server = dynamodb_local.start()
    except dynamodb_local.DynamoDBLocalUnavailableError as exc:
        print(f"   skipped: {exc}")
        return
    try:
        client = local_dynamodb(server.endpoint)
        client.create_table(**table_create_kwargs("Table", "bench_reports"))
        started = time.perf_counter()
        convs = _conversations(CONVERSATIONS)
        _write(client, "bench_reports", convs)
        print(f"   built and wrote {len(convs):,} conversations in {time.perf_counter() - started:.0f} s")
        log: list[dict[str, Any]] = []
        store = make_store("bench_reports", client=client, capacity_log=log)
        config = load_config()
        period = Period(START, START + timedelta(days=DAYS))
        started = time.perf_counter()
        report = agents_for(store, config, period, Filters(), business_calendar(config))
        seconds = time.perf_counter() - started
        # The same report again, apart: reading (the store) and computing (pure, on what was read).
        read_started = time.perf_counter()
        convs_read = list(cohort(store, period))
        read_seconds = time.perf_counter() - read_started
        compute_started = time.perf_counter()
        agents_report(convs_read, period, Filters(), business_calendar(config))
        compute_seconds = time.perf_counter() - compute_started
        log[:] = log[: len(log) // 2]  # the first run's calls only
        units = _units(log)
        calls = units["calls"]
        handled = sum(row["conversations_handled"] for row in report["items"])
        print(
            f"   rows: {len(report['items'])} agents, {handled:,} conversations handled (summed over agents)"
        )
        print(
            f"   reads: {units['read']:,.0f} read units, {calls.count('query')} Query, "
            f"{calls.count('batch_get_item')} BatchGetItem, {units['scans']} Scan"
        )
        print(
            f"   time: {seconds:.1f} s on DynamoDB Local: reading {read_seconds:.1f} s (DynamoDB Local's "
            f"BatchGetItem), computing {compute_seconds:.1f} s (with business-hours figures)"
        )
        size = max(len(str(c.extra.get("lg", ""))) + len(str(c.extra.get("lh", ""))) for c in convs)
        print(f"   ledger on the item: at most {size} characters in this data set")
        print(
            f"30-day agents report over {CONVERSATIONS} conversations: {units['read']:.0f} RCU, {seconds:.1f} s"
        )
    finally:
        server.stop()
