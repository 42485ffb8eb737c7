"""Partition spread, black box: a few hundred customers' conversations in the local stack, then every index
of the table (found by describing it) is read whole, and no partition key of an index, nor of the table,
holds more than an eighth of the conversations (issue 14, "Done when").

Customers write through signed Messenger, WhatsApp and Telegram webhooks; agents (ten of them) take a
third of the conversations, reply and resolve part of those, so assignee queues, resolved lists, stopped
SLA clocks and survey due markers exist too. The table is read on the stack's DynamoDB Local (its endpoint
from the stack's ``endpoints.json``), as a test may and the product never does: with Scans.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from tests.e2e.harness import LocalStack, wait_for
from tests.e2e.spread import (
    conversation_items,
    indexes_of,
    over_share,
    partition_counts,
    scan,
    table_hash_key,
)
from tests.load.traffic import Customer, delivery

pytestmark = pytest.mark.e2e

CUSTOMERS = 300
PLATFORM = {"messenger": "meta", "whatsapp": "meta", "telegram": "telegram"}
AGENTS = 10
TAKEN = CUSTOMERS // 3  # assigned to an agent and replied to
RESOLVED = CUSTOMERS // 5  # of those, resolved (a survey due marker each)
WORKERS = 4


def _customer(n: int, run: int) -> Customer:
    channel = list(PLATFORM)[n % len(PLATFORM)]
    contact = {
        "messenger": f"72{run:06d}{n:08d}",
        "whatsapp": f"1651{run % 1000:03d}{n:04d}",
        "telegram": str(600_000_000 + run * 1000 + n),
    }[channel]
    return Customer(channel, PLATFORM[channel], contact)


def _dynamodb(stack: LocalStack) -> Any:
    endpoints = json.loads((stack.data_dir / "endpoints.json").read_text(encoding="utf-8"))
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoints["dynamodb"],
        region_name=endpoints["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def _post(stack: LocalStack, path: str, body: bytes, headers: dict[str, str]) -> int:
    """A webhook as a platform sends it: again after a 5xx (a cold function on a busy machine)."""
    status = 0
    for _ in range(4):
        status = stack.request("POST", path, body, headers).status
        if status < 500:
            return status
        time.sleep(1)
    return status


def _in_parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(lambda call: call(), calls))


def _api(stack: LocalStack, token: str, path: str, payload: Any) -> tuple[int, Any]:
    answer = stack.request(
        "POST",
        path,
        json.dumps(payload).encode(),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    return answer.status, answer.json() if answer.body else None


def test_no_partition_key_of_the_table_or_any_index_holds_an_eighth_of_the_conversations(
    project_stack: LocalStack,
) -> None:
    stack = project_stack
    client = _dynamodb(stack)
    (table,) = client.list_tables()["TableNames"]
    description = client.describe_table(TableName=table)["Table"]
    pk = table_hash_key(description)
    before = len(conversation_items(scan(client, table)))  # other tests of the module may have left some
    run = int(uuid.uuid4().int % 10**6)
    started = time.monotonic()

    # Given 300 customers writing in on three channels
    now_ms = int(time.time() * 1000)
    deliveries = [
        delivery(n, _customer(n, run), f"spread{run}", stack.url, now_ms + n) for n in range(CUSTOMERS)
    ]
    warm = [deliveries[n] for n in range(len(PLATFORM))]  # one a function first: their cold starts
    statuses = [_post(stack, d.path, d.body, d.headers) for d in warm]
    statuses += _in_parallel(
        [lambda d=d: _post(stack, d.path, d.body, d.headers) for d in deliveries[len(warm) :]]
    )
    assert statuses == [200] * CUSTOMERS

    def stored() -> list[Any] | None:
        found = conversation_items(scan(client, table))
        if len(found) >= before + CUSTOMERS:
            return found
        time.sleep(2)  # a Scan a probe: not more often, the stack shares the machine
        return None

    conversations = wait_for(stored, timeout=120, what=f"{CUSTOMERS} conversations")

    # And ten agents taking a third of them, replying, and resolving some
    tokens = [
        stack.post_json("/_local/token", {"sub": f"agent-{a}", "name": f"Agent {a}"}).json()["token"]
        for a in range(AGENTS)
    ]
    contacts = {d.customer.contact for d in deliveries}
    ours = sorted(
        str(item["sk"]["S"]).removeprefix("CONV#")
        for item in conversations
        if item.get("contact_id", {}).get("S") in contacts
    )
    assert len(ours) == CUSTOMERS

    def take(i: int, conv_id: str) -> int:
        token = tokens[i % AGENTS]
        status, body = _api(stack, token, f"/api/conversations/{conv_id}/assign", {"assignee": "me"})
        assert status == 200, body
        status, body = _api(stack, token, f"/api/conversations/{conv_id}/reply", {"text": "On it."})
        assert status == 201, body
        if i < RESOLVED:
            status, body = _api(stack, token, f"/api/conversations/{conv_id}/resolve", {})
            assert status == 200, body
        return status

    _in_parallel([lambda i=i, c=c: take(i, c) for i, c in enumerate(ours[:TAKEN])])

    # When every index of the table is read whole
    total = before + CUSTOMERS
    items = list(scan(client, table))
    table_counts = partition_counts(conversation_items(items), pk)
    carried = {key for item in conversation_items(items) for key in item}
    read: dict[str, int] = {}
    hot: dict[str, dict[str, int]] = {}
    for index in indexes_of(description):
        counts = partition_counts(scan(client, table, index.name), index.hash_key)
        read[index.name] = sum(counts.values())
        if index.hash_key in carried:  # the index is written (ByDay, data model v1, no longer is)
            assert read[index.name] > 0, f"{index.name} holds nothing, though items carry {index.hash_key}"
        if over := over_share(counts, total):
            hot[index.name] = over

    # Then no partition key holds more than an eighth of the conversations
    detail = f"entries per index: {read}; {time.monotonic() - started:.0f} s"
    assert over_share(table_counts, total) == {}, detail
    assert hot == {}, detail
    assert len(read) == len(indexes_of(description)) >= 2, detail
