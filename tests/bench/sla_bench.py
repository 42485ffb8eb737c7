"""SLA monitor figures: what one monitor run reads when almost nothing is due.

Target (issue 7): with 100,000 resolved or answered conversations and 10 due ones, one monitor run reads
in proportion to the 10, not the 100,000. The table is Amazon DynamoDB Local built from template.yaml;
the conversations are written as the store writes them (every deriver ran, so each carries exactly the
index attributes it would in production). 1,000 more conversations wait for a first response but are
not due yet: they are in the sparse index, before the due range. The run is measured with
``ReturnConsumedCapacity=INDEXES`` on every call and the ScannedCount of every Query; a second run a
minute later, with nothing due any more, shows what an idle minute costs.

Building the fixture is most of the time: DynamoDB Local spends about 0.75 ms of CPU per conversation
item (five indexes), whatever the number of writer threads.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SETTLED = 100_000  # resolved or answered
WAITING = 1_000  # waiting, not due yet
DUE = 10
WRITERS = 8
NOW = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
CONFIG = """
version: sla-bench
ops: {recipients: [ops@example.com]}
sla:
  policies:
    - id: messenger
      when: {channels: [messenger]}
      first_response: 1h
      escalations: [{after: 30m, recipients: [lead@example.com]}]
"""


PLACEHOLDER_ID = "@@ID@@"
PLACEHOLDER_CONTACT = "@@CONTACT@@"
SHAPES = 60  # settled conversations per category differ only in their start minute


def _conversation(n: int, conv_id: str, contact: str) -> Any:
    """Conversation number ``n`` of the fixture, before derivation."""
    from carehooks.domain.models import Channel, Conversation

    started = NOW - timedelta(hours=2, minutes=n % SHAPES)
    conv = Conversation(
        id=conv_id,
        channel=Channel.MESSENGER,
        account_id="page",
        contact_id=contact,
        created_at=started,
        last_inbound_at=started,
        last_activity_at=started,
        message_count=1,
        preview="where is my order? #1234",
        contact_name="A customer",
        version=1,
    )
    if n < SETTLED // 2:  # answered: waiting on the customer
        answered = started + timedelta(minutes=5)
        return replace(conv, first_response_at=answered, last_response_at=answered, last_activity_at=answered)
    if n < SETTLED:  # resolved
        done = started + timedelta(minutes=20)
        return replace(
            conv, status="resolved", resolved_at=done, first_response_at=done, last_response_at=done
        )
    if n < SETTLED + WAITING:  # waiting 10 to 40 minutes: in the index, not due yet
        waited = NOW - timedelta(minutes=10 + n % 30)
    else:  # due: unanswered for 61 to 70 minutes
        waited = NOW - timedelta(minutes=61 + n % DUE)
    return replace(conv, last_inbound_at=waited, created_at=waited, last_activity_at=waited)


def _items(store: Any) -> list[dict[str, Any]]:
    """Every item of the fixture, marshalled, exactly as the store writes it (every deriver ran).

    The derivers are pure functions of the conversation, and the id and customer enter the derived
    attributes only through key formats, so each settled shape is derived once and instantiated per id
    (checked: no derived attribute of a settled shape depends on the id otherwise, e.g. no SLA shard).
    The waiting and due conversations are derived one by one.
    """
    from carehooks.domain.conversations import new_conversation_id
    from carehooks.store.items import conversation_item

    derive = store.derive

    def item(n: int, conv_id: str, contact: str) -> dict[str, Any]:
        conv = _conversation(n, conv_id, contact)
        marshalled: dict[str, Any] = store.marshal(conversation_item(derive(conv, NOW)))
        return marshalled

    templates: dict[tuple[bool, int], str] = {}
    out: list[dict[str, Any]] = []
    for n in range(SETTLED + WAITING + DUE):
        conv_id = new_conversation_id(NOW - timedelta(days=1, seconds=n))
        contact = f"psid{n}"
        if n >= SETTLED:
            out.append(item(n, conv_id, contact))
            continue
        shape = (n < SETTLED // 2, n % SHAPES)
        if shape not in templates:
            template = json.dumps(item(n, PLACEHOLDER_ID, PLACEHOLDER_CONTACT))
            assert "SLADUE" not in template
            templates[shape] = template
        out.append(
            json.loads(
                templates[shape].replace(PLACEHOLDER_ID, conv_id).replace(PLACEHOLDER_CONTACT, contact)
            )
        )
    return out


def _write_all(client: Any, table: str, items: Sequence[dict[str, Any]]) -> float:
    """BatchWriteItem (25 a call) from several threads; seconds taken."""
    batches = [items[i : i + 25] for i in range(0, len(items), 25)]

    def write(batch: Sequence[dict[str, Any]]) -> None:
        request = {table: [{"PutRequest": {"Item": i}} for i in batch]}
        while request:
            response = client.batch_write_item(RequestItems=request)
            request = response.get("UnprocessedItems") or {}

    started = time.perf_counter()
    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(write, batches))
    return time.perf_counter() - started


def _cpu_seconds(pid: int | None = None) -> float:
    """CPU seconds used so far by this process, or by process ``pid`` (Linux /proc)."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _read_units(log: list[dict[str, Any]]) -> tuple[float, dict[str, int], int]:
    units = 0.0
    calls: dict[str, int] = {}
    scans = 0
    for call in log:
        calls[call["operation"]] = calls.get(call["operation"], 0) + 1
        scans += call["operation"] == "scan"
        if call["operation"] in {"query", "get_item", "batch_get_item"}:
            units += sum(float(c.get("CapacityUnits", 0.0)) for c in call["consumed"] if c)
    return units, calls, scans


def monitor_reads() -> None:
    from botocore.config import Config
    from infra import dynamodb_local
    from infra.template import table_create_kwargs

    from carehooks.config import loader
    from carehooks.config.settings import settings
    from carehooks.sla.current import setup_of
    from carehooks.sla.monitor import run_monitor
    from carehooks.store.sla import PolicyMarker
    from carehooks.wiring.store import make_store
    from tests.bench.foundation_bench import local_dynamodb

    total = SETTLED + WAITING + DUE
    print(
        f"\nItems read by one SLA monitor run: {SETTLED:,} resolved or answered, {WAITING:,} waiting, {DUE} due"
    )
    try:
        server = dynamodb_local.start()
    except dynamodb_local.DynamoDBLocalUnavailableError as exc:
        print(f"   skipped: {exc}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(CONFIG, encoding="utf-8")
        os.environ["CAREHOOKS_CONFIG"] = str(config)
        settings.cache_clear()
        loader.reset()
        try:
            # The fixture is built by code, not typed by hand: skip per-call parameter validation.
            client = local_dynamodb(
                server.endpoint, Config(parameter_validation=False, max_pool_connections=WRITERS * 2)
            )
            client.create_table(**table_create_kwargs("Table", "bench"))
            store = make_store("bench", client=client)
            started = time.perf_counter()
            items = _items(store)
            built_s = time.perf_counter() - started
            cpu_py, cpu_java = _cpu_seconds(), _cpu_seconds(server.process.pid)
            written_s = _write_all(client, "bench", items)
            cpu_py, cpu_java = _cpu_seconds() - cpu_py, _cpu_seconds(server.process.pid) - cpu_java
            print(
                f"   fixture: {total:,} conversations built in {built_s:.1f} s, written in {written_s:.1f} s "
                f"(CPU: Python {cpu_py:.1f} s, DynamoDB Local {cpu_java:.1f} s; load average {os.getloadavg()[0]:.1f})"
            )
            setup = setup_of(loader.load_config())
            # Steady state: the policies have not changed since the previous run recorded them.
            store.put_policy_marker(PolicyMarker(setup.fingerprint), NOW)

            log: list[dict[str, Any]] = []
            measured = make_store("bench", client=client, capacity_log=log)
            sent: list[tuple[Sequence[str], str]] = []

            def mailer(to: Sequence[str], subject: str, html: str, text: str) -> str:
                sent.append((to, subject))
                return f"bench-{len(sent)}"

            started = time.perf_counter()
            result = run_monitor(measured, NOW, setup, mailer, lambda _: None, run_id="bench")
            run_s = time.perf_counter() - started
            units, calls, scans = _read_units(log)
            reads = result.reads
            print(f"   run: {run_s * 1000:.0f} ms; due conversations found: {result.due_conversations}")
            print(
                f"   items read: {reads.total_items} (index entries {reads.index_items} over {reads.queries} "
                f"Queries, conversations {reads.items} in {reads.batch_gets} BatchGetItem, other {reads.other_reads})"
            )
            print(f"   read capacity: {units:.1f} RCU; scans: {scans}; calls: {calls}")
            print(f"   emails: {[s for _, s in sent]}")
            per_due = reads.total_items / max(DUE, 1)
            ok = result.due_conversations == DUE and reads.total_items <= 4 * DUE and scans == 0
            print(
                f"   {per_due:.1f} items read per due conversation; "
                f"{reads.total_items / total * 100:.3f} % of the table "
                f"(target: proportional to the {DUE} due, not the {total:,}): {'ok' if ok else 'MISSED'}"
            )
            log.clear()
            idle = run_monitor(
                measured, NOW + timedelta(minutes=1), setup, mailer, lambda _: None, run_id="bench-2"
            )
            units, calls, scans = _read_units(log)
            print(
                f"   next minute, nothing due: {idle.reads.total_items} item(s) read, {units:.1f} RCU, "
                f"{idle.emails_sent} emails; calls: {calls}"
            )
        finally:
            os.environ.pop("CAREHOOKS_CONFIG", None)
            settings.cache_clear()
            loader.reset()
            server.stop()


def main() -> None:
    monitor_reads()


if __name__ == "__main__":
    main()
