"""The store against Amazon DynamoDB Local: idempotency, ordering, threading, concurrency, claims, capacity.

moto does not enforce transactions, conditions and capacity the way DynamoDB does; DynamoDB Local does.
Each test gets a fresh table created from template.yaml on the session's DynamoDB Local.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from infra.template import table_create_kwargs, ttl_attribute

from carehooks.domain.models import Channel, Conversation, Direction, MessageEvent, StatusEvent
from carehooks.inbound.processor import store_message
from carehooks.store import ConflictError, Store
from carehooks.wiring.store import make_store

pytestmark = pytest.mark.ddblocal

T0 = datetime(2025, 11, 22, 9, 0, tzinfo=UTC)
WINDOW = timedelta(hours=24)
PAGE = "112233445566778"
CUSTOMER = "7318845612093471"
_names = itertools.count()


@pytest.fixture(scope="module")
def dynamodb(ddblocal: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=ddblocal, region_name="eu-west-1")


@pytest.fixture
def table(dynamodb: Any) -> Iterator[str]:
    name = f"store-{next(_names)}"
    dynamodb.create_table(**table_create_kwargs("Table", name))
    attribute = ttl_attribute("Table")
    if attribute:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
        )
    yield name
    dynamodb.delete_table(TableName=name)


@pytest.fixture
def store(dynamodb: Any, table: str) -> Store:
    return make_store(table, client=dynamodb)


def snapshot(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    """Every item, sorted (tests only: the code never scans)."""
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend(page["Items"])
    return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def text(
    mid: str,
    at: datetime,
    body: str = "hello",
    direction: Direction = Direction.IN,
    contact: str = CUSTOMER,
    origin_tag: str | None = None,
) -> MessageEvent:
    return MessageEvent(
        channel=Channel.MESSENGER,
        account_id=PAGE,
        contact_id=contact,
        platform_message_id=mid,
        sent_at=at,
        direction=direction,
        text=body,
        origin_tag=origin_tag,
    )


def resolve(store: Store, conv: Conversation, at: datetime) -> Conversation:
    current = store.get_conversation(conv.id)
    assert current is not None
    return store.save_conversation(replace(current, status="resolved", resolved_at=at))


# ---------------------------------------------------------------- idempotency
@pytest.mark.parametrize(
    "later", [timedelta(minutes=5), timedelta(hours=1), timedelta(days=7), timedelta(days=8, hours=1)]
)
def test_a_redelivery_minutes_or_days_later_stores_nothing(
    store: Store, dynamodb: Any, table: str, later: timedelta
) -> None:
    event = text("m_1", T0)
    first = store_message(store, event, T0, WINDOW)
    before = snapshot(dynamodb, table)
    again = store_message(store, event, T0 + later, WINDOW)
    assert not first.duplicate
    assert again.duplicate
    assert again.conversation is None
    assert snapshot(dynamodb, table) == before


def test_a_redelivery_after_resolution_does_not_reopen_or_start_a_conversation(
    store: Store, dynamodb: Any, table: str
) -> None:
    first = store_message(store, text("m_1", T0), T0, WINDOW)
    assert first.conversation is not None
    resolve(store, first.conversation, T0 + timedelta(minutes=10))
    before = snapshot(dynamodb, table)
    assert store_message(store, text("m_1", T0), T0 + timedelta(hours=2), WINDOW).duplicate
    assert snapshot(dynamodb, table) == before


def test_the_message_and_its_conversation_are_written_together(store: Store) -> None:
    outcome = store_message(store, text("m_1", T0, "where is my order?"), T0, WINDOW)
    assert outcome.new_conversation
    assert outcome.conversation is not None
    conv = store.get_conversation(outcome.conversation.id)
    assert conv is not None
    assert (conv.status, conv.message_count, conv.preview, conv.version) == (
        "open",
        1,
        "where is my order?",
        1,
    )
    assert [m.platform_message_id for m in store.messages(conv)] == ["m_1"]


def test_a_failed_transaction_leaves_neither_message_nor_conversation(
    store: Store, dynamodb: Any, table: str
) -> None:
    # A conversation item too large for DynamoDB fails the whole transaction: the message is not kept.
    huge = "x" * 410_000
    with pytest.raises(Exception, match=r"(?i)size"):
        store_message(store, replace(text("m_big", T0), contact_name=huge), T0, WINDOW)
    assert snapshot(dynamodb, table) == []


# ---------------------------------------------------------------- ordering
def test_out_of_order_messages_are_returned_in_platform_time_order(store: Store) -> None:
    arrivals = [("m_3", 3), ("m_1", 1), ("m_4", 4), ("m_2", 2)]
    conv = None
    for i, (mid, minute) in enumerate(arrivals):
        outcome = store_message(
            store,
            text(mid, T0 + timedelta(minutes=minute), f"message {minute}"),
            T0 + timedelta(minutes=10 + i),
            WINDOW,
        )
        conv = outcome.conversation
    assert conv is not None
    assert [m.platform_message_id for m in store.messages(conv)] == ["m_1", "m_2", "m_3", "m_4"]
    stored = store.get_conversation(conv.id)
    assert stored is not None
    # Times only move forward: a late, older message does not wind the conversation back.
    assert stored.last_activity_at == T0 + timedelta(minutes=4)
    assert stored.last_inbound_at == T0 + timedelta(minutes=4)
    assert stored.preview == "message 4"
    assert stored.message_count == 4


def test_messages_with_the_same_millisecond_are_all_kept_in_a_stable_order(store: Store) -> None:
    for mid in ("m_b", "m_a", "m_c"):
        outcome = store_message(store, text(mid, T0), T0, WINDOW)
    assert outcome.conversation is not None
    assert [m.platform_message_id for m in store.messages(outcome.conversation)] == ["m_a", "m_b", "m_c"]


def test_a_conversation_with_many_messages_is_read_whole(store: Store) -> None:
    # More than one 1 MB page of the LSI query: pagination must not drop messages.
    body = "y" * 9_000
    for i in range(125):
        outcome = store_message(store, text(f"m_{i:04d}", T0 + timedelta(seconds=i), body), T0, WINDOW)
    assert outcome.conversation is not None
    assert len(store.messages(outcome.conversation)) == 125


# ---------------------------------------------------------------- threading
def test_a_message_within_the_reopen_window_reopens_the_resolved_conversation(store: Store) -> None:
    first = store_message(store, text("m_1", T0), T0, WINDOW)
    assert first.conversation is not None
    resolved_at = T0 + timedelta(hours=1)
    resolve(store, first.conversation, resolved_at)
    later = resolved_at + timedelta(hours=23)
    again = store_message(store, text("m_2", later), later, WINDOW)
    assert again.reopened
    assert not again.new_conversation
    assert again.conversation is not None
    assert again.conversation.id == first.conversation.id
    stored = store.get_conversation(first.conversation.id)
    assert stored is not None
    assert (stored.status, stored.resolved_at, stored.message_count) == ("open", None, 2)


def test_a_message_after_the_reopen_window_starts_a_new_conversation(store: Store) -> None:
    first = store_message(store, text("m_1", T0), T0, WINDOW)
    assert first.conversation is not None
    resolved_at = T0 + timedelta(hours=1)
    resolve(store, first.conversation, resolved_at)
    later = resolved_at + WINDOW + timedelta(minutes=1)
    again = store_message(store, text("m_2", later), later, WINDOW)
    assert again.new_conversation
    assert again.conversation is not None
    assert again.conversation.id != first.conversation.id
    assert again.previous_conversation is not None
    assert again.previous_conversation.id == first.conversation.id
    old = store.get_conversation(first.conversation.id)
    assert old is not None
    assert (old.status, old.message_count) == ("resolved", 1)
    assert [m.platform_message_id for m in store.messages(again.conversation)] == ["m_2"]
    assert [c.id for c in store.contact_conversations("messenger", PAGE, CUSTOMER)] == [
        again.conversation.id,
        first.conversation.id,
    ]


def test_a_zero_reopen_window_always_starts_a_new_conversation(store: Store) -> None:
    first = store_message(store, text("m_1", T0), T0, WINDOW)
    assert first.conversation is not None
    resolve(store, first.conversation, T0 + timedelta(minutes=1))
    at = T0 + timedelta(minutes=2)
    assert store_message(store, text("m_2", at), at, timedelta(0)).new_conversation


def test_a_late_message_from_before_the_resolution_joins_the_resolved_conversation(store: Store) -> None:
    first = store_message(store, text("m_2", T0 + timedelta(minutes=2)), T0, WINDOW)
    assert first.conversation is not None
    resolve(store, first.conversation, T0 + timedelta(minutes=5))
    late = store_message(store, text("m_1", T0 + timedelta(minutes=1)), T0 + timedelta(days=3), WINDOW)
    assert late.conversation is not None
    assert late.conversation.id == first.conversation.id
    assert not late.reopened
    assert late.conversation.status == "resolved"


def test_a_business_message_after_resolution_does_not_reopen(store: Store) -> None:
    first = store_message(store, text("m_1", T0), T0, WINDOW)
    assert first.conversation is not None
    resolve(store, first.conversation, T0 + timedelta(minutes=5))
    at = T0 + timedelta(minutes=6)
    echo = store_message(store, text("m_echo", at, direction=Direction.OUT), at, WINDOW)
    assert echo.conversation is not None
    assert echo.conversation.id == first.conversation.id
    assert echo.conversation.status == "resolved"


def test_an_echo_typed_in_metas_inbox_counts_as_the_first_response(store: Store) -> None:
    store_message(store, text("m_1", T0), T0, WINDOW)
    at = T0 + timedelta(minutes=3)
    ack = store_message(store, text("m_ack", at, direction=Direction.OUT, origin_tag="ack:x"), at, WINDOW)
    assert ack.conversation is not None
    assert ack.conversation.first_response_at is None
    human_at = T0 + timedelta(minutes=7)
    human = store_message(store, text("m_human", human_at, direction=Direction.OUT), human_at, WINDOW)
    assert human.conversation is not None
    assert human.conversation.first_response_at == human_at
    assert human.conversation.first_responder == "platform-inbox"


def test_customers_and_accounts_get_separate_conversations(store: Store) -> None:
    a = store_message(store, text("m_a", T0, contact="c_a"), T0, WINDOW)
    b = store_message(store, text("m_b", T0, contact="c_b"), T0, WINDOW)
    assert a.conversation is not None
    assert b.conversation is not None
    assert a.conversation.id != b.conversation.id


# ---------------------------------------------------------------- concurrency
def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Start the calls on threads released by one barrier; results (or exceptions) in call order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:  # reported to the test, not swallowed
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_messages_of_one_conversation_recorded_concurrently_both_land(dynamodb: Any, table: str) -> None:
    first = store_message(make_store(table, client=dynamodb), text("m_0", T0), T0, WINDOW)
    assert first.conversation is not None
    for round_ in range(5):
        events = [text(f"m_{round_}_{i}", T0 + timedelta(seconds=round_ * 10 + i)) for i in range(2)]
        results = run_together(
            *(lambda e=e: store_message(make_store(table, client=dynamodb), e, T0, WINDOW) for e in events)
        )
        assert not [r for r in results if isinstance(r, Exception)], results
        assert {r.conversation.id for r in results} == {first.conversation.id}
    store = make_store(table, client=dynamodb)
    conv = store.get_conversation(first.conversation.id)
    assert conv is not None
    assert conv.message_count == 11
    assert len(store.messages(conv)) == 11


def test_many_messages_of_one_conversation_recorded_concurrently_all_land(dynamodb: Any, table: str) -> None:
    first = store_message(make_store(table, client=dynamodb), text("m_0", T0), T0, WINDOW)
    assert first.conversation is not None
    events = [text(f"m_c{i}", T0 + timedelta(seconds=i + 1)) for i in range(4)]
    results = run_together(
        *(lambda e=e: store_message(make_store(table, client=dynamodb), e, T0, WINDOW) for e in events)
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    conv = make_store(table, client=dynamodb).get_conversation(first.conversation.id)
    assert conv is not None
    assert conv.message_count == 5


@pytest.mark.xfail(
    strict=True,
    reason="known gap: two first messages of a new customer recorded at once each start a conversation "
    "(the new conversation's condition is on its own fresh key). The FIFO queue serialises one customer's "
    "records, so the processor does not race itself; a per-contact head item would close the gap.",
)
def test_two_first_messages_of_a_new_customer_recorded_concurrently_share_one_conversation(
    dynamodb: Any, table: str
) -> None:
    events = [text(f"m_new{i}", T0 + timedelta(seconds=i)) for i in range(2)]
    results = run_together(
        *(lambda e=e: store_message(make_store(table, client=dynamodb), e, T0, WINDOW) for e in events)
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(make_store(table, client=dynamodb).contact_conversations("messenger", PAGE, CUSTOMER)) == 1


def test_the_same_message_recorded_concurrently_is_stored_once(dynamodb: Any, table: str) -> None:
    store_message(make_store(table, client=dynamodb), text("m_0", T0), T0, WINDOW)
    event = text("m_1", T0 + timedelta(seconds=1))
    results = run_together(
        *(lambda: store_message(make_store(table, client=dynamodb), event, T0, WINDOW) for _ in range(3))
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.duplicate for r in results) == [False, True, True]
    conv = make_store(table, client=dynamodb).latest_conversation("messenger", PAGE, CUSTOMER)
    assert conv is not None
    assert conv.message_count == 2


def test_a_stale_conversation_save_is_a_conflict(store: Store) -> None:
    outcome = store_message(store, text("m_1", T0), T0, WINDOW)
    assert outcome.conversation is not None
    stale = outcome.conversation
    store.save_conversation(replace(stale, tags=["vip"]))
    with pytest.raises(ConflictError):
        store.save_conversation(replace(stale, priority="high"))
    current = store.get_conversation(stale.id)
    assert current is not None
    assert (current.tags, current.priority) == (["vip"], "normal")


def test_unknown_attributes_round_trip_through_extra(store: Store) -> None:
    outcome = store_message(store, text("m_1", T0), T0, WINDOW)
    assert outcome.conversation is not None
    saved = store.save_conversation(
        replace(outcome.conversation, extra={"owned_by_someone": {"a": [1, 2.5]}})
    )
    again = store.get_conversation(saved.id)
    assert again is not None
    assert again.extra["owned_by_someone"] == {"a": [1, 2.5]}


# ---------------------------------------------------------------- statuses
def test_delivery_statuses_only_move_forward(store: Store) -> None:
    store_message(store, text("wamid.1", T0, direction=Direction.OUT, origin_tag="ack:1"), T0, WINDOW)

    def status(name: str, minute: int) -> bool:
        return store.apply_status(
            StatusEvent(
                channel=Channel.MESSENGER,
                account_id=PAGE,
                contact_id=CUSTOMER,
                status=name,
                at=T0 + timedelta(minutes=minute),
                platform_message_id="wamid.1",
            )
        )

    assert status("sent", 1)
    assert status("read", 3)  # delivered was skipped: accepted
    assert not status("delivered", 2)  # late: never backwards
    assert not status("read", 4)  # the same status again changes nothing
    message = store.get_message("messenger", PAGE, CUSTOMER, "wamid.1")
    assert message is not None
    assert message.status == "read"


def test_a_status_for_an_unknown_message_creates_nothing(store: Store, dynamodb: Any, table: str) -> None:
    changed = store.apply_status(
        StatusEvent(
            channel=Channel.MESSENGER,
            account_id=PAGE,
            contact_id=CUSTOMER,
            status="read",
            at=T0,
            platform_message_id="never-sent",
        )
    )
    assert not changed
    assert snapshot(dynamodb, table) == []


# ---------------------------------------------------------------- claims
def test_a_claim_is_won_by_exactly_one_of_many_concurrent_callers(dynamodb: Any, table: str) -> None:
    results = run_together(
        *(
            lambda i=i: make_store(table, client=dynamodb).claim(
                "ack", "conv-1", T0, timedelta(days=1), owner=f"w{i}"
            )
            for i in range(8)
        )
    )
    assert sorted(results) == [False] * 7 + [True]


def test_a_claim_holds_until_released_or_expired(store: Store) -> None:
    ttl = timedelta(hours=1)
    assert store.claim("survey", "conv-1", T0, ttl)
    assert not store.claim("survey", "conv-1", T0 + timedelta(minutes=59), ttl)
    assert store.claim("survey", "conv-2", T0, ttl)  # another scope is independent
    assert store.claim("survey", "conv-1", T0 + timedelta(hours=1, seconds=1), ttl)  # expired
    store.release_claim("survey", "conv-1")
    assert store.claim("survey", "conv-1", T0 + timedelta(hours=1, seconds=2), ttl)


def test_a_claim_records_its_outcome(store: Store, dynamodb: Any, table: str) -> None:
    assert store.claim("ack", "conv-1", T0, timedelta(days=1))
    store.mark_claim("ack", "conv-1", message_id="m_sent", outcome="sent")
    (item,) = snapshot(dynamodb, table)
    assert (item["message_id"]["S"], item["outcome"]["S"]) == ("m_sent", "sent")
    assert int(item["ttl"]["N"]) == int((T0 + timedelta(days=1)).timestamp())


# ---------------------------------------------------------------- consumed capacity
def write_units(log: list[dict[str, Any]]) -> dict[str, float]:
    """Write-operation capacity: the TOTAL, and the table's own part (indexes are the difference)."""
    total = table = 0.0
    for call in log:
        if call["operation"] in {
            "put_item",
            "update_item",
            "delete_item",
            "transact_write_items",
            "batch_write_item",
        }:
            for consumed in call["consumed"]:
                total += consumed["CapacityUnits"]
                table += consumed.get("Table", {}).get("CapacityUnits", 0.0)
    return {"total": total, "table": table}


def test_consumed_capacity_of_an_inbound_message(dynamodb: Any, table: str) -> None:
    log: list[dict[str, Any]] = []
    store = make_store(table, client=dynamodb, capacity_log=log)
    store_message(store, text("m_1", T0), T0, WINDOW)
    first = write_units(log)
    log.clear()
    store_message(store, text("m_2", T0 + timedelta(minutes=1)), T0 + timedelta(minutes=1), WINDOW)
    follow_up = write_units(log)
    operations = [c["operation"] for c in log]
    log.clear()
    store_message(store, text("m_2", T0 + timedelta(minutes=1)), T0 + timedelta(minutes=2), WINDOW)
    redelivery = write_units(log)

    # One read of the customer's latest conversation, then two single-item writes (the message, then its
    # conversation), never a transaction nor a scan.
    assert operations == ["query", "put_item", "put_item"]
    # Message + conversation: 1 unit each (each < 1 KB); a follow-up moves no index of the conversation
    # (its list entry moves on a turn, not on every message), so the rest is the message's LSI entry.
    assert follow_up["table"] == 2.0
    assert first["table"] == 2.0
    assert follow_up["total"] == 3.0
    # A redelivery is refused by the message's condition: nothing is written (DynamoDB bills the refused
    # conditional put as one unit, and the conversation is not written at all).
    assert redelivery["table"] <= 1.0
    assert redelivery["total"] <= 1.0
    # The whole table costs each inbound message a bounded number of units (see the benchmark).
    assert follow_up["total"] <= first["total"]


# ---------------------------------------------------------------- retention (issue 18)
def test_with_a_retention_messages_and_conversations_expire_after_their_last_activity(
    dynamodb: Any, table: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from carehooks.config.settings import settings

    monkeypatch.setenv("DATA_RETENTION_DAYS", "30")
    settings.cache_clear()
    first = store_message(store, text("m_1", T0), T0, WINDOW)
    later = T0 + timedelta(days=3)
    store_message(store, text("m_2", later), later, WINDOW)
    items = {item["sk"]["S"]: item for item in snapshot(dynamodb, table)}
    assert first.conversation is not None
    expiry = {sk: int(item["ttl"]["N"]) for sk, item in items.items() if "ttl" in item}
    messages = sorted(v for sk, v in expiry.items() if sk.startswith("MSG#"))
    assert messages == [
        int((T0 + timedelta(days=30)).timestamp()),
        int((later + timedelta(days=30)).timestamp()),
    ]
    conversations = [v for sk, v in expiry.items() if sk.startswith("CONV#")]
    # The conversation's expiry moved forward with its last message.
    assert conversations == [int((later + timedelta(days=30)).timestamp())]


def test_without_a_retention_nothing_of_a_conversation_expires(
    dynamodb: Any, table: str, store: Store
) -> None:
    store_message(store, text("m_1", T0), T0, WINDOW)
    items = snapshot(dynamodb, table)
    kept = [i["sk"]["S"] for i in items if i["sk"]["S"].startswith(("MSG#", "CONV#"))]
    assert len(kept) == 2
    assert all("ttl" not in i for i in items if i["sk"]["S"].startswith(("MSG#", "CONV#")))


def test_a_retention_shorter_than_platform_redelivery_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from carehooks.config.settings import settings

    monkeypatch.setenv("DATA_RETENTION_DAYS", "7")
    settings.cache_clear()
    with pytest.raises(ValueError, match="at least 30"):
        settings()
