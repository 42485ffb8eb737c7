"""The SLA clocks of a conversation: when they run, pause and stop, and what is due when (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from carehooks.clock import iso
from carehooks.config.calendars import CALENDAR_TIME, Calendar
from carehooks.config.sla import Metric, SlaConfig
from carehooks.domain.conversations import apply_message
from carehooks.domain.models import Channel, Conversation, Direction, Message
from carehooks.sla.clocks import Attainment, derive_sla, due_now, mark_done, state_of
from carehooks.store import keys
from carehooks.store.items import conversation_item

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # a Monday
MINUTE = timedelta(minutes=1)

CONFIG = SlaConfig.model_validate(
    {
        "recipients": ["ops@example.com"],
        "policies": [
            {"id": "vip", "when": {"tags": ["vip"]}, "first_response": "15m"},
            {
                "id": "messenger",
                "when": {"channels": ["messenger"]},
                "first_response": "1h",
                "next_response": "30m",
                "resolution": "4h",
                "escalations": [
                    {"after": "30m", "recipients": ["lead@example.com"]},
                    {"after": "2h", "recipients": ["head@example.com"]},
                ],
            },
            {
                "id": "office",
                "when": {"channels": ["whatsapp"]},
                "calendar": "office",
                "first_response": "1h",
            },
        ],
    }
)
OFFICE = Calendar.model_validate(
    {"timezone": "UTC", "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}}
)


def calendar_for(name: str | None) -> Calendar:
    return OFFICE if name == "office" else CALENDAR_TIME


def conversation(channel: Channel = Channel.MESSENGER, tags: list[str] | None = None) -> Conversation:
    return Conversation(
        id="01JCONV", channel=channel, account_id="page", contact_id="psid", created_at=T0, tags=tags or []
    )


def write(
    conv: Conversation, direction: Direction, at: datetime, author: str | None = None
) -> tuple[Conversation, list[Attainment]]:
    """What the store does with a message: account for it, then derive."""
    message = Message(
        conversation_id=conv.id,
        channel=conv.channel,
        account_id=conv.account_id,
        contact_id=conv.contact_id,
        platform_message_id=f"m{at.timestamp()}",
        direction=direction,
        sent_at=at,
        text="where is my order?",
        author=author,
    )
    return derive_sla(apply_message(conv, message), CONFIG, calendar_for)


def customer(conv: Conversation, at: datetime) -> Conversation:
    return write(conv, Direction.IN, at)[0]


def due_at(conv: Conversation) -> str | None:
    return iso(conv.sla_due_at) if conv.sla_due_at is not None else None


def test_a_customer_message_starts_the_first_response_clock_with_a_warning_at_80_percent() -> None:
    conv = customer(conversation(), T0)
    assert state_of(conv).wait_metric is Metric.FIRST_RESPONSE
    assert due_at(conv) == iso(T0 + 48 * MINUTE)
    item = conversation_item(conv)
    assert item[keys.SLA_DUE_PK_ATTR] == keys.sla_due_pk(keys.sla_shard(conv.id))
    assert item[keys.SLA_DUE_SK_ATTR] == iso(T0 + 48 * MINUTE)


def test_an_automatic_acknowledgement_does_not_stop_the_clock() -> None:
    conv = customer(conversation(), T0)
    conv, outcomes = write(conv, Direction.OUT, T0 + MINUTE, author="carehooks")
    assert outcomes == []
    assert due_at(conv) == iso(T0 + 48 * MINUTE)


def test_an_agent_reply_stops_the_clock_and_removes_the_due_marker() -> None:
    conv = customer(conversation(), T0)
    conv, outcomes = write(conv, Direction.OUT, T0 + 10 * MINUTE, author="alice")
    assert due_at(conv) is None
    assert keys.SLA_DUE_PK_ATTR not in conversation_item(conv)
    assert conv.sla_due_at is None
    assert outcomes == [Attainment("messenger", Metric.FIRST_RESPONSE, met=True)]


def test_stopped_clocks_are_recorded_on_the_conversation_for_reports() -> None:
    conv = customer(conversation(), T0)
    conv, _ = write(conv, Direction.OUT, T0 + 61 * MINUTE, author="alice")
    conv = customer(conv, T0 + 90 * MINUTE)
    conv, _ = write(conv, Direction.OUT, T0 + 95 * MINUTE, author="alice")
    resolved, _ = derive_sla(
        replace(conv, status="resolved", resolved_at=T0 + 96 * MINUTE), CONFIG, calendar_for
    )
    assert resolved.extra["sla_attainment"] == [
        {"metric": "first_response", "met": False, "policy": "messenger"},
        {"metric": "next_response", "met": True, "policy": "messenger"},
        {"metric": "resolution", "met": True, "policy": "messenger"},
    ]
    # Writes that stop no clock add nothing.
    again, _ = derive_sla(resolved, CONFIG, calendar_for)
    assert len(again.extra["sla_attainment"]) == 3


def test_a_reply_typed_in_the_platform_inbox_counts_as_an_answer() -> None:
    conv = customer(conversation(), T0)
    conv, _ = write(conv, Direction.OUT, T0 + 70 * MINUTE, author="platform-inbox")
    assert due_at(conv) is None


def test_a_late_reply_is_recorded_as_a_missed_target() -> None:
    conv = customer(conversation(), T0)
    _, outcomes = write(conv, Direction.OUT, T0 + 61 * MINUTE, author="alice")
    assert Attainment("messenger", Metric.FIRST_RESPONSE, met=False) in outcomes


def test_more_customer_messages_do_not_restart_the_wait() -> None:
    conv = customer(conversation(), T0)
    conv = customer(conv, T0 + 20 * MINUTE)
    assert state_of(conv).wait_since == T0
    assert due_at(conv) == iso(T0 + 48 * MINUTE)


def test_a_customer_message_after_an_answer_starts_the_next_response_clock() -> None:
    conv = customer(conversation(), T0)
    conv, _ = write(conv, Direction.OUT, T0 + 10 * MINUTE, author="alice")
    conv = customer(conv, T0 + 60 * MINUTE)
    state = state_of(conv)
    assert state.wait_metric is Metric.NEXT_RESPONSE
    assert state.wait_since == T0 + 60 * MINUTE
    assert due_at(conv) == iso(T0 + 60 * MINUTE + 24 * MINUTE)  # 80 % of 30 min


def test_a_late_echo_of_an_earlier_answer_ends_the_old_wait_and_starts_a_new_one() -> None:
    conv = customer(conversation(), T0)
    conv = customer(conv, T0 + 20 * MINUTE)
    # The agent's answer at +10 min arrives after the customer's +20 min message.
    conv, outcomes = write(conv, Direction.OUT, T0 + 10 * MINUTE, author="platform-inbox")
    assert [o.metric for o in outcomes] == [Metric.FIRST_RESPONSE]
    assert state_of(conv).wait_since == T0 + 20 * MINUTE
    assert state_of(conv).wait_metric is Metric.NEXT_RESPONSE


def test_resolution_time_pauses_while_waiting_on_the_customer() -> None:
    conv = customer(conversation(), T0)
    conv, _ = write(conv, Direction.OUT, T0 + 60 * MINUTE, author="alice")  # 1 h used
    assert state_of(conv).res_used == timedelta(hours=1)
    conv = customer(conv, T0 + 5 * 60 * MINUTE)  # the customer answers 4 h later: paused meanwhile
    resumed = T0 + 5 * 60 * MINUTE
    # 3 h of the 4 h target are left: the warning (at 3 h 12 min used) falls due 2 h 12 min after resuming.
    send, _ = due_now(conv, resumed + 132 * MINUTE, CONFIG, calendar_for)
    assert [(d.step.name, d.due_at) for d in send if d.metric is Metric.RESOLUTION] == [
        ("warning", resumed + 132 * MINUTE)
    ]
    send, _ = due_now(conv, resumed + 131 * MINUTE, CONFIG, calendar_for)
    assert [d for d in send if d.metric is Metric.RESOLUTION] == []


def test_resolving_stops_every_clock() -> None:
    conv = customer(conversation(), T0)
    resolved = replace(conv, status="resolved", resolved_at=T0 + 5 * MINUTE)
    resolved, outcomes = derive_sla(resolved, CONFIG, calendar_for)
    assert due_at(resolved) is None
    assert Attainment("messenger", Metric.RESOLUTION, met=True) in outcomes


def test_the_first_matching_policy_applies() -> None:
    conv = customer(conversation(tags=["vip"]), T0)
    assert state_of(conv).policy == "vip"
    assert due_at(conv) == iso(T0 + 12 * MINUTE)


def test_no_matching_policy_means_no_due_marker() -> None:
    conv = customer(conversation(channel=Channel.TELEGRAM), T0)
    assert due_at(conv) is None


def test_business_hours_policies_count_only_open_time() -> None:
    friday_evening = datetime(2026, 1, 9, 16, 30, tzinfo=UTC)
    conv = customer(conversation(channel=Channel.WHATSAPP), friday_evening)
    # 48 min of open time: 30 on Friday, 18 on Monday morning.
    assert due_at(conv) == iso(datetime(2026, 1, 12, 9, 18, tzinfo=UTC))


def test_each_rung_falls_due_in_turn_once_the_previous_is_done() -> None:
    conv = customer(conversation(), T0)
    expected = [
        ("warning", 48, ("ops@example.com",)),
        ("breach", 60, ("ops@example.com",)),
        ("escalation-1", 90, ("lead@example.com",)),
        ("escalation-2", 180, ("head@example.com",)),
    ]
    for name, minutes, recipients in expected:
        assert due_at(conv) == iso(T0 + minutes * MINUTE)
        assert due_now(conv, T0 + minutes * MINUTE - timedelta(seconds=1), CONFIG, calendar_for)[0] == []
        send, superseded = due_now(conv, T0 + minutes * MINUTE, CONFIG, calendar_for)
        first_response = [d for d in send if d.metric is Metric.FIRST_RESPONSE]
        assert [(d.step.name, d.step.recipients) for d in first_response] == [(name, recipients)]
        assert superseded == []
        conv, _ = derive_sla(mark_done(conv, first_response), CONFIG, calendar_for)
    # The resolution clock (4 h) still runs; nothing else of the first response is left.
    assert due_at(conv) == iso(T0 + 192 * MINUTE)


def test_a_warning_overtaken_by_the_breach_is_superseded() -> None:
    conv = customer(conversation(), T0)
    send, superseded = due_now(conv, T0 + 65 * MINUTE, CONFIG, calendar_for)
    assert [d.step.name for d in send] == ["breach"]
    assert [d.step.name for d in superseded] == ["warning"]


def test_rungs_of_an_earlier_wait_are_not_recorded_on_a_new_one() -> None:
    conv = customer(conversation(), T0)
    old_warning = due_now(conv, T0 + 50 * MINUTE, CONFIG, calendar_for)[0]
    conv, _ = write(conv, Direction.OUT, T0 + 55 * MINUTE, author="alice")
    conv = customer(conv, T0 + 70 * MINUTE)
    conv = mark_done(conv, old_warning)
    assert state_of(conv).wait_done == []


def test_an_unreadable_state_starts_afresh_instead_of_failing_the_write() -> None:
    conv = conversation()
    conv.extra["sla"] = {"wait_since": "not a time"}
    conv = customer(conv, T0)
    assert due_at(conv) == iso(T0 + 48 * MINUTE)


def test_a_fault_in_sla_bookkeeping_never_blocks_a_conversation_write() -> None:
    from carehooks.sla import deriver

    def broken() -> None:
        raise RuntimeError("configuration unreadable")

    conv = conversation()
    assert deriver.sla_deriver(broken)(conv, T0) is conv
