"""The per-agent ledger on the conversation item: what each person did, compact, exact, idempotent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from carehooks.domain import ledger
from carehooks.domain.conversations import apply_message
from carehooks.domain.models import AUTOMATION_AUTHOR, Channel, Conversation, Direction, Message
from carehooks.reports.agents import replayed

T0 = datetime(2026, 3, 2, 9, 7, tzinfo=UTC)


def conversation() -> Conversation:
    return Conversation(
        id="01J0000000000000000000000A",
        channel=Channel.MESSENGER,
        account_id="p",
        contact_id="c",
        created_at=T0,
    )


def message(direction: Direction, at: datetime, author: str | None = None, n: list[int] = [0]) -> Message:  # noqa: B006 (a counter)
    n[0] += 1
    return Message(
        conversation_id="01J0000000000000000000000A",
        channel=Channel.MESSENGER,
        account_id="p",
        contact_id="c",
        platform_message_id=f"m{n[0]}",
        direction=direction,
        sent_at=at,
        author=author,
    )


def run(conv: Conversation, *steps: tuple[Direction, timedelta, str | None]) -> Conversation:
    for direction, after, author in steps:
        conv = apply_message(conv, message(direction, T0 + after, author))
    return conv


IN, OUT = Direction.IN, Direction.OUT


def test_replies_next_responses_and_handle_time_are_credited_to_who_wrote() -> None:
    conv = run(
        conversation(),
        (IN, timedelta(0), None),
        (OUT, timedelta(minutes=5), "ada"),  # first response: on the conversation, not in the ledger
        (IN, timedelta(minutes=30), None),
        (IN, timedelta(minutes=40), None),  # a follow-up: the wait still began at 30
        (OUT, timedelta(minutes=70), "bob"),  # next response 40 min; handle capped at 15 min
        (OUT, timedelta(minutes=72), AUTOMATION_AUTHOR),  # never counted
    )
    entries = ledger.entries(conv)
    assert set(entries) == {"ada", "bob"}
    assert entries["ada"].replies == 1
    assert entries["ada"].handle_seconds == 300
    assert entries["ada"].next_responses == []
    assert entries["bob"].replies == 1
    assert entries["bob"].handle_seconds == 900
    start = int((T0 + timedelta(minutes=30) - ledger.base_hour(conv)).total_seconds())
    assert entries["bob"].next_responses == [(start, 2400)]
    assert conv.first_responder == "ada"


def test_the_item_stays_small() -> None:
    conv = run(conversation(), (IN, timedelta(0), None), (OUT, timedelta(minutes=5), "agent-ada"))
    assert conv.extra[ledger.LEDGER_ATTR] == {"agent-ada": "0 1 300"}
    assert conv.extra[ledger.HOURS_ATTR] == "0 1"


def test_customer_messages_are_counted_by_quarter_hour() -> None:
    conv = run(
        conversation(),
        (IN, timedelta(0), None),  # 09:07 -> slot 09:00
        (IN, timedelta(minutes=10), None),  # 09:17 -> slot 09:15
        (IN, timedelta(minutes=12), None),
        (IN, timedelta(hours=25), None),
    )
    assert ledger.slots(conv) == {
        datetime(2026, 3, 2, 9, 0, tzinfo=UTC): 1,
        datetime(2026, 3, 2, 9, 15, tzinfo=UTC): 2,
        datetime(2026, 3, 3, 10, 0, tzinfo=UTC): 1,
    }


def test_assignment_and_sla_outcomes_are_credited_once() -> None:
    conv = run(conversation(), (IN, timedelta(0), None), (OUT, timedelta(minutes=5), "ada"))
    conv = replace(
        conv,
        assignee="bob",
        extra={**conv.extra, "sla_attainment": [{"metric": "first_response", "met": True, "policy": "p"}]},
    )
    once = ledger.credit(conv)
    assert ledger.credit(once) == once  # idempotent: every write runs it
    entries = ledger.entries(once)
    assert entries["bob"].assigned
    assert entries["ada"].sla["first_response"] == [1, 0]
    resolved = replace(
        once,
        status="resolved",
        extra={
            **once.extra,
            "resolved_by": "bob",
            "sla_attainment": [*once.extra["sla_attainment"], {"metric": "resolution", "met": False}],
        },
    )
    entries = ledger.entries(ledger.credit(resolved))
    assert entries["bob"].sla["resolution"] == [0, 1]
    assert entries["ada"].sla["first_response"] == [1, 0]


def test_automation_is_never_credited() -> None:
    conv = replace(
        run(conversation(), (IN, timedelta(0), None), (OUT, timedelta(minutes=1), AUTOMATION_AUTHOR)),
        assignee=None,
    )
    assert ledger.entries(ledger.credit(conv)) == {}


def test_a_ledger_past_its_caps_is_marked_and_rebuilt_exactly_from_the_messages() -> None:
    steps: list[tuple[Direction, timedelta, str | None]] = []
    for i in range(ledger.MAX_NEXT + 3):
        steps += [(IN, timedelta(hours=i), None), (OUT, timedelta(hours=i, minutes=10), "ada")]
    conv = conversation()
    messages = []
    for direction, after, author in steps:
        m = message(direction, T0 + after, author)
        messages.append(m)
        conv = apply_message(conv, m)
    assert ledger.is_full(conv)
    assert len(ledger.entries(conv)["ada"].next_responses) == ledger.MAX_NEXT
    rebuilt = ledger.entries(replayed(conv, reversed(messages)))  # any order: platform time decides
    assert rebuilt["ada"].replies == ledger.MAX_NEXT + 3
    assert len(rebuilt["ada"].next_responses) == ledger.MAX_NEXT + 2
    assert sum(ledger.slots(replayed(conv, messages)).values()) == ledger.MAX_NEXT + 3


@given(
    assigned=st.booleans(),
    counts=st.lists(st.integers(min_value=0, max_value=10**6), min_size=8, max_size=8),
    pairs=st.lists(st.tuples(st.integers(-(10**6), 10**7), st.integers(0, 10**7)), max_size=20),
)
def test_an_entry_reads_back_what_was_written(
    assigned: bool, counts: list[int], pairs: list[tuple[int, int]]
) -> None:
    entry = ledger.AgentEntry(assigned=assigned, replies=counts[0], handle_seconds=counts[1])
    for i, metric in enumerate(ledger.SLA_METRICS):
        entry.sla[metric] = [counts[2 + 2 * i], counts[3 + 2 * i]]
    entry.next_responses = list(pairs)
    assert ledger.AgentEntry.decode(entry.encode()) == entry
