"""Which committed change makes which domain event (carehooks.events.derive): pure, from stream records."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carehooks.clock import iso, to_epoch_ms
from carehooks.domain.models import Channel, Conversation, Direction, Message
from carehooks.events import DetailType, events_of
from carehooks.store import keys
from carehooks.store.items import conversation_item, message_item
from tests.events_support import SCHEMAS, assert_valid, schema_errors, stream_record

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def conversation(**changes: Any) -> Conversation:
    base = Conversation(
        id="01KBQ0000000000000000000AA",
        channel=Channel.MESSENGER,
        account_id="112233445566778",
        contact_id="7318845612093471",
        created_at=T0,
        version=1,
    )
    return replace(base, **changes)


def message(direction: Direction = Direction.IN, **changes: Any) -> Message:
    base = Message(
        conversation_id="01KBQ0000000000000000000AA",
        channel=Channel.MESSENGER,
        account_id="112233445566778",
        contact_id="7318845612093471",
        platform_message_id="m_AbCdEf0123456789text",
        direction=direction,
        sent_at=T0,
        text="where is my order? #1234",
        stored_at=T0 + timedelta(seconds=1),
        seq=1,
    )
    return replace(base, **changes)


def change(before: Conversation, after: Conversation) -> list[Any]:
    return events_of(stream_record("MODIFY", conversation_item(after), conversation_item(before)))


def only(events: list[Any]) -> Any:
    assert len(events) == 1, events
    assert_valid(events[0])
    return events[0]


# -- conversations ---------------------------------------------------------------------------------------
def test_a_new_conversation_item_is_conversation_created_with_the_ids_it_concerns() -> None:
    event = only(events_of(stream_record("INSERT", conversation_item(conversation()))))
    assert event.detail_type is DetailType.CONVERSATION_CREATED
    assert event.detail["conversation_id"] == "01KBQ0000000000000000000AA"
    assert event.detail["channel"] == "messenger"
    assert event.detail["account_id"] == "112233445566778"
    assert event.detail["contact_id"] == "7318845612093471"
    assert event.detail["thread_id"] is None
    assert event.detail["status"] == "open"
    assert event.detail["occurred_at"] == iso(T0)


def test_a_conversation_created_already_assigned_is_also_assigned() -> None:
    events = events_of(stream_record("INSERT", conversation_item(conversation(assignee="agent-1"))))
    assert [e.detail_type for e in events] == [
        DetailType.CONVERSATION_CREATED,
        DetailType.CONVERSATION_ASSIGNED,
    ]
    for event in events:
        assert_valid(event)


def test_an_assignee_change_is_conversation_assigned_with_the_previous_assignee() -> None:
    before = conversation(assignee="agent-1", version=3)
    after = conversation(assignee="agent-2", version=4)
    event = only(change(before, after))
    assert event.detail_type is DetailType.CONVERSATION_ASSIGNED
    assert event.detail["assignee"] == "agent-2"
    assert event.detail["previous_assignee"] == "agent-1"
    assert event.detail["occurred_at"] == "2025-12-05T12:00:00.000Z"  # the commit time of the record


def test_a_team_assignment_is_conversation_assigned_and_unassigning_too() -> None:
    before = conversation(version=2)
    teamed = conversation(version=3, extra={"team": "billing"})
    assert only(change(before, teamed)).detail["team"] == "billing"
    unassigned = only(change(conversation(assignee="agent-1", version=5), conversation(version=6)))
    assert unassigned.detail["assignee"] is None
    assert unassigned.detail["previous_assignee"] == "agent-1"


def test_resolving_is_conversation_resolved_at_its_resolution_time() -> None:
    resolved_at = T0 + timedelta(hours=2)
    before = conversation(assignee="agent-1", version=4)
    after = conversation(assignee="agent-1", version=5, status="resolved", resolved_at=resolved_at)
    event = only(change(before, after))
    assert event.detail_type is DetailType.CONVERSATION_RESOLVED
    assert event.detail["occurred_at"] == iso(resolved_at)
    assert event.detail["assignee"] == "agent-1"


def test_leaving_resolved_is_conversation_reopened() -> None:
    before = conversation(version=5, status="resolved", resolved_at=T0)
    reopened_at = iso(T0 + timedelta(hours=3))
    after = conversation(version=6, status="open", extra={"reopened_at": reopened_at})
    event = only(change(before, after))
    assert event.detail_type is DetailType.CONVERSATION_REOPENED
    assert event.detail["status"] == "open"
    assert event.detail["occurred_at"] == reopened_at


def test_a_follow_up_that_changes_nothing_an_integration_cares_about_publishes_nothing() -> None:
    before = conversation(version=2, message_count=1, preview="hi")
    after = conversation(version=3, message_count=2, preview="hello?", tags=["billing"], priority="high")
    assert change(before, after) == []


def test_a_rating_is_csat_received_once_and_its_later_comment_is_not_another() -> None:
    answered = {"score": 2, "comment": "", "agent": "agent-1", "answered_at": iso(T0), "via": "message"}
    before = conversation(version=7, status="resolved", resolved_at=T0)
    rated = conversation(version=8, status="resolved", resolved_at=T0, csat=answered)
    event = only(change(before, rated))
    assert event.detail_type is DetailType.CSAT_RECEIVED
    assert event.detail["score"] == 2
    assert event.detail["agent"] == "agent-1"
    commented = conversation(
        version=9, status="resolved", resolved_at=T0, csat={**answered, "comment": "slow"}
    )
    assert change(rated, commented) == []


# -- messages --------------------------------------------------------------------------------------------
def test_a_stored_customer_message_is_message_received_without_its_text() -> None:
    event = only(events_of(stream_record("INSERT", message_item(message()))))
    assert event.detail_type is DetailType.MESSAGE_RECEIVED
    assert event.detail["message_id"] == "m_AbCdEf0123456789text"
    assert event.detail["conversation_id"] == "01KBQ0000000000000000000AA"
    assert event.detail["occurred_at"] == iso(T0)
    assert "where is my order" not in str(event.detail)


def test_an_agent_reply_is_message_sent_by_a_person() -> None:
    reply = message(Direction.OUT, platform_message_id="m_reply1", author="agent-1", kind="text")
    event = only(events_of(stream_record("INSERT", message_item(reply))))
    assert event.detail_type is DetailType.MESSAGE_SENT
    assert event.detail["author"] == "agent-1"
    assert event.detail["automated"] is False


def test_an_acknowledgement_is_message_sent_marked_automated() -> None:
    ack = message(Direction.OUT, platform_message_id="m_ack1", author="carehooks", kind="ack")
    event = only(events_of(stream_record("INSERT", message_item(ack))))
    assert event.detail["automated"] is True
    assert event.detail["kind"] == "ack"


def test_a_message_status_or_rules_decision_on_a_stored_message_publishes_nothing() -> None:
    before = message_item(message(Direction.OUT, platform_message_id="m_reply1", author="agent-1"))
    after = message_item(
        message(Direction.OUT, platform_message_id="m_reply1", author="agent-1", status="read")
    )
    assert events_of(stream_record("MODIFY", after, before)) == []


# -- SLA alerts ------------------------------------------------------------------------------------------
def sla_claim(rung: str, **extra: Any) -> dict[str, Any]:
    scope = keys.sla_alert_scope("01KBQ0000000000000000000AA", "first_response", T0, rung)
    return {
        "pk": keys.claim_pk(keys.SLA_CLAIM_KIND, scope),
        "sk": keys.CLAIM_SK,
        "type": "claim",
        "state": "claimed",
        **extra,
    }


@pytest.mark.parametrize(
    ("rung", "detail_type"),
    [
        ("warning", DetailType.SLA_WARNING),
        ("breach", DetailType.SLA_BREACH),
        ("escalation-2", DetailType.SLA_ESCALATION),
    ],
)
def test_an_sla_alert_marked_sent_is_its_sla_event(rung: str, detail_type: DetailType) -> None:
    sent_at = iso(T0 + timedelta(minutes=30))
    claimed, sent = sla_claim(rung), sla_claim(rung, sent_at=sent_at, message_id="ses-1")
    assert events_of(stream_record("INSERT", claimed)) == []
    event = only(events_of(stream_record("MODIFY", sent, claimed)))
    assert event.detail_type is detail_type
    assert event.detail["rung"] == rung
    assert event.detail["metric"] == "first_response"
    assert event.detail["clock_started_at"] == iso(T0)
    assert event.detail["occurred_at"] == sent_at
    # Marking it again (a retried mark) is the same alert: nothing more.
    assert events_of(stream_record("MODIFY", sent, sent)) == []


def test_claims_of_other_kinds_publish_nothing() -> None:
    ack = {"pk": keys.claim_pk("ack", "01KBQ0000000000000000000AA"), "sk": keys.CLAIM_SK, "sent_at": iso(T0)}
    assert events_of(stream_record("INSERT", ack)) == []


# -- erasure ---------------------------------------------------------------------------------------------
def tombstone(event_id: str = "01KBQ1111111111111111111ER") -> dict[str, Any]:
    return {
        "pk": "ERASED#messenger#112233445566778#5d41402abc4b2a76b9719d911017c592",
        "sk": "ERASED",
        "type": "tombstone",
        "channel": "messenger",
        "account_id": "112233445566778",
        "digest": "5d41402abc4b2a76b9719d911017c592",
        "erased_at": iso(T0),
        "event_id": event_id,
    }


def test_an_erasure_tombstone_is_contact_erased_without_the_contact_id() -> None:
    event = only(events_of(stream_record("INSERT", tombstone())))
    assert event.detail_type is DetailType.CONTACT_ERASED
    assert event.detail["digest"] == "5d41402abc4b2a76b9719d911017c592"
    assert event.detail["event_id"] == "01KBQ1111111111111111111ER"
    assert "contact_id" not in event.detail
    assert "7318845612093471" not in str(event.detail)


def test_a_second_erasure_of_the_same_identity_is_another_event_and_a_rewrite_is_not() -> None:
    first = only(events_of(stream_record("INSERT", tombstone())))
    again = only(events_of(stream_record("MODIFY", tombstone("01KBQ2222222222222222222ER"), tombstone())))
    assert again.id != first.id
    assert events_of(stream_record("MODIFY", tombstone(), tombstone())) == []


# -- what publishes nothing ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "item",
    [
        conversation_item(conversation()),
        message_item(message()),
        tombstone(),
        {"pk": "DEDUPE#telegram#1#2", "sk": "DEDUPE", "ttl": 1},
    ],
    ids=["conversation", "message", "tombstone", "dedupe"],
)
def test_a_removed_item_erased_or_expired_publishes_nothing(item: dict[str, Any]) -> None:
    assert events_of(stream_record("REMOVE", None, item)) == []


def test_other_items_publish_nothing() -> None:
    send_log = {"pk": keys.send_log_pk("01KBQ"), "sk": keys.send_log_sk(T0, "01KBQ"), "type": "send_attempt"}
    policy = {"pk": keys.SLA_POLICY_KEY, "sk": keys.SLA_POLICY_KEY, "fingerprint": "x"}
    for item in (send_log, policy):
        assert events_of(stream_record("INSERT", item)) == []


def test_a_record_without_images_publishes_nothing() -> None:
    record = stream_record("INSERT", conversation_item(conversation()))
    del record["dynamodb"]["NewImage"]
    assert events_of(record) == []


# -- ids -------------------------------------------------------------------------------------------------
def test_a_redelivered_record_publishes_the_same_ids() -> None:
    record = stream_record("INSERT", conversation_item(conversation(assignee="agent-1")))
    first, again = events_of(record), events_of(dict(record))
    assert [e.id for e in first] == [e.id for e in again]
    assert len({e.id for e in first}) == 2


def test_each_write_of_a_change_has_its_own_id() -> None:
    one = only(change(conversation(version=3), conversation(assignee="a", version=4)))
    two = only(change(conversation(assignee="a", version=4), conversation(assignee="b", version=5)))
    assert one.id != two.id


def test_a_message_rewritten_after_being_taken_back_keeps_its_id() -> None:
    # The store takes a message back when its conversation write is refused, then writes it again.
    first = only(events_of(stream_record("INSERT", message_item(message()), sequence="1")))
    again = only(events_of(stream_record("INSERT", message_item(message(seq=2)), sequence="9")))
    assert first.id == again.id


# -- schemas ---------------------------------------------------------------------------------------------
def test_every_detail_type_has_a_schema_and_every_schema_a_detail_type() -> None:
    assert {p.stem for p in SCHEMAS.glob("*.json")} == {str(t) for t in DetailType}


def test_a_schema_refuses_a_detail_without_its_id_or_with_an_unknown_field() -> None:
    event = only(events_of(stream_record("INSERT", conversation_item(conversation()))))
    missing = {k: v for k, v in event.detail.items() if k != "id"}
    assert any("'id' is a required property" in e for e in schema_errors("conversation.created", missing))
    extra = {**event.detail, "text": "where is my order?"}
    assert schema_errors("conversation.created", extra) != []
    bad_time = {**event.detail, "occurred_at": "yesterday"}
    assert schema_errors("conversation.created", bad_time) != []


statuses = st.sampled_from(["open", "pending", "resolved"])
agents = st.none() | st.sampled_from(["agent-1", "agent-2"])


@settings(max_examples=150, deadline=None)
@given(
    was=statuses,
    now=statuses,
    before_agent=agents,
    after_agent=agents,
    version=st.integers(min_value=1, max_value=10_000),
    seconds=st.integers(min_value=0, max_value=10**8),
)
def test_any_conversation_change_derives_valid_events_with_stable_ids(
    was: str, now: str, before_agent: str | None, after_agent: str | None, version: int, seconds: int
) -> None:
    at = T0 + timedelta(seconds=seconds)
    before = conversation(status=was, assignee=before_agent, version=version)
    after = conversation(
        status=now,
        assignee=after_agent,
        version=version + 1,
        resolved_at=at if now == "resolved" else None,
    )
    record = stream_record(
        "MODIFY", conversation_item(after), conversation_item(before), at=to_epoch_ms(at) / 1000
    )
    events = events_of(record)
    assert [e.id for e in events] == [e.id for e in events_of(record)]
    assert len({e.id for e in events}) == len(events)
    kinds = {e.detail_type for e in events}
    assert (DetailType.CONVERSATION_ASSIGNED in kinds) == (before_agent != after_agent)
    assert (DetailType.CONVERSATION_RESOLVED in kinds) == (now == "resolved" and was != "resolved")
    assert (DetailType.CONVERSATION_REOPENED in kinds) == (was == "resolved" and now != "resolved")
    for event in events:
        assert_valid(event)


def test_an_empty_map_read_through_botocore_is_an_empty_map() -> None:
    from carehooks.events.images import plain_image

    image = {"pk": {"S": "CT#x"}, "attributes": {}, "also": {"M": {}}, "n": {"N": "1.5"}, "l": {"L": []}}
    assert plain_image(image) == {"pk": "CT#x", "attributes": {}, "also": {}, "n": 1.5, "l": []}


def test_a_rung_recorded_on_the_conversation_is_the_same_sla_event_as_its_marked_claim() -> None:
    since = iso(T0)
    state = {"policy": "p", "wait_metric": "first_response", "wait_since": since}
    before = conversation(version=3, extra={"sla": state})
    after = conversation(version=4, extra={"sla": {**state, "wait_done": ["warning"]}})
    event = only(change(before, after))
    assert event.detail_type is DetailType.SLA_WARNING
    claimed = sla_claim("warning")
    marked = only(events_of(stream_record("MODIFY", sla_claim("warning", sent_at=iso(T0)), claimed)))
    assert event.id == marked.id
    assert {k: v for k, v in event.detail.items() if k != "occurred_at"} == {
        k: v for k, v in marked.detail.items() if k != "occurred_at"
    }
    # a rung already recorded is not published again; a new clock cycle's rung is
    again = conversation(version=5, extra={"sla": {**state, "wait_done": ["warning"]}, "preview": "x"})
    assert change(after, again) == []
    later = {**state, "wait_since": iso(T0 + timedelta(hours=5)), "wait_done": ["warning"]}
    assert only(change(again, conversation(version=6, extra={"sla": later}))).id != event.id
