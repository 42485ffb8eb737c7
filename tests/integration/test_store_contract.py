"""The Store contract: the same assertions on the in-memory store and on DynamoDB Local.

Every operation of :class:`carehooks.store.Store` is checked for what a caller can observe: duplicates,
versions and conflicts, the claims' life, status order, lists and their cursors, what is due (surveys,
SLA), events, the send log, public comment threads and their private conversations, rules decisions and
the replay reads. ``MemoryStore`` is the unit tests' store; it must behave as the table does.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from infra.template import table_create_kwargs

from carehooks.clock import iso
from carehooks.domain.models import (
    Channel,
    CommentChangeEvent,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    MessageEvent,
    StatusEvent,
)
from carehooks.inbound.processor import store_message
from carehooks.store import ConflictError, DynamoStore, Store, StoreError, keys
from carehooks.store.events import ConversationEvent
from carehooks.store.memory import MemoryStore
from carehooks.store.public import LINKED_PRIVATE, LINKED_PUBLIC
from carehooks.store.queries import ConversationFilter, CursorError, Page
from carehooks.store.rules import DECISION_ATTRIBUTE
from carehooks.store.sends import SendAttempt
from carehooks.store.sla import PolicyMarker, ReadStats
from tests.integration.race_support import run_together
from tests.integration.test_public_store_ddblocal import THREAD, commented

T0 = datetime(2025, 11, 22, 9, 0, tzinfo=UTC)
WINDOW = timedelta(hours=24)
PAGE = "112233445566778"
CUSTOMER = "7318845612093471"
_names = itertools.count()


def derived(conv: Conversation, now: datetime) -> Conversation:
    """A deriver that leaves a trace: the write time of each write (the store must call it every time)."""
    return replace(conv, tags=list(conv.tags), extra={**conv.extra, "derived_at": iso(now)})


@pytest.fixture(scope="module")
def dynamodb(request: pytest.FixtureRequest) -> Any:
    endpoint = request.getfixturevalue("ddblocal")
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="eu-west-1")


@pytest.fixture(params=["memory", pytest.param("dynamodb", marks=pytest.mark.ddblocal)])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore(derive=derived)
        return
    client = request.getfixturevalue("dynamodb")
    name = f"contract-{next(_names)}"
    client.create_table(**table_create_kwargs("Table", name))
    try:
        yield DynamoStore(name, client, derive=derived)
    finally:
        client.delete_table(TableName=name)


def text(
    mid: str,
    at: datetime,
    body: str = "hello",
    contact: str = CUSTOMER,
    direction: Direction = Direction.IN,
    channel: Channel = Channel.MESSENGER,
) -> MessageEvent:
    return MessageEvent(
        channel=channel,
        account_id=PAGE,
        contact_id=contact,
        platform_message_id=mid,
        sent_at=at,
        direction=direction,
        text=body,
    )


def record(store: Store, event: MessageEvent, now: datetime | None = None) -> Conversation:
    outcome = store_message(store, event, now or event.sent_at, WINDOW)
    assert not outcome.duplicate
    assert outcome.conversation is not None
    return outcome.conversation


def current(store: Store, conv: Conversation) -> Conversation:
    found = store.get_conversation(conv.id)
    assert found is not None
    return found


def only_message(store: Store, conv: Conversation) -> Message:
    [message] = store.messages(conv)
    return message


# -- messages, conversations, versions --------------------------------------------------------------------
def test_a_message_starts_a_conversation_and_the_next_one_joins_it(store: Store) -> None:
    first = record(store, text("m1", T0, "hi"))
    second = record(store, text("m2", T0 + timedelta(minutes=1), "still there?"))
    assert second.id == first.id
    assert (first.version, second.version) == (1, 2)
    assert second.message_count == 2
    assert second.preview == "still there?"
    assert store.latest_conversation(Channel.MESSENGER, PAGE, CUSTOMER) == second
    assert store.get_conversation(first.id) == second
    assert [m.platform_message_id for m in store.messages(second)] == ["m1", "m2"]


def test_a_redelivered_message_is_a_duplicate_and_changes_nothing(store: Store) -> None:
    conv = record(store, text("m1", T0))
    again = store_message(store, text("m1", T0, "different text"), T0 + timedelta(days=3), WINDOW)
    assert again.duplicate
    assert again.conversation is None
    assert current(store, conv) == conv
    assert only_message(store, conv).text == "hello"


def test_every_write_is_derived_at_its_time(store: Store) -> None:
    conv = record(store, text("m1", T0), now=T0 + timedelta(seconds=3))
    assert conv.extra["derived_at"] == iso(T0 + timedelta(seconds=3))
    later = record(store, text("m2", T0 + timedelta(minutes=5)), now=T0 + timedelta(minutes=6))
    assert current(store, later).extra["derived_at"] == iso(T0 + timedelta(minutes=6))


def test_a_stale_save_is_a_conflict_and_a_fresh_one_moves_the_version(store: Store) -> None:
    conv = record(store, text("m1", T0))
    saved = store.save_conversation(replace(conv, priority="high"))
    assert saved.version == conv.version + 1
    with pytest.raises(ConflictError):
        store.save_conversation(replace(conv, priority="low"))
    assert current(store, conv).priority == "high"


def test_a_reordered_older_message_moves_first_inbound_back_and_sorts_first(store: Store) -> None:
    record(store, text("m2", T0 + timedelta(minutes=5), "second"))
    conv = record(store, text("m1", T0, "first"), now=T0 + timedelta(minutes=6))
    assert conv.first_inbound_at == T0
    assert conv.last_inbound_at == T0 + timedelta(minutes=5)
    assert conv.preview == "second"
    assert [m.text for m in store.messages(conv)] == ["first", "second"]


def test_returned_objects_are_copies(store: Store) -> None:
    conv = record(store, text("m1", T0))
    read = current(store, conv)
    read.tags.append("changed")
    read.extra["mutated"] = True
    message = only_message(store, conv)
    message.extra["mutated"] = True
    assert current(store, conv) == conv
    assert "mutated" not in only_message(store, conv).extra


def test_a_value_the_table_cannot_hold_is_refused_and_nothing_is_written(store: Store) -> None:
    conv = record(store, text("m1", T0))
    with pytest.raises(TypeError, match="Unsupported type"):
        store.save_conversation(replace(conv, extra={**conv.extra, "when": T0}))
    assert current(store, conv) == conv


def test_unknown_ids_read_as_none(store: Store) -> None:
    assert store.get_conversation("01JUNKNOWN0000000000000000") is None
    assert store.latest_conversation(Channel.MESSENGER, PAGE, "nobody") is None
    assert store.get_message(Channel.MESSENGER, PAGE, CUSTOMER, "nothing") is None
    assert store.conversation_at("CT#x", "CONV#y") is None


def test_a_customers_conversations_newest_first_and_separate_from_others(store: Store) -> None:
    first = record(store, text("m1", T0))
    store.save_conversation(replace(first, status="resolved", resolved_at=T0 + timedelta(minutes=1)))
    second = record(store, text("m2", T0 + timedelta(days=3)))
    other = record(store, text("o1", T0, contact="someone-else"))
    assert second.id != first.id
    assert [c.id for c in store.contact_conversations(Channel.MESSENGER, PAGE, CUSTOMER)] == [
        second.id,
        first.id,
    ]
    assert [c.id for c in store.contact_conversations(Channel.MESSENGER, PAGE, CUSTOMER, limit=1)] == [
        second.id
    ]
    assert [c.id for c in store.contact_conversations(Channel.MESSENGER, PAGE, "someone-else")] == [other.id]


def test_a_sent_message_is_stored_once_and_accounted_for(store: Store) -> None:
    conv = record(store, text("m1", T0))
    sent = Message(
        conversation_id=conv.id,
        channel=Channel.MESSENGER,
        account_id=PAGE,
        contact_id=CUSTOMER,
        platform_message_id="out1",
        direction=Direction.OUT,
        sent_at=T0 + timedelta(minutes=2),
        text="we are on it",
        author="alice",
    )
    updated = store.put_outbound_message(conv, sent)
    assert updated is not None
    assert updated.version == conv.version + 1
    assert updated.last_outbound_at == T0 + timedelta(minutes=2)
    assert updated.first_responder == "alice"
    assert store.put_outbound_message(conv, sent) is None  # the echo stored it first
    assert current(store, conv).message_count == 2


# -- concurrency (threads on one store) ----------------------------------------------------------------------
def test_messages_of_one_conversation_recorded_concurrently_all_land(store: Store) -> None:
    first = record(store, text("m_0", T0))
    for round_ in range(3):
        events = [text(f"m_{round_}_{i}", T0 + timedelta(seconds=round_ * 10 + i)) for i in range(3)]
        results = run_together(*(lambda e=e: store_message(store, e, T0, WINDOW) for e in events))
        assert not [r for r in results if isinstance(r, Exception)], results
        assert {r.conversation.id for r in results} == {first.id}
    conv = current(store, first)
    assert conv.message_count == 10
    assert len(store.messages(conv)) == 10


def test_the_same_message_recorded_concurrently_is_stored_once(store: Store) -> None:
    record(store, text("m_0", T0))
    event = text("m_1", T0 + timedelta(seconds=1))
    results = run_together(*(lambda: store_message(store, event, T0, WINDOW) for _ in range(4)))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.duplicate for r in results) == [False, True, True, True]
    conv = store.latest_conversation(Channel.MESSENGER, PAGE, CUSTOMER)
    assert conv is not None
    assert conv.message_count == 2


def test_a_claim_is_won_by_exactly_one_of_many_concurrent_callers(store: Store) -> None:
    results = run_together(
        *(lambda i=i: store.claim("ack", "conv-1", T0, timedelta(days=1), owner=f"w{i}") for i in range(8))
    )
    assert sorted(results) == [False] * 7 + [True]


# -- statuses ---------------------------------------------------------------------------------------------
def status(name: str, mid: str | None = "out1", error: str | None = None) -> StatusEvent:
    return StatusEvent(
        channel=Channel.MESSENGER,
        account_id=PAGE,
        contact_id=CUSTOMER,
        status=name,
        at=T0 + timedelta(minutes=3),
        platform_message_id=mid,
        error_code=error,
        error_title="blocked" if error else None,
    )


def test_statuses_only_move_forward(store: Store) -> None:
    conv = record(store, text("out1", T0, direction=Direction.OUT))
    assert store.apply_status(status("delivered"))
    assert not store.apply_status(status("sent"))
    assert not store.apply_status(status("delivered"))
    assert store.apply_status(status("read"))
    assert not store.apply_status(status("played"))  # same rank as read
    assert store.apply_status(status("failed", error="131047"))
    message = only_message(store, conv)
    assert message.status == "failed"
    assert message.extra["status_error"] == "131047: blocked"
    assert not store.apply_status(status("read", mid="unknown"))
    assert not store.apply_status(status("read", mid=None))
    assert store.get_message(Channel.MESSENGER, PAGE, CUSTOMER, "unknown") is None


# -- claims -----------------------------------------------------------------------------------------------
def test_a_claim_is_held_until_released_or_expired(store: Store) -> None:
    ttl = timedelta(minutes=10)
    assert store.claim("ack", "c1", T0, ttl, owner="a")
    assert not store.claim("ack", "c1", T0 + timedelta(minutes=5), ttl, owner="b")
    assert store.claim("ack", "c2", T0, ttl, owner="b")  # another scope
    assert store.claim("ack", "c1", T0 + timedelta(minutes=11), ttl, owner="b")  # expired
    store.release_claim("ack", "c1")
    assert not store.claim_exists("ack", "c1")
    assert store.claim("ack", "c1", T0 + timedelta(minutes=12), ttl, owner="c")
    assert store.claim_exists("ack", "c1")


def test_a_reentrant_claim_is_retaken_by_its_owner_only_while_claimed(store: Store) -> None:
    ttl = timedelta(minutes=10)
    assert store.claim("ack", "c1", T0, ttl, owner="run-1", reentrant=True)
    assert store.claim("ack", "c1", T0, ttl, owner="run-1", reentrant=True)
    assert not store.claim("ack", "c1", T0, ttl, owner="run-2", reentrant=True)
    assert not store.claim("ack", "c1", T0, ttl, owner="run-1")  # not reentrant
    assert not store.begin_send("ack", "c1", "run-2")
    assert store.begin_send("ack", "c1", "run-1")
    assert not store.begin_send("ack", "c1", "run-1")  # already sending
    assert not store.claim("ack", "c1", T0, ttl, owner="run-1", reentrant=True)
    store.cancel_send("ack", "c1", "run-2")  # not theirs: nothing changes
    assert not store.claim("ack", "c1", T0, ttl, owner="run-1", reentrant=True)
    store.cancel_send("ack", "c1", "run-1")
    assert store.claim("ack", "c1", T0, ttl, owner="run-1", reentrant=True)
    assert not store.begin_send("ack", "unclaimed", "run-1")


def test_a_claim_records_its_outcome(store: Store) -> None:
    assert store.get_claim("ack", "c1") is None
    assert store.claim("ack", "c1", T0, timedelta(minutes=10), owner="run-1")
    claim = store.get_claim("ack", "c1")
    assert claim is not None
    assert (claim["state"], claim["owner"], claim["claimed_at"]) == ("claimed", "run-1", iso(T0))
    assert claim["ttl"] == int((T0 + timedelta(minutes=10)).timestamp())
    assert store.begin_send("ack", "c1", "run-1")
    store.mark_claim("ack", "c1", outcome="sent", platform_message_id="mid.1")
    claim = store.get_claim("ack", "c1")
    assert claim is not None
    assert (claim["state"], claim["outcome"], claim["platform_message_id"]) == ("done", "sent", "mid.1")
    assert not store.claim(
        "ack", "c1", T0 + timedelta(minutes=1), timedelta(minutes=10), "run-1", reentrant=True
    )
    claim["state"] = "mutated"
    assert store.get_claim("ack", "c1")["state"] == "done"  # type: ignore[index]
    store.mark_claim("ack", "never-claimed", outcome="unknown")
    assert store.claim_exists("ack", "never-claimed")
    # No ttl on a claim that was only marked: it never expires by itself.
    assert not store.claim("ack", "never-claimed", T0 + timedelta(days=400), timedelta(minutes=1))
    assert store.get_claim("ack", "never-claimed") == {
        "pk": keys.claim_pk("ack", "never-claimed"),
        "sk": keys.CLAIM_SK,
        "state": "done",
        "outcome": "unknown",
    }


# -- events -----------------------------------------------------------------------------------------------
def event(conv: Conversation, action: str, at: datetime) -> ConversationEvent:
    return ConversationEvent(
        conversation_id=conv.id, action=action, at=at, actor="agent-1", details={"to": action}
    )


def test_a_change_and_its_event_are_written_together_and_read_oldest_first(store: Store) -> None:
    conv = record(store, text("m1", T0))
    assigned = store.save_with_event(
        replace(conv, assignee="alice"), event(conv, "assign", T0 + timedelta(minutes=1))
    )
    store.save_with_event(replace(assigned, tags=["vip"]), event(assigned, "tag", T0 + timedelta(minutes=2)))
    with pytest.raises(ConflictError):
        store.save_with_event(
            replace(conv, priority="high"), event(conv, "priority", T0 + timedelta(minutes=3))
        )
    events = store.conversation_events(conv)
    assert [(e.action, e.actor, e.details) for e in events] == [
        ("assign", "agent-1", {"to": "assign"}),
        ("tag", "agent-1", {"to": "tag"}),
    ]
    assert events[0].at == T0 + timedelta(minutes=1)
    assert [e.action for e in store.conversation_events(conv, limit=1)] == ["assign"]
    assert current(store, conv).tags == ["vip"]


# -- agent lists --------------------------------------------------------------------------------------------
def inbox(store: Store) -> dict[str, Conversation]:
    """Seven conversations of seven customers, one minute apart, with statuses, tags and assignees."""
    shapes: list[tuple[str, ConversationStatus, list[str], str | None]] = [
        ("c0", "open", ["vip"], "alice"),
        ("c1", "open", [], None),
        ("c2", "pending", ["vip"], None),
        ("c3", "resolved", [], "alice"),
        ("c4", "open", ["billing"], "bob"),
        ("c5", "open", ["vip"], "alice"),
        ("c6", "pending", [], "alice"),
    ]
    out: dict[str, Conversation] = {}
    for i, (contact, state, tags, assignee) in enumerate(shapes):
        channel = Channel.WHATSAPP if i % 3 == 0 else Channel.MESSENGER
        conv = record(store, text(f"m{i}", T0 + timedelta(minutes=i), contact=contact, channel=channel))
        out[contact] = store.save_conversation(replace(conv, status=state, tags=tags, assignee=assignee))
    return out


def every_page(
    store: Store, flt: ConversationFilter, cursor: str | None = None, **kwargs: Any
) -> list[list[str]]:
    """The contact ids of every page, following the cursors to the end (empty pages left out)."""
    pages: list[list[str]] = []
    while True:
        page: Page = store.list_conversations(flt, cursor=cursor, **kwargs)
        pages.append([c.contact_id for c in page.items])
        if page.next is None:
            return [p for p in pages if p]
        cursor = page.next
        assert len(pages) < 50


def flat(pages: list[list[str]]) -> list[str]:
    return [c for page in pages for c in page]


def test_a_list_pages_through_every_conversation_by_last_activity(store: Store) -> None:
    inbox(store)
    assert flat(every_page(store, ConversationFilter(), limit=3)) == [
        "c6",
        "c5",
        "c4",
        "c3",
        "c2",
        "c1",
        "c0",
    ]
    assert flat(every_page(store, ConversationFilter(), limit=2, order="asc")) == [
        "c0",
        "c1",
        "c2",
        "c3",
        "c4",
        "c5",
        "c6",
    ]
    first = store.list_conversations(ConversationFilter(), limit=3)
    assert [c.contact_id for c in first.items] == ["c6", "c5", "c4"]
    assert first.next is not None


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (ConversationFilter(statuses=("open",)), ["c5", "c4", "c1", "c0"]),
        (ConversationFilter(statuses=("open", "pending")), ["c6", "c5", "c4", "c2", "c1", "c0"]),
        (ConversationFilter(tag="vip"), ["c5", "c2", "c0"]),
        (ConversationFilter(channel="whatsapp"), ["c6", "c3", "c0"]),
        (ConversationFilter(assignee="alice"), ["c6", "c5", "c3", "c0"]),
        (ConversationFilter(assignee="alice", statuses=("open",)), ["c5", "c0"]),
        (ConversationFilter(unassigned=True), ["c2", "c1"]),
        (ConversationFilter(tag="vip", statuses=("open",), assignee="alice"), ["c5", "c0"]),
        (ConversationFilter(tag="nothing"), []),
    ],
)
def test_a_list_filters(store: Store, flt: ConversationFilter, expected: list[str]) -> None:
    inbox(store)
    assert flat(every_page(store, flt, limit=2)) == expected
    assert flat(every_page(store, flt, limit=100)) == expected


def test_a_rare_filter_under_a_small_read_budget_still_finds_every_match(store: Store) -> None:
    inbox(store)
    pages = every_page(store, ConversationFilter(tag="billing"), limit=1, read_budget=1)
    assert flat(pages) == ["c4"]


def test_a_conversation_that_changes_hands_moves_to_the_top(store: Store) -> None:
    convs = inbox(store)
    first = store.list_conversations(ConversationFilter(), limit=3)
    # A person's reply (typed in the platform's inbox) to the waiting customer: the turn changes.
    reply = text("late", T0 + timedelta(hours=1), contact="c0", direction=Direction.OUT)
    record(store, replace(reply, channel=convs["c0"].channel))
    rest = flat(every_page(store, ConversationFilter(), limit=3, cursor=first.next))
    assert rest == ["c3", "c2", "c1"]  # neither skipped nor repeated; c0 moved above the first page
    assert [c.contact_id for c in store.list_conversations(ConversationFilter(), limit=1).items] == ["c0"]
    # The customer's answer changes hands again; a follow-up of theirs does not move the sort key.
    record(store, text("again", T0 + timedelta(hours=2), contact="c0", channel=convs["c0"].channel))
    moved = current(store, convs["c0"]).turn_at
    assert moved == T0 + timedelta(hours=2)
    record(store, text("and again", T0 + timedelta(hours=3), contact="c0", channel=convs["c0"].channel))
    assert current(store, convs["c0"]).turn_at == moved
    assert [c.contact_id for c in store.list_conversations(ConversationFilter(), limit=1).items] == ["c0"]


def test_a_customer_follow_up_does_not_move_the_list_sort_key(store: Store) -> None:
    convs = inbox(store)
    before = flat(every_page(store, ConversationFilter(), limit=100))
    record(store, text("late", T0 + timedelta(hours=1), contact="c1", channel=convs["c1"].channel))
    assert current(store, convs["c1"]).last_activity_at == T0 + timedelta(hours=1)
    assert flat(every_page(store, ConversationFilter(), limit=100)) == before


def test_a_cursor_only_continues_its_own_list(store: Store) -> None:
    inbox(store)
    page = store.list_conversations(ConversationFilter(), limit=2)
    assert page.next is not None
    with pytest.raises(CursorError):
        store.list_conversations(ConversationFilter(tag="vip"), limit=2, cursor=page.next)
    with pytest.raises(CursorError):
        store.list_conversations(ConversationFilter(), limit=2, cursor=page.next, order="asc")
    for garbage in ("not-a-cursor", "x" * 2000, "eyJ2IjoxfQ"):
        with pytest.raises(CursorError):
            store.list_conversations(ConversationFilter(), limit=2, cursor=garbage)


def test_the_list_returns_copies(store: Store) -> None:
    inbox(store)
    [top] = store.list_conversations(ConversationFilter(), limit=1).items
    top.tags.append("mutated")
    assert "mutated" not in current(store, top).tags


# -- rules: decisions and replay reads -------------------------------------------------------------------------
def test_a_decision_and_its_conversation_change_are_recorded_together(store: Store) -> None:
    conv = record(store, text("m1", T0))
    message = only_message(store, conv)
    decision = {"rules": ["vip"], "ack": {"status": "pending"}, "score": 0.5}

    def tag(c: Conversation) -> Conversation:
        return replace(c, tags=[*c.tags, "vip"], priority="high")

    stored = store.record_decision(message, tag, decision, T0 + timedelta(seconds=1))
    assert stored.version == conv.version + 1
    assert (stored.tags, stored.priority) == (["vip"], "high")
    assert stored.extra["derived_at"] == iso(T0 + timedelta(seconds=1))
    assert only_message(store, conv).extra[DECISION_ATTRIBUTE] == decision
    store.set_decision_part(message, "ack", {"status": "sent", "platform_message_id": "mid.1"})
    assert only_message(store, conv).extra[DECISION_ATTRIBUTE] == {
        **decision,
        "ack": {"status": "sent", "platform_message_id": "mid.1"},
    }


def test_a_decision_without_a_change_updates_only_the_message(store: Store) -> None:
    conv = record(store, text("m1", T0))
    message = only_message(store, conv)
    unchanged = store.record_decision(message, lambda c: None, {"rules": []}, T0)
    assert unchanged == conv
    assert current(store, conv).version == conv.version
    assert only_message(store, conv).extra[DECISION_ATTRIBUTE] == {"rules": []}


def test_a_decision_is_applied_to_the_conversation_as_it_is_now(store: Store) -> None:
    conv = record(store, text("m1", T0))
    message = only_message(store, conv)
    record(store, text("m2", T0 + timedelta(minutes=1)))  # the conversation moved on meanwhile
    stored = store.record_decision(message, lambda c: replace(c, tags=["seen"]), {"rules": []}, T0)
    assert stored.message_count == 2
    assert stored.tags == ["seen"]


@pytest.mark.parametrize("operation", ["set_decision_part", "record_decision", "set_hidden"])
def test_a_write_to_a_message_that_is_not_there_raises_a_store_error(store: Store, operation: str) -> None:
    conv = record(store, text("m1", T0))
    ghost = replace(only_message(store, conv), platform_message_id="never-stored")
    writes: dict[str, Callable[[], object]] = {
        # the message exists, but has no decision to add a part to
        "set_decision_part": lambda: store.set_decision_part(only_message(store, conv), "ack", {}),
        "record_decision": lambda: store.record_decision(ghost, lambda c: None, {"rules": []}, T0),
        "set_hidden": lambda: store.set_hidden(ghost, True, by="agent-1", at=T0),
    }
    with pytest.raises(StoreError):
        writes[operation]()
    assert store.get_message(Channel.MESSENGER, PAGE, CUSTOMER, "never-stored") is None
    assert DECISION_ATTRIBUTE not in only_message(store, conv).extra


def test_replay_reads_what_was_active_since(store: Store) -> None:
    old = record(store, text("m1", T0 - timedelta(days=2), contact="old"))
    conv = record(store, text("m2", T0, contact="recent"))
    record(store, text("m3", T0 + timedelta(minutes=1), contact="recent"))
    active = list(store.active_conversation_keys(T0 - timedelta(hours=1)))
    pk = keys.contact_pk(Channel.MESSENGER, PAGE, "recent")
    assert active == [(pk, conv.id)]
    assert (keys.contact_pk(Channel.MESSENGER, PAGE, "old"), old.id) not in active
    assert [c.id for c in store.partition_conversations(pk)] == [conv.id]
    assert [m.platform_message_id for m in store.messages_since(pk, conv.id, T0 + timedelta(seconds=30))] == [
        "m3"
    ]
    assert [m.platform_message_id for m in store.messages_since(pk, conv.id, T0)] == ["m2", "m3"]


# -- send log, surveys, reports -----------------------------------------------------------------------------
def attempt(conv_id: str, minute: int) -> SendAttempt:
    return SendAttempt(
        conversation_id=conv_id,
        at=T0 + timedelta(minutes=minute),
        kind="ack",
        author="carehooks",
        status="skipped",
        reason=f"reason {minute}",
        error_class="window" if minute == 2 else None,
        details={"rule": "r"},
    )


def test_the_send_log_keeps_the_newest_attempts_oldest_first(store: Store) -> None:
    for minute in (3, 1, 2):
        store.record_attempt(attempt("conv-1", minute))
    store.record_attempt(attempt("conv-2", 9))
    assert [a.reason for a in store.attempts("conv-1")] == ["reason 1", "reason 2", "reason 3"]
    assert [a.reason for a in store.attempts("conv-1", limit=2)] == ["reason 2", "reason 3"]
    assert store.attempts("conv-1")[1] == attempt("conv-1", 2)
    assert store.attempts("nothing") == []


def test_due_surveys_oldest_first_and_read_back_by_their_keys(store: Store) -> None:
    due: dict[str, Conversation] = {}
    for contact, minutes in (("late", 30), ("early", 10), ("future", 90), ("none", None)):
        conv = record(store, text(f"m-{contact}", T0, contact=contact))
        at = None if minutes is None else T0 + timedelta(minutes=minutes)
        due[contact] = store.save_conversation(replace(conv, status="resolved", survey_due_at=at))
    now = T0 + timedelta(minutes=30)
    found = store.due_survey_keys(now)
    assert [store.conversation_at(pk, sk).contact_id for pk, sk in found] == ["early", "late"]  # type: ignore[union-attr]
    assert store.due_survey_keys(now, limit=1) == found[:1]
    assert store.conversation_at(*found[0]) == current(store, due["early"])
    assert store.due_survey_keys(T0) == []


def test_conversations_created_in_a_half_open_range(store: Store) -> None:
    made = {
        name: record(store, text(f"m-{name}", at, contact=name), now=at)
        for name, at in (
            ("before", T0 - timedelta(seconds=1)),
            ("start", T0),
            ("next-day", T0 + timedelta(days=1, hours=3)),
            ("end", T0 + timedelta(days=2)),
        )
    }
    found = list(store.conversations_created(T0, T0 + timedelta(days=2)))
    assert [c.contact_id for c in found] == ["start", "next-day"]
    assert found[0] == current(store, made["start"])
    assert list(store.conversations_created(T0, T0)) == []


# -- public comment threads ---------------------------------------------------------------------------------
def change(
    kind: str, comment_id: str = THREAD, body: str | None = None, minutes: int = 10
) -> CommentChangeEvent:
    return CommentChangeEvent(
        channel=Channel.MESSENGER,
        account_id=PAGE,
        thread_id=THREAD,
        platform_message_id=comment_id,
        change=kind,  # type: ignore[arg-type]
        at=T0 + timedelta(minutes=minutes),
        text=body,
    )


def test_a_thread_is_one_conversation_whoever_writes_in_it(store: Store) -> None:
    top = record(store, commented(THREAD, "author-1", "Is this in stock?", T0))
    reply = record(store, commented("reply-1", "author-2", "Same question", T0 + timedelta(minutes=1)))
    assert reply.id == top.id
    assert reply.thread_id == THREAD
    assert store.latest_conversation(Channel.MESSENGER, PAGE, "anyone", THREAD) == reply
    found = store.comment(Channel.MESSENGER, PAGE, THREAD, "reply-1")
    assert found is not None
    assert (found.contact_id, found.text) == ("author-2", "Same question")
    assert store.latest_conversation(Channel.MESSENGER, PAGE, "author-1") is None


def test_an_edit_keeps_the_old_text_and_a_repeat_changes_nothing(store: Store) -> None:
    record(store, commented(THREAD, "author-1", "first", T0))
    before = store.apply_change(change("edited", body="second"))
    assert before is not None
    assert before.text == "first"
    assert store.apply_change(change("edited", body="second")) is None
    assert store.apply_change(change("edited", body="third", minutes=20)) is not None
    edited = store.comment(Channel.MESSENGER, PAGE, THREAD, THREAD)
    assert edited is not None
    assert edited.text == "third"
    assert edited.extra["edits"] == [
        {"text": "first", "until": iso(T0 + timedelta(minutes=10))},
        {"text": "second", "until": iso(T0 + timedelta(minutes=20))},
    ]
    assert edited.extra["edited_at"] == iso(T0 + timedelta(minutes=20))


def test_removal_hide_and_unhide_are_attributes_applied_once(store: Store) -> None:
    record(store, commented(THREAD, "author-1", "rude", T0))
    assert store.apply_change(change("hidden")) is not None
    assert store.apply_change(change("hidden")) is None
    hidden = store.comment(Channel.MESSENGER, PAGE, THREAD, THREAD)
    assert hidden is not None
    assert (hidden.extra["hidden"], hidden.extra["hidden_by"]) == (True, "platform-inbox")
    assert store.apply_change(change("unhidden")) is not None
    assert store.apply_change(change("unhidden")) is None
    assert store.apply_change(change("removed")) is not None
    assert store.apply_change(change("removed")) is None
    removed = store.comment(Channel.MESSENGER, PAGE, THREAD, THREAD)
    assert removed is not None
    assert (removed.extra["hidden"], removed.extra["deleted"]) == (False, True)
    assert removed.extra["deleted_at"] == iso(T0 + timedelta(minutes=10))
    assert store.apply_change(change("edited", comment_id="unknown", body="x")) is None
    assert store.apply_change(change("removed", comment_id="unknown")) is None


def test_a_comment_is_hidden_by_a_rule_or_an_agent(store: Store) -> None:
    record(store, commented(THREAD, "author-1", "rude", T0))
    comment = store.comment(Channel.MESSENGER, PAGE, THREAD, THREAD)
    assert comment is not None
    store.set_hidden(comment, True, by="rule:spam", at=T0 + timedelta(minutes=1))
    hidden = store.comment(Channel.MESSENGER, PAGE, THREAD, THREAD)
    assert hidden is not None
    assert (hidden.extra["hidden"], hidden.extra["hidden_by"]) == (True, "rule:spam")
    assert hidden.extra["hidden_at"] == iso(T0 + timedelta(minutes=1))
    store.set_hidden(comment, False, by="agent-1", at=T0 + timedelta(minutes=2))
    shown = store.comment(Channel.MESSENGER, PAGE, THREAD, THREAD)
    assert shown is not None
    assert (shown.extra["hidden"], shown.extra["hidden_by"]) == (False, "agent-1")


def test_a_private_conversation_is_opened_linked_both_ways_then_joined(store: Store) -> None:
    public = record(store, commented(THREAD, "author-1", "Where is my order?", T0))
    private = store.open_private_conversation(public, "author-1", T0 + timedelta(minutes=1))
    assert (private.public, private.contact_id, private.status) == (False, "author-1", "open")
    assert private.extra[LINKED_PUBLIC] == public.id
    assert current(store, public).extra[LINKED_PRIVATE] == private.id
    assert store.latest_conversation(Channel.MESSENGER, PAGE, "author-1") == current(store, private)
    again = store.open_private_conversation(current(store, public), "author-1", T0 + timedelta(minutes=2))
    assert again.id == private.id


def test_a_private_reply_joins_the_customers_open_conversation(store: Store) -> None:
    public = record(store, commented(THREAD, "author-1", "Hello?", T0))
    existing = record(store, text("dm1", T0 - timedelta(minutes=5), contact="author-1"))
    private = store.open_private_conversation(public, "author-1", T0 + timedelta(minutes=1))
    assert private.id == existing.id
    assert private.extra[LINKED_PUBLIC] == public.id
    assert private.version == existing.version + 1


# -- SLA monitor ----------------------------------------------------------------------------------------------
def test_due_sla_conversations_per_shard(store: Store) -> None:
    convs: dict[str, Conversation] = {}
    for i, minutes in enumerate((5, 15, 60, None, 10, 1, 2, 3)):
        conv = record(store, text(f"m{i}", T0, contact=f"c{i}"))
        due = None if minutes is None else T0 + timedelta(minutes=minutes)
        convs[f"c{i}"] = store.save_conversation(replace(conv, sla_due_at=due))
    now = T0 + timedelta(minutes=15)
    stats = ReadStats()
    found: list[dict[str, Any]] = []
    for shard in range(keys.SLA_DUE_SHARDS):
        in_shard = store.due_conversation_keys(shard, now, stats)
        found.extend(in_shard)
        assert {c.contact_id for c in store.get_conversations(in_shard, ReadStats())} == {
            name
            for name, c in convs.items()
            if keys.sla_shard(c.id) == shard and c.sla_due_at and c.sla_due_at <= now
        }
    assert stats.queries >= keys.SLA_DUE_SHARDS
    assert stats.index_items == 6
    read = ReadStats()
    fetched = store.get_conversations([*found, found[0]], read)  # a repeated key is read once
    assert sorted(c.contact_id for c in fetched) == ["c0", "c1", "c4", "c5", "c6", "c7"]
    assert read.items == 6
    assert read.batch_gets >= 1
    assert {c.id: c for c in fetched}[convs["c1"].id] == current(store, convs["c1"])


def test_an_alert_is_sent_once_per_claim(store: Store) -> None:
    scope = keys.sla_alert_scope("conv-1", "first_response", T0, "breach")
    stats = ReadStats()
    assert store.claim(keys.SLA_CLAIM_KIND, scope, T0, timedelta(minutes=5), owner="run-1")
    assert not store.alert_was_sent(scope, stats)
    store.mark_alert_sent(scope, "ses-1", T0, timedelta(days=30))
    assert store.alert_was_sent(scope, stats)
    assert stats.other_reads == 2
    claim = store.get_claim(keys.SLA_CLAIM_KIND, scope)
    assert claim is not None
    assert (claim["message_id"], claim["sent_at"]) == ("ses-1", iso(T0))
    assert claim["ttl"] == int((T0 + timedelta(days=30)).timestamp())
    assert not store.claim(keys.SLA_CLAIM_KIND, scope, T0 + timedelta(days=1), timedelta(minutes=5), "run-2")
    assert not store.alert_was_sent("other", stats)


def test_the_policy_marker_and_status_pages_walk_every_conversation(store: Store) -> None:
    stats = ReadStats()
    assert store.get_policy_marker(stats) is None
    made = {record(store, text(f"m{i}", T0 + timedelta(minutes=i), contact=f"c{i}")).id for i in range(5)}
    seen: list[str] = []
    cursor: dict[str, Any] | None = None
    while True:
        page, cursor = store.status_page("open", cursor, 2, stats)
        seen.extend(c.id for c in store.get_conversations(page, stats))
        if cursor is None:
            break
        store.put_policy_marker(PolicyMarker("fp-1", "open", cursor), T0)
        marker = store.get_policy_marker(stats)
        assert marker is not None
        assert marker == PolicyMarker("fp-1", "open", cursor)  # the cursor survives the marker
        cursor = marker.cursor
    assert sorted(seen) == sorted(made)
    assert len(seen) == 5
    # One Query per shard of the status (and its v1 partition), and one more per page that ends mid-shard.
    assert len(keys.status_partitions("open")) <= stats.queries <= len(keys.status_partitions("open")) + 3
    full, more = store.status_page("pending", None, 2, ReadStats())
    assert (full, more) == ([], None)
    store.put_policy_marker(PolicyMarker("fp-2"), T0)
    assert store.get_policy_marker(ReadStats()) == PolicyMarker("fp-2", None, None)
