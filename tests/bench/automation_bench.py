"""Automation figures: what one AutomationFunction run reads with 100,000 conversations and 10 due.

Target (issue 17): reads proportional to the 10 due, not the 100,000. The table is Amazon DynamoDB Local
built from template.yaml; the conversations are written directly in batches (as the store would write
them: ``conversation_item``): 50,000 resolved, 49,990 pending that a person answered within the last 47
hours (not due), and 10 pending answered just over 48 hours before the run (due under the packaged
default: resolve pending after 48 h with a closing message). A run a minute earlier primes the cursors
(the steady state of a function that runs every minute); the measured run then resolves the 10 and reads
only them; a third run a minute later shows an idle minute.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

TOTAL = 100_000
RESOLVED = 50_000
DUE = 10
WRITERS = 8
NOW = datetime(2026, 1, 7, 15, 0, tzinfo=UTC)


def _items(store: Any) -> list[dict[str, Any]]:
    from carehooks.domain.conversations import new_conversation_id
    from carehooks.domain.models import Channel, Conversation
    from carehooks.store.items import conversation_item

    out: list[dict[str, Any]] = []
    for n in range(TOTAL):
        if n < RESOLVED:
            turn = NOW - timedelta(days=3, minutes=n % 1000)
        elif n < TOTAL - DUE:
            turn = NOW - timedelta(hours=1, seconds=(n * 7) % (46 * 3600))
        else:
            turn = NOW - timedelta(hours=48, seconds=5 * (TOTAL - n))
        created = turn - timedelta(minutes=10)
        conv = Conversation(
            id=new_conversation_id(created, seed=str(n)),
            channel=Channel.TELEGRAM,
            account_id="bot",
            contact_id=f"chat{n}",
            created_at=created,
            status="resolved" if n < RESOLVED else "pending",
            resolved_at=turn + timedelta(minutes=5) if n < RESOLVED else None,
            last_inbound_at=created,
            first_inbound_at=created,
            last_outbound_at=turn,
            first_response_at=turn,
            last_response_at=turn,
            first_responder="alice",
            last_responder="alice",
            last_activity_at=turn,
            turn_at=turn,
            message_count=2,
            seq=2,
            preview="where is my order?",
            version=1,
        )
        out.append(store.marshal(conversation_item(conv)))
    return out


def _write_all(client: Any, table: str, items: list[dict[str, Any]]) -> float:
    batches = [items[i : i + 25] for i in range(0, len(items), 25)]

    def write(batch: list[dict[str, Any]]) -> None:
        request = {table: [{"PutRequest": {"Item": i}} for i in batch]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    started = time.perf_counter()
    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(write, batches))
    return time.perf_counter() - started


def automation_reads() -> None:
    from botocore.config import Config
    from infra import dynamodb_local
    from infra.template import table_create_kwargs

    from carehooks.automation.run import run_automation
    from carehooks.config.loader import default_document
    from carehooks.outbound.models import SendResult
    from carehooks.wiring.store import make_store
    from tests.bench.foundation_bench import local_dynamodb

    print(f"\nItems read by one AutomationFunction run: {TOTAL:,} conversations, {DUE} due")
    try:
        server = dynamodb_local.start()
    except dynamodb_local.DynamoDBLocalUnavailableError as exc:
        print(f"   skipped: {exc}")
        return
    try:
        document = default_document()
        client = local_dynamodb(
            server.endpoint, Config(parameter_validation=False, max_pool_connections=WRITERS * 2)
        )
        client.create_table(**table_create_kwargs("Table", "bench"))
        store = make_store("bench", client=client, config=lambda: document)
        started = time.perf_counter()
        items = _items(store)
        built_s = time.perf_counter() - started
        written_s = _write_all(client, "bench", items)
        print(f"   fixture: {TOTAL:,} conversations built in {built_s:.1f} s, written in {written_s:.1f} s")
        sent: list[str] = []

        def send(conv: Any, message: Any, _store: Any, now: datetime) -> SendResult:
            sent.append(conv.id)
            return SendResult(status="sent", platform_message_id=f"bench-{len(sent)}")

        primed = run_automation(store, NOW - timedelta(minutes=1), document, send)
        print(
            f"   priming run a minute before: resolved {primed.resolved}, items read {primed.reads.total_items}"
        )
        log: list[dict[str, Any]] = []
        measured = make_store("bench", client=client, capacity_log=log, config=lambda: document)
        started = time.perf_counter()
        result = run_automation(measured, NOW, document, send)
        run_s = time.perf_counter() - started
        reads = result.reads
        scans = sum(1 for call in log if call["operation"] == "scan")
        units = sum(
            float(c.get("CapacityUnits", 0.0))
            for call in log
            if call["operation"] in {"query", "get_item", "batch_get_item"}
            for c in call["consumed"]
            if c
        )
        print(
            f"   run: {run_s * 1000:.0f} ms; resolved {result.resolved}, closing messages {result.closing_sent}"
        )
        print(
            f"   items read: {reads.total_items} (index entries {reads.index_items} over {reads.queries} Queries, "
            f"conversations {reads.items} in {reads.batch_gets} BatchGetItem, other {reads.other_reads}); "
            f"read capacity {units:.1f} RCU; scans {scans}"
        )
        ok = result.resolved == DUE and reads.index_items == DUE and reads.items == DUE and scans == 0
        print(
            f"   {reads.total_items / DUE:.1f} items read per due conversation "
            f"(target: proportional to the {DUE} due, not the {TOTAL:,}): {'ok' if ok else 'MISSED'}"
        )
        idle = run_automation(measured, NOW + timedelta(minutes=1), document, send)
        print(
            f"   next minute, nothing due: {idle.reads.total_items} item(s) read over {idle.reads.queries} Queries"
        )
    finally:
        server.stop()


def main() -> None:
    automation_reads()


if __name__ == "__main__":
    main()
