"""Helpers for the concurrency and redelivery tests: real bodies, a counting platform, threads, a table.

Races run on Amazon DynamoDB Local (moto's in-process DynamoDB is not thread safe and does not enforce
conditions under concurrency the way DynamoDB does). Queue bodies are the webhook's own, captured by
:class:`tests.channel_support.StubSqs`, so no moto is involved.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from carehooks import clock
from carehooks.domain.models import Conversation
from carehooks.outbound.client import STANDARD, SendPlan
from carehooks.outbound.models import OutboundMessage, SendResult
from carehooks.store import Store
from carehooks.wiring.store import make_store
from tests.channel_support import StubSqs, install_stub_sqs
from tests.helpers import (
    META_SECRET,
    META_VERIFY_TOKEN,
    FakeContext,
    http_event,
    load_handler,
    meta_signature,
)

PAGE = "112233445566778"
_tables = itertools.count()


def messenger_body(contact: str, mid: str, at: datetime, text: str, quick_reply: str | None = None) -> bytes:
    """A Messenger webhook body with one customer message sent at ``at`` (platform time)."""
    ms = int(at.timestamp() * 1000)
    message: dict[str, Any] = {"mid": mid, "text": text}
    if quick_reply:
        message["quick_reply"] = {"payload": quick_reply}
    event = {"sender": {"id": contact}, "recipient": {"id": PAGE}, "timestamp": ms, "message": message}
    return json.dumps({"object": "page", "entry": [{"id": PAGE, "time": ms, "messaging": [event]}]}).encode()


@dataclass
class Webhook:
    """MetaWebhookFunction with its queue stubbed: what it would have enqueued, as SQS record bodies."""

    sqs: StubSqs

    def post(self, raw: bytes) -> dict[str, Any]:
        """POST ``raw`` as Meta would, right after its newest event happened (platform times outside a
        plausible window of the receipt time are replaced by it: docs/timestamps.md)."""
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(raw)}
        sent = max(e["timestamp"] for entry in json.loads(raw)["entry"] for e in entry["messaging"])
        with clock.frozen(datetime.fromtimestamp(sent / 1000, tz=UTC) + timedelta(seconds=1)):
            result: dict[str, Any] = load_handler("meta_webhook").handler(
                http_event("POST", "/webhooks/meta", raw, headers), FakeContext()
            )
        return result

    def bodies(self, raw: bytes) -> list[str]:
        """POST ``raw``; the message bodies it enqueued (each one SQS record)."""
        before = sum(len(c["Entries"]) for c in self.sqs.calls)
        assert self.post(raw)["statusCode"] == 200
        entries = [e for c in self.sqs.calls for e in c["Entries"]]
        return [str(e["MessageBody"]) for e in entries[before:]]

    def entries(self) -> list[dict[str, Any]]:
        return [e for c in self.sqs.calls for e in c["Entries"]]


def stub_webhook(monkeypatch: pytest.MonkeyPatch) -> Webhook:
    stub = install_stub_sqs(monkeypatch)
    monkeypatch.setenv("META_APP_SECRET", META_SECRET)
    monkeypatch.setenv("META_VERIFY_TOKEN", META_VERIFY_TOKEN)
    return Webhook(stub)


@dataclass
class CountingPlatform:
    """Stands in for a platform's send API: counts what it is asked to send (thread safe)."""

    delay: float = 0.0
    sent: list[tuple[str, OutboundMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(
        self, conversation: Conversation, message: OutboundMessage, plan: SendPlan = STANDARD
    ) -> SendResult:
        time.sleep(self.delay)  # a send in flight while the other processor runs
        with self.lock:
            self.sent.append((conversation.id, message))
            return SendResult(status="sent", platform_message_id=f"m_sent_{len(self.sent)}")

    def acks(self) -> list[OutboundMessage]:
        return [m for _cid, m in self.sent if m.kind == "ack"]


def install_platform(monkeypatch: pytest.MonkeyPatch, platform: CountingPlatform) -> None:
    """Every channel sends through ``platform``; the packaged default configuration applies."""
    from carehooks.channels import registry
    from carehooks.config import loader

    monkeypatch.setattr(registry, "client_for", lambda channel: platform)
    monkeypatch.delenv("CAREHOOKS_CONFIG", raising=False)
    monkeypatch.delenv("CONFIG_PARAMETER", raising=False)
    loader.reset()


def fresh_table(endpoint: str) -> Iterator[Store]:
    """A new table on DynamoDB Local, created from template.yaml; dropped afterwards."""
    import boto3
    from infra.template import table_create_kwargs

    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="eu-west-1")
    name = f"race-{next(_tables)}-{time.time_ns()}"
    client.create_table(**table_create_kwargs("Table", name))
    try:
        yield make_store(name, client=client)
    finally:
        client.delete_table(TableName=name)


def run_together(*calls: Callable[[], Any], timeout: float = 60) -> list[Any]:
    """Run the calls on threads released at once by a barrier; each result, or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except BaseException as exc:  # handed to the test, which asserts on it
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not [t for t in threads if t.is_alive()], "a racing call did not finish"
    return results


def items(store: Store) -> list[dict[str, Any]]:
    """Every item of the table, unmarshalled (tests only; the code never scans)."""
    out: list[dict[str, Any]] = []
    for page in store.client.get_paginator("scan").paginate(TableName=store.table_name, ConsistentRead=True):
        out.extend(store.unmarshal(i) for i in page["Items"])
    return out
