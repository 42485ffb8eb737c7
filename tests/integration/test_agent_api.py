"""The agent API through AgentApiFunction's handler, on the template's table under moto."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest

from carehooks import clock
from carehooks.domain.models import Channel, Conversation
from carehooks.outbound.models import SendResult
from carehooks.store import Store
from carehooks.wiring.store import make_store
from tests.integration.agent_api_client import (
    ADA,
    BOB,
    PAGE,
    T0,
    FakeDeliver,
    api_event,
    call,
    inbound,
    install,
)
from tests.integration.conftest import TABLE, Aws

CONTRACT_FIELDS = {
    "id",
    "channel",
    "account_id",
    "contact_id",
    "status",
    "tags",
    "priority",
    "assignee",
    "created_at",
    "first_response_at",
    "csat",
}
NOW = T0 + timedelta(hours=1)


@pytest.fixture
def store(aws: Aws) -> Store:
    return make_store(TABLE)


@pytest.fixture
def deliver() -> FakeDeliver:
    return FakeDeliver()


@pytest.fixture
def move(store: Store, deliver: FakeDeliver) -> Iterator[Callable[[datetime], None]]:
    """The API on the moto table with the fake sender, the clock frozen at NOW (the fixture moves it)."""
    with clock.frozen(NOW) as move_clock:
        yield from _installed(store, deliver, move_clock)


def _installed(
    store: Store, deliver: FakeDeliver, move_clock: Callable[[datetime], None]
) -> Iterator[Callable[[datetime], None]]:
    gen = install(store, deliver, clock.now)
    next(gen)
    try:
        yield move_clock
    finally:
        gen.close()


def get(path: str, **query: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    answer = call(api_event("GET", path, query=query or None))
    return answer.status, answer.body


def post(path: str, body: object = None, claims: dict[str, str] = ADA) -> tuple[int, dict]:  # type: ignore[type-arg]
    answer = call(api_event("POST", path, body, claims=claims))
    return answer.status, answer.body


def ids(body: dict) -> list[str]:  # type: ignore[type-arg]
    return [item["id"] for item in body["items"]]


def events_of(store: Store, conv_id: str) -> list[dict]:  # type: ignore[type-arg]
    status, body = get(f"/api/conversations/{conv_id}")
    assert status == 200
    return body["events"]  # type: ignore[no-any-return]


# -- listing -------------------------------------------------------------------------------------------
def test_open_conversations_are_listed_with_the_contract_fields_most_recent_activity_first(
    store: Store, move: object
) -> None:
    # Given three customers who wrote at different times
    first = inbound(store, "c1", "hello", T0)
    second = inbound(store, "c2", "where is my order?", T0 + timedelta(minutes=5))
    third = inbound(store, "c3", "refund please", T0 + timedelta(minutes=2))
    # When an agent lists open conversations
    status, body = get("/api/conversations", status="open")
    # Then all three come, most recent activity first, each with the contract's fields
    assert status == 200
    assert ids(body) == [second.id, third.id, first.id]
    assert body["next"] is None
    item = body["items"][0]
    assert item.keys() >= CONTRACT_FIELDS
    assert item["channel"] == "messenger"
    assert item["account_id"] == PAGE
    assert item["contact_id"] == "c2"
    assert item["status"] == "open"
    assert item["first_response_at"] is None
    assert item["csat"] is None
    assert item["created_at"].endswith("Z")


def test_pages_follow_the_cursor_without_gaps_or_repeats(store: Store, move: object) -> None:
    convs = [inbound(store, f"p{i}", "hi", T0 + timedelta(minutes=i)) for i in range(7)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {"status": "open", "limit": "3"} | ({"cursor": cursor} if cursor else {})
        status, body = get("/api/conversations", **query)
        assert status == 200
        seen += ids(body)
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == [c.id for c in reversed(convs)]
    assert pages == 3


def test_without_a_status_open_pending_and_resolved_are_merged_by_activity(
    store: Store, move: object
) -> None:
    older = inbound(store, "m1", "hi", T0)
    resolved = inbound(store, "m2", "hi", T0 + timedelta(minutes=1))
    newest = inbound(store, "m3", "hi", T0 + timedelta(minutes=2))
    assert post(f"/api/conversations/{resolved.id}/resolve")[0] == 200
    seen: list[str] = []
    cursor: str | None = None
    while True:
        status, body = get("/api/conversations", limit="1", **({"cursor": cursor} if cursor else {}))
        assert status == 200
        seen += ids(body)
        cursor = body["next"]
        if cursor is None:
            break
    # Resolving is not activity: the last message is, so the order holds across statuses.
    assert seen == [newest.id, resolved.id, older.id]
    assert ids(get("/api/conversations", status="resolved")[1]) == [resolved.id]


def test_ascending_order_lists_the_longest_quiet_first(store: Store, move: object) -> None:
    a = inbound(store, "o1", "hi", T0)
    b = inbound(store, "o2", "hi", T0 + timedelta(minutes=1))
    assert ids(get("/api/conversations", status="open", order="asc")[1]) == [a.id, b.id]


def test_filters_by_channel_tag_priority_and_assignee(store: Store, move: object) -> None:
    on_messenger = inbound(store, "f1", "hi", T0)
    on_whatsapp = inbound(
        store, "f2", "hi", T0 + timedelta(minutes=1), channel=Channel.WHATSAPP, account="PN1"
    )
    tagged = inbound(store, "f3", "hi", T0 + timedelta(minutes=2))
    assert post(f"/api/conversations/{tagged.id}/tags", {"add": ["vip"]})[0] == 200
    assert post(f"/api/conversations/{on_whatsapp.id}/priority", {"priority": "urgent"})[0] == 200
    assert post(f"/api/conversations/{on_messenger.id}/assign", {"assignee": "me"})[0] == 200
    assert post(f"/api/conversations/{tagged.id}/assign", {"assignee": BOB["sub"]})[0] == 200

    assert ids(get("/api/conversations", channel="whatsapp")[1]) == [on_whatsapp.id]
    assert ids(get("/api/conversations", tag="vip")[1]) == [tagged.id]
    assert ids(get("/api/conversations", priority="urgent")[1]) == [on_whatsapp.id]
    assert ids(get("/api/conversations", assignee="me")[1]) == [on_messenger.id]
    assert ids(get("/api/conversations", assignee=BOB["sub"])[1]) == [tagged.id]
    assert ids(get("/api/conversations", assignee="none")[1]) == [on_whatsapp.id]
    assert ids(get("/api/conversations", assignee="me", tag="vip")[1]) == []
    assert ids(get("/api/conversations", channel="messenger", status="open")[1]) == [
        tagged.id,
        on_messenger.id,
    ]


def test_filtering_by_sla_state(store: Store, move: object) -> None:
    quiet = inbound(store, "s1", "hi", T0)
    late = inbound(store, "s2", "hi", T0 + timedelta(minutes=1))
    # The SLA deriver and monitor keep their clocks in extra["sla"]; a breach went out for `late`.
    conv = store.get_conversation(late.id)
    assert conv is not None
    conv.extra["sla"] = {"wait_since": "2026-03-02T09:01:00.000Z", "wait_done": ["warning", "breach"]}
    store.save_conversation(conv)
    assert ids(get("/api/conversations", sla="breached")[1]) == [late.id]
    assert quiet.id not in ids(get("/api/conversations", sla="breached")[1])
    _status, body = get(f"/api/conversations/{late.id}")
    assert body["sla_state"] == "breached"
    assert body["sla"]["wait_done"] == ["warning", "breach"]


def test_a_cursor_of_another_list_or_garbage_is_a_400(store: Store, move: object) -> None:
    for i in range(3):
        inbound(store, f"g{i}", "hi", T0 + timedelta(minutes=i))
    _, body = get("/api/conversations", status="open", limit="1")
    cursor = body["next"]
    assert cursor
    status, other = get("/api/conversations", status="pending", limit="1", cursor=cursor)
    assert status == 400
    assert other["error"]["code"] == "invalid_cursor"
    assert other["error"]["fields"][0]["field"] == "query.cursor"
    for garbage in ("not-a-cursor", "eyJ2IjoxfQ", "%%%", "A" * 1000):
        status, answer = get("/api/conversations", cursor=garbage)
        assert status == 400, garbage
        assert answer["error"]["code"] == "invalid_cursor"


def test_invalid_list_parameters_are_422_naming_the_field(store: Store, move: object) -> None:
    status, body = get("/api/conversations", status="closed", limit="1000")
    assert status == 422
    fields = {f["field"] for f in body["error"]["fields"]}
    assert fields == {"query.status", "query.limit"}


def test_an_empty_table_lists_nothing(store: Store, move: object) -> None:
    assert get("/api/conversations") == (200, {"items": [], "next": None})


def test_lists_read_indexes_never_scan(aws: Aws) -> None:
    log: list[dict] = []  # type: ignore[type-arg]
    measured = make_store(TABLE, capacity_log=log)
    with clock.frozen(NOW):
        for i in range(4):
            inbound(measured, f"n{i}", "hi", T0 + timedelta(minutes=i))
        gen = install(measured, FakeDeliver(), clock.now)
        next(gen)
        try:
            log.clear()
            assert get("/api/conversations", tag="none-has-it")[0] == 200
            assert get("/api/conversations", assignee="me", limit="2")[0] == 200
            assert get("/api/conversations")[0] == 200
        finally:
            gen.close()
    operations = {entry["operation"] for entry in log}
    assert "scan" not in operations
    assert operations <= {"query", "batch_get_item"}


# -- one conversation ------------------------------------------------------------------------------------
def test_one_conversation_has_its_messages_in_platform_time_order(store: Store, move: object) -> None:
    # Given messages that arrived out of order (the platform's timestamps say otherwise)
    conv = inbound(store, "t1", "second", T0 + timedelta(seconds=30), mid="m_2")
    inbound(store, "t1", "first", T0, mid="m_1")
    inbound(store, "t1", "third", T0 + timedelta(seconds=60), mid="m_3")
    status, body = get(f"/api/conversations/{conv.id}")
    assert status == 200
    assert [m["text"] for m in body["messages"]] == ["first", "second", "third"]
    message = body["messages"][0]
    assert message == message | {
        "id": "m_1",
        "direction": "in",
        "platform_message_id": "m_1",
        "sent_at": "2026-03-02T09:00:00.000Z",
    }
    assert body["events"] == []
    assert body["survey"] is None
    assert isinstance(body["version"], int)


def test_decisions_stored_on_messages_are_shown(store: Store, move: object) -> None:
    conv = inbound(store, "d1", "where is my order", T0, mid="m_d1")
    message = store.get_message(Channel.MESSENGER, PAGE, "d1", "m_d1")
    assert message is not None
    decision = {"matched": [{"rule": "orders", "config_version": "7"}], "actions": ["add_tags:orders"]}
    store.client.update_item(
        TableName=TABLE,
        Key=store.key(f"CT#messenger#{PAGE}#d1", "MSG#m_d1"),
        UpdateExpression="SET #r = :d",
        ExpressionAttributeNames={"#r": "rules"},
        ExpressionAttributeValues={":d": store.marshal({"d": decision})["d"]},
    )
    _, body = get(f"/api/conversations/{conv.id}")
    assert body["messages"][0]["decisions"] == decision


def test_an_unknown_or_malformed_id_is_404(store: Store, move: object) -> None:
    for conv_id in ("01JZZZZZZZZZZZZZZZZZZZZZZZ", "nope", "x" * 3000, "%00"):
        status, body = get(f"/api/conversations/{conv_id}")
        assert status == 404, conv_id
        assert body["error"]["code"] == "not_found"


def test_an_unknown_route_is_404_in_the_error_shape(store: Store, move: object) -> None:
    status, body = get("/api/nothing-here")
    assert status == 404
    assert body == {"error": {"code": "not_found", "message": "no such route"}}


# -- replying -----------------------------------------------------------------------------------------
def test_a_reply_is_sent_as_the_agent_and_records_the_first_response(
    store: Store, deliver: FakeDeliver, move: object
) -> None:
    conv = inbound(store, "r1", "where is my order?", T0)
    status, body = post(f"/api/conversations/{conv.id}/reply", {"text": "It left today."})
    assert status == 201
    # The channel got an agent reply written by Ada, tagged so its echo is recognised
    ((sent_conv, message),) = deliver.calls
    assert sent_conv.id == conv.id
    assert message.kind == "agent_reply"
    assert message.author == ADA["sub"]
    assert message.text == "It left today."
    assert message.origin_tag is not None
    assert message.origin_tag.startswith(f"agent:{conv.id}:")
    # and the answer shows the stored message and the first response
    assert body["message"]["direction"] == "out"
    assert body["message"]["platform_message_id"] == "m_out_1"
    assert body["message"]["author"] == ADA["sub"]
    assert body["conversation"]["first_response_at"] == "2026-03-02T10:00:00.000Z"
    assert body["conversation"]["first_responder"] == ADA["sub"]
    assert body["conversation"]["first_response_seconds"] == 3600
    _, detail = get(f"/api/conversations/{conv.id}")
    assert [m["direction"] for m in detail["messages"]] == ["in", "out"]
    assert detail["last_responder"] == ADA["sub"]


@pytest.mark.parametrize(
    ("result", "status", "code"),
    [
        (
            SendResult(
                status="skipped", reason="outside the 24-hour messaging window", error_class="outside_window"
            ),
            409,
            "send_skipped",
        ),
        (
            SendResult(
                status="failed", reason="the customer blocked the page", error_class="recipient_unreachable"
            ),
            409,
            "send_refused",
        ),
        (
            SendResult(
                status="failed", reason="Meta is rate limiting", error_class="rate_limited", retryable=True
            ),
            503,
            "unavailable",
        ),
    ],
)
def test_a_send_the_channel_does_not_take_answers_with_its_reason_and_stores_nothing(
    store: Store, deliver: FakeDeliver, move: object, result: SendResult, status: int, code: str
) -> None:
    conv = inbound(store, "r2", "hello?", T0)
    deliver.result = result
    got, body = post(f"/api/conversations/{conv.id}/reply", {"text": "hi"})
    assert got == status
    assert body["error"]["code"] == code
    assert body["error"]["message"] == result.reason
    stored = store.get_conversation(conv.id)
    assert stored is not None
    assert stored.first_response_at is None
    assert stored.message_count == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": ""}, "body.text"),
        ({"text": "   "}, "body.text"),
        ({}, "body.text"),
        ({"text": "hi", "txet": "typo"}, "body.txet"),
        ({"text": 42}, "body.text"),
        ({"text": "x" * 4097}, "body.text"),
        ([], "body"),
    ],
)
def test_an_invalid_reply_is_422_with_the_field_and_nothing_is_sent(
    store: Store, deliver: FakeDeliver, move: object, body: object, field: str
) -> None:
    conv = inbound(store, "r3", "hello?", T0)
    status, answer = post(f"/api/conversations/{conv.id}/reply", body)
    assert status == 422
    assert answer["error"]["code"] == "invalid_input"
    assert field in {f["field"] for f in answer["error"]["fields"]}
    assert deliver.calls == []


def test_a_lone_surrogate_or_broken_json_is_a_client_error_not_a_500(
    store: Store, deliver: FakeDeliver, move: object
) -> None:
    conv = inbound(store, "r4", "hello?", T0)
    path = f"/api/conversations/{conv.id}/reply"
    surrogate = call(api_event("POST", path, raw='{"text": "\\ud800"}'))
    assert surrogate.status == 422
    broken = call(api_event("POST", path, raw='{"text": '))
    assert broken.status == 400
    assert broken.error["code"] == "invalid_json"
    tag = call(api_event("POST", f"/api/conversations/{conv.id}/tags", raw='{"add": ["\\udfff"]}'))
    assert tag.status == 422
    assert deliver.calls == []


def test_an_unexpected_failure_is_a_500_that_leaks_nothing(
    store: Store, deliver: FakeDeliver, move: object
) -> None:
    conv = inbound(store, "r5", "hello?", T0)
    deliver.error = RuntimeError(f"boom in table {TABLE} at /opt/python/carehooks/x.py")
    status, body = post(f"/api/conversations/{conv.id}/reply", {"text": "hi"})
    assert status == 500
    assert body["error"]["code"] == "internal"
    assert TABLE not in body["error"]["message"]
    assert "boom" not in body["error"]["message"]
    assert "req-1" in body["error"]["message"]


# -- changes and their events --------------------------------------------------------------------------
def test_assign_unassign_tags_priority_resolve_reopen_are_each_recorded_with_agent_and_time(
    store: Store, move: Callable[[datetime], None]
) -> None:
    conv = inbound(store, "e1", "hi", T0)
    path = f"/api/conversations/{conv.id}"
    status, body = post(f"{path}/assign", {"assignee": "me"})
    assert (status, body["assignee"]) == (200, ADA["sub"])
    move(NOW + timedelta(minutes=1))
    status, body = post(f"{path}/tags", {"add": ["orders", "vip"], "remove": ["spam"]}, claims=BOB)
    assert (status, body["tags"]) == (200, ["orders", "vip"])
    move(NOW + timedelta(minutes=2))
    assert post(f"{path}/priority", {"priority": "high"})[1]["priority"] == "high"
    assert post(f"{path}/unassign")[1]["assignee"] is None
    status, body = post(f"{path}/resolve")
    assert (status, body["status"]) == (200, "resolved")
    assert body["resolved_at"] == "2026-03-02T10:02:00.000Z"
    status, body = post(f"{path}/reopen", {})
    assert (status, body["status"], body["resolved_at"]) == (200, "open", None)

    events = events_of(store, conv.id)
    assert [e["action"] for e in events] == [
        "assigned",
        "tagged",
        "priority_set",
        "unassigned",
        "resolved",
        "reopened",
    ]
    assert events[0] == {
        "action": "assigned",
        "at": "2026-03-02T10:00:00.000Z",
        "actor": ADA["sub"],
        "actor_email": ADA["email"],
        "actor_name": ADA["name"],
        "details": {"from": None, "to": ADA["sub"]},
    }
    assert events[1]["actor"] == BOB["sub"]
    assert events[1]["at"] == "2026-03-02T10:01:00.000Z"
    assert events[1]["details"] == {"added": ["orders", "vip"], "removed": []}
    assert events[2]["details"] == {"from": "normal", "to": "high"}
    assert events[4]["details"] == {"from": "open"}


def test_a_change_that_changes_nothing_writes_no_event(store: Store, move: object) -> None:
    conv = inbound(store, "e2", "hi", T0)
    path = f"/api/conversations/{conv.id}"
    version = post(f"{path}/tags", {"add": ["vip"]})[1]["version"]
    status, body = post(f"{path}/tags", {"add": ["vip"]})
    assert (status, body["version"]) == (200, version)
    assert post(f"{path}/unassign")[0] == 200
    assert post(f"{path}/priority", {"priority": "normal"})[0] == 200
    assert [e["action"] for e in events_of(store, conv.id)] == ["tagged"]


def test_resolving_a_resolved_conversation_is_409_and_reopening_an_open_one_too(
    store: Store, move: object
) -> None:
    conv = inbound(store, "e3", "hi", T0)
    path = f"/api/conversations/{conv.id}"
    status, body = post(f"{path}/reopen")
    assert (status, body["error"]["code"]) == (409, "conflict")
    assert post(f"{path}/resolve")[0] == 200
    status, body = post(f"{path}/resolve")
    assert status == 409
    assert body["error"] == {"code": "conflict", "message": "the conversation is already resolved"}
    assert [e["action"] for e in events_of(store, conv.id)] == ["resolved"]


def test_a_stale_version_is_409_and_changes_nothing(store: Store, move: object) -> None:
    conv = inbound(store, "v1", "hi", T0)
    path = f"/api/conversations/{conv.id}"
    read = get(path)[1]["version"]
    # Another agent changes it first
    assert post(f"{path}/tags", {"add": ["vip"], "version": read}, claims=BOB)[0] == 200
    status, body = post(f"{path}/resolve", {"version": read})
    assert status == 409
    assert body["error"]["code"] == "version_conflict"
    assert get(path)[1]["status"] == "open"
    # With the current version it goes through
    current = get(path)[1]["version"]
    assert post(f"{path}/resolve", {"version": current})[0] == 200


def test_a_customer_message_landing_mid_change_is_retried_not_lost(
    store: Store, deliver: FakeDeliver
) -> None:
    conv = inbound(store, "v2", "hi", T0)
    landed: list[Conversation] = []

    def now_with_a_message_in_between() -> datetime:
        # The use case asks the clock after reading the conversation: a customer message lands then.
        if not landed:
            landed.append(inbound(store, "v2", "are you there?", T0 + timedelta(minutes=1)))
        return NOW

    gen = install(store, deliver, now_with_a_message_in_between)
    next(gen)
    try:
        status, body = post(f"/api/conversations/{conv.id}/tags", {"add": ["vip"]})
    finally:
        gen.close()
    assert status == 200
    assert body["tags"] == ["vip"]
    assert body["message_count"] == 2


def test_tags_requests_are_validated(store: Store, move: object) -> None:
    conv = inbound(store, "v3", "hi", T0)
    path = f"/api/conversations/{conv.id}/tags"
    assert post(path, {})[0] == 422
    assert post(path, {"add": ["a"], "remove": ["a"]})[0] == 422
    assert post(path, {"add": ["x" * 65]})[0] == 422
    assert post(path, {"add": ["bad\nline"]})[0] == 422
    status, body = post(path, {"add": [f"t{i}" for i in range(20)]})
    assert status == 200
    for batch in range(1, 3):
        status, body = post(path, {"add": [f"t{batch}-{i}" for i in range(20)]})
    assert status == 422
    assert body["error"]["fields"] == [{"field": "body.add", "reason": "would make 60 tags"}]


def test_a_change_to_an_unknown_conversation_is_404(store: Store, move: object) -> None:
    status, body = post("/api/conversations/01JZZZZZZZZZZZZZZZZZZZZZZZ/resolve")
    assert (status, body["error"]["code"]) == (404, "not_found")


# -- history ------------------------------------------------------------------------------------------
def test_history_lists_the_customers_other_conversations(
    store: Store, move: Callable[[datetime], None]
) -> None:
    first = inbound(store, "h1", "order 1?", T0 - timedelta(days=10))
    assert post(f"/api/conversations/{first.id}/resolve")[0] == 200
    # Long after the reopen window a new message starts a new conversation
    second = inbound(store, "h1", "order 2?", NOW + timedelta(days=3))
    assert second.id != first.id
    status, body = get(f"/api/conversations/{second.id}/history")
    assert status == 200
    assert ids(body) == [first.id]
    status, body = get(f"/api/contacts/messenger/{PAGE}/h1/conversations")
    assert (status, ids(body)) == (200, [second.id, first.id])
    assert get(f"/api/contacts/carrier-pigeon/{PAGE}/h1/conversations")[0] == 422
    # An id is one component of a key: a "#" would address another customer's partition
    assert get(f"/api/contacts/messenger/{PAGE}#h1/h1/conversations")[0] in (404, 422)


# -- rules dry run ---------------------------------------------------------------------------------------
def test_the_rules_dry_run_validates_its_input(store: Store, move: object) -> None:
    status, body = post("/api/rules/test", {"channel": "fax", "text": "hi"})
    assert status == 422
    assert body["error"]["fields"][0]["field"] == "body.channel"
