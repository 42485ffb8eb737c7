"""DynamoDB write and read units per inbound message, through the whole processor path.

Measured on Amazon DynamoDB Local with ``ReturnConsumedCapacity=INDEXES``: the webhook's queued record is
processed by the real processor (store, rules, claims, the acknowledgement through the real delivery
with a stand-in platform), and an agent reply goes through the agent API's handler. Cases:

- ``new``: a new customer's first text, acknowledged (the packaged configuration acknowledges everyone);
- ``followup``: the same customer's next text in the open conversation;
- ``reply``: an agent's reply through ``POST /api/conversations/{id}/reply``.

Prints, among its figures, the line design.md fixes:
``inbound WRU per message: new=<n> followup=<n> reply=<n>``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.bench.foundation_bench import _units, local_dynamodb
from tests.bench.heat_bench import UNITS_FILE

PAGE = "112233445566778"
TARGETS = {"new": 16, "followup": 5, "reply": 6}
READ_TARGET_FOLLOWUP = 2


class _Platform:
    """Stands in for every platform's send API: accepts and names each message."""

    def __init__(self) -> None:
        self.sent = 0

    def send(self, conversation: Any, message: Any, plan: Any = None) -> Any:
        from carehooks.outbound.models import SendResult

        self.sent += 1
        return SendResult(status="sent", platform_message_id=f"m_sent_{self.sent}")


def _queued(contact: str, mid: str, at: datetime, text: str) -> str:
    from carehooks.channels.meta.ingress import split

    ms = int(at.timestamp() * 1000)
    event = {
        "sender": {"id": contact},
        "recipient": {"id": PAGE},
        "timestamp": ms,
        "message": {"mid": mid, "text": text},
    }
    raw = json.dumps({"object": "page", "entry": [{"id": PAGE, "time": ms, "messaging": [event]}]}).encode()
    (queued,) = split(raw, at)
    return queued.model_dump_json()


def measure(client: Any, table: str) -> dict[str, dict[str, Any]]:
    """The units of each case on ``table`` (a fresh table created from template.yaml)."""
    from carehooks import clock
    from carehooks.api import deps
    from carehooks.api.app import handle
    from carehooks.channels import registry
    from carehooks.delivery.send import deliver
    from carehooks.inbound.processor import process_queued
    from carehooks.wiring.inbound import inbound
    from carehooks.wiring.store import make_store
    from tests.integration.agent_api_client import api_event

    log: list[dict[str, Any]] = []
    store = make_store(table, client=client, capacity_log=log)
    platform = _Platform()
    original = registry.client_for
    registry.client_for = lambda channel: platform  # type: ignore[assignment]
    processor = inbound(store)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    figures: dict[str, dict[str, Any]] = {}

    def case(name: str, run: Callable[[], Any]) -> None:
        log.clear()
        run()
        figures[name] = _units(log)

    try:
        with clock.frozen(t0 + timedelta(seconds=1)):
            case(
                "new",
                lambda: process_queued(
                    _queued("psid-bench", "m_1", t0, "where is my order? #1234"), processor
                ),
            )
        with clock.frozen(t0 + timedelta(seconds=61)):
            case(
                "followup",
                lambda: process_queued(
                    _queued("psid-bench", "m_2", t0 + timedelta(minutes=1), "any news?"), processor
                ),
            )
        conv = store.latest_conversation("messenger", PAGE, "psid-bench")
        assert conv is not None
        deps.provide(lambda: deps.Services(store=store, now=clock.now, deliver=deliver))
        event = api_event(
            "POST", f"/api/conversations/{conv.id}/reply", {"text": "It left the warehouse today."}
        )
        with clock.frozen(t0 + timedelta(minutes=3)):
            case("reply", lambda: handle(event, None))
    finally:
        registry.client_for = original  # type: ignore[assignment]
    return figures


def attribute_size(value: dict[str, Any]) -> int:
    """The size DynamoDB bills for one attribute value (DynamoDB JSON), by its documented rules."""
    ((kind, data),) = value.items()
    scalar = {
        "S": lambda: len(str(data).encode()),
        "N": lambda: (len(str(data).lstrip("-").replace(".", "").lstrip("0") or "0") + 1) // 2 + 1,
        "B": lambda: len(data),
        "BOOL": lambda: 1,
        "NULL": lambda: 1,
        "SS": lambda: sum(len(str(v).encode()) for v in data),
        "L": lambda: 3 + sum(attribute_size(v) + 1 for v in data),
        "M": lambda: 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in data.items()),
    }
    if kind not in scalar:
        raise ValueError(f"unknown attribute type {kind}")
    return int(scalar[kind]())


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: attribute names and values."""
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def item_sizes(client: Any, table: str) -> dict[str, int]:
    """The sizes of the bench's conversation, first customer message and acknowledgement (a test scan)."""
    items = client.scan(TableName=table)["Items"]
    by_sk = {i["sk"]["S"]: i for i in items}
    conversation = next(i for sk, i in by_sk.items() if sk.startswith("CONV#"))
    return {
        "conversation": item_size(conversation),
        "message": item_size(by_sk["MSG#m_1"]),
        "outbound": item_size(by_sk["MSG#m_sent_1"]),
    }


def _save(figures: dict[str, dict[str, Any]]) -> None:
    """Hand the measured units to the cost model (``python -m tests.bench cost``)."""
    from dataclasses import replace

    from tests.bench.cost import Units, load_figures, save_figures

    measured = {
        name: Units(figures[name]["write"], figures[name]["read"]) for name in ("new", "followup", "reply")
    }
    stamp = f"units_bench {datetime.now(UTC).date().isoformat()}"
    save_figures(replace(load_figures(), measured_on=stamp, **measured))
    parts = {name: figures[name]["parts"] for name in ("new", "followup", "reply")}
    UNITS_FILE.write_text(
        json.dumps({"measured_on": stamp, "parts": parts}, indent=2) + "\n", encoding="utf-8"
    )


def main() -> None:
    from infra import dynamodb_local
    from infra.template import table_create_kwargs

    from carehooks.observability import logger

    print(__doc__.strip().splitlines()[0])
    logger.setLevel("WARNING")  # the figures, not the processor's log lines
    try:
        server = dynamodb_local.start()
    except dynamodb_local.DynamoDBLocalUnavailableError as exc:
        print(f"   skipped: {exc}")
        return
    try:
        client = local_dynamodb(server.endpoint)
        client.create_table(**table_create_kwargs("Table", "bench-units"))
        figures = measure(client, "bench-units")
        sizes = item_sizes(client, "bench-units")
    finally:
        server.stop()
    print(f"   {'case':<10} {'write':>6} {'read':>5} {'scans':>6}  target  calls; write units by part")
    for name, got in figures.items():
        parts = ", ".join(f"{k} {v:g}" for k, v in got["parts"].items() if v)
        print(
            f"   {name:<10} {got['write']:>6g} {got['read']:>5g} {got['scans']:>6}  <= {TARGETS[name]:<4}  "
            f"{'+'.join(got['calls'])}; {parts}"
        )
    print(
        f"   item sizes (DynamoDB's measure, target < 1,024 bytes): conversation {sizes['conversation']} "
        f"bytes, acknowledged customer message {sizes['message']}, acknowledgement {sizes['outbound']}"
    )
    line = " ".join(f"{name}={figures[name]['write']:g}" for name in ("new", "followup", "reply"))
    print(f"inbound WRU per message: {line}")
    _save(figures)
    met = all(figures[n]["write"] <= t for n, t in TARGETS.items())
    print(
        f"   targets (new <= 16, followup <= 5 and <= {READ_TARGET_FOLLOWUP} read units, reply <= 6): "
        f"{'met' if met and figures['followup']['read'] <= READ_TARGET_FOLLOWUP else 'NOT MET'}"
    )
