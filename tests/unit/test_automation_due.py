"""Pure tests of automation (issue 17): due times (calendar time, DST), cursors, the config section, the
pending status transitions, SLA rung actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carehooks.automation.due import (
    DONE,
    HOLD,
    SKIP,
    Timer,
    assignee_due,
    next_mark,
    resolve_due,
    selects,
    timers,
)
from carehooks.automation.reassign import target_of
from carehooks.config.automation import AutomationConfig, ResolveEntry
from carehooks.config.loader import ConfigError, parse_document
from carehooks.config.rules import AddTags, Assign, AssignTarget, SetPriority
from carehooks.domain.conversations import apply_message
from carehooks.domain.models import Channel, Conversation, Direction, Message
from carehooks.sla.actions import apply_actions
from carehooks.store import keys
from carehooks.store.automation import StatusEntry

LONDON = ZoneInfo("Europe/London")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def conv(**changes: object) -> Conversation:
    base = Conversation(
        id="01J0000000000000000000000A",
        channel=Channel.MESSENGER,
        account_id="p",
        contact_id="c",
        created_at=T0,
    )
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def automation(text: str) -> AutomationConfig:
    return parse_document(text).automation


PENDING_48H = automation("automation: {auto_resolve: {pending: [{after: 48h}]}}")


def test_pending_is_due_48_real_hours_after_the_turn_across_a_dst_change() -> None:
    # Saturday 28 March 2026 12:00 London (GMT); clocks go forward on Sunday 29 March.
    turn = datetime(2026, 3, 28, 12, 0, tzinfo=LONDON)
    due = resolve_due(conv(status="pending", turn_at=turn), PENDING_48H)
    assert due is not None
    assert due[0] - turn == 48 * H
    # In local time it reads 13:00 on Monday: one wall-clock hour later, the same wait.
    assert due[0].astimezone(LONDON).hour == 13
    autumn = datetime(2026, 10, 24, 12, 0, tzinfo=LONDON)
    due = resolve_due(conv(status="pending", turn_at=autumn), PENDING_48H)
    assert due is not None
    assert due[0].astimezone(LONDON).hour == 11


def test_timers_count_calendar_time_over_weekends_and_holidays() -> None:
    # Christmas Eve evening: due 48 h later on Boxing Day evening, holidays or not.
    turn = datetime(2026, 12, 24, 18, 0, tzinfo=UTC)
    due = resolve_due(conv(status="pending", turn_at=turn), PENDING_48H)
    assert due is not None
    assert due[0] == datetime(2026, 12, 26, 18, 0, tzinfo=UTC)


def test_open_entries_count_from_the_last_message_and_resolved_conversations_are_never_due() -> None:
    config = automation("automation: {auto_resolve: {open: [{after: 3d}]}}")
    quiet = resolve_due(conv(status="open", turn_at=T0, last_activity_at=T0 + 2 * H), config)
    assert quiet is not None
    assert quiet[0] == T0 + 2 * H + timedelta(days=3)
    assert resolve_due(conv(status="resolved", turn_at=T0), config) is None
    assert resolve_due(conv(status="pending", turn_at=T0), config) is None  # no pending entry


def test_the_first_matching_entry_applies() -> None:
    config = automation(
        """
automation:
  auto_resolve:
    pending:
      - {after: 2h, when: {channel: [x], tags: [billing]}}
      - {after: 1d, when: {priority: [urgent, high]}}
      - {after: 2d}
"""
    )
    cases = [
        ({"channel": Channel.X, "tags": ["billing"], "priority": "urgent"}, 0, 2 * H),
        ({"channel": Channel.MESSENGER, "tags": ["billing"], "priority": "urgent"}, 1, 24 * H),
        ({"channel": Channel.X, "tags": [], "priority": "normal"}, 2, 48 * H),
    ]
    for changes, index, after in cases:
        due = resolve_due(conv(status="pending", turn_at=T0, **changes), config)
        assert due is not None
        assert (due[1], due[0] - T0) == (index, after)


def test_the_assignee_timer_is_due_after_the_customer_started_waiting_when_enabled() -> None:
    on = automation("automation: {assignee_timer: {enabled: true, after: 30m}}")
    assert assignee_due(conv(status="open", assignee="alice", turn_at=T0), on) == T0 + timedelta(minutes=30)
    assert assignee_due(conv(status="open", assignee=None, turn_at=T0), on) is None
    assert assignee_due(conv(status="pending", assignee="alice", turn_at=T0), on) is None
    assert assignee_due(conv(status="open", assignee="alice", turn_at=T0), PENDING_48H) is None


def test_timers_are_one_scan_per_status_and_distinct_after() -> None:
    config = automation(
        """
automation:
  auto_resolve:
    pending: [{after: 2h, when: {tags: [a]}}, {after: 2h}, {after: 2d, when: {tags: [b]}}]
    open: [{after: 5d}]
  assignee_timer: {enabled: true, after: 15m}
"""
    )
    assert [t.name for t in timers(config)] == [
        "resolve#pending#7200",
        "resolve#pending#172800",
        "resolve#open#432000",
        "assignee#open#900",
    ]
    assert timers(AutomationConfig()) == []


def entry(sk: str, tags: tuple[str, ...] = (), assignee: str | None = None) -> StatusEntry:
    return StatusEntry({"pk": {"S": "p"}, "sk": {"S": "s"}}, sk, "messenger", tags, "normal", assignee)


def test_an_index_item_belongs_to_the_timer_of_its_first_matching_entry() -> None:
    config = automation(
        "automation: {auto_resolve: {pending: [{after: 1h, when: {tags: [q]}}, {after: 2d}]}}"
    )
    short, long = Timer("resolve", "pending", H), Timer("resolve", "pending", 48 * H)
    assert selects(short, entry("x", ("q",)), config)
    assert not selects(long, entry("x", ("q",)), config)
    assert selects(long, entry("x"), config)
    assignee = Timer("assignee", "open", H)
    assert selects(assignee, entry("x", assignee="alice"), config)
    assert not selects(assignee, entry("x"), config)


def test_the_cursor_moves_over_what_was_dealt_with_up_to_the_margin_and_stops_before_a_hold() -> None:
    upto, floor = "2026-03-04T09:00:00.000Z#~", "2026-03-04T08:50:00.000Z#~"
    a, b, c = (f"2026-03-04T08:0{n}:00.000Z#01J{n}" for n in (1, 2, 3))
    late = "2026-03-04T08:55:00.000Z#01J9"
    assert next_mark(None, [(a, DONE), (b, SKIP)], upto, floor) == floor
    assert next_mark(None, [(a, DONE), (b, HOLD), (c, DONE)], upto, floor) == a
    assert next_mark(a, [(b, HOLD)], upto, floor) == a
    assert next_mark(None, [(a, HOLD)], upto, floor) is None
    assert next_mark(None, [(a, DONE), (late, HOLD)], upto, floor) == a
    assert next_mark(floor, [], upto, "2026-03-04T08:40:00.000Z#~") == floor  # never backwards


@given(st.lists(st.sampled_from([DONE, SKIP, HOLD]), max_size=12))
def test_the_cursor_never_passes_a_held_item_nor_the_floor(outcomes: list[str]) -> None:
    keys_ = [f"2026-03-04T08:{n:02d}:00.000Z#01J" for n in range(len(outcomes))]
    floor, upto = "2026-03-04T08:30:00.000Z#~", "2026-03-04T09:00:00.000Z#~"
    mark = next_mark(None, list(zip(keys_, outcomes, strict=True)), upto, floor)  # type: ignore[arg-type]
    assert mark is None or mark <= floor
    for key, outcome in zip(keys_, outcomes, strict=True):
        if outcome == HOLD:
            assert mark is None or mark < key


@given(
    seconds=st.integers(min_value=-10, max_value=10**8),
    message=st.one_of(st.none(), st.text(min_size=0, max_size=700)),
)
def test_resolve_entries_accept_exactly_the_documented_values(seconds: int, message: str | None) -> None:
    data: dict[str, object] = {"after": f"{seconds}s"} if seconds >= 0 else {"after": seconds}
    if message is not None:
        data["message"] = message
    valid = seconds >= 60 and (message is None or 1 <= len(message) <= 640)
    try:
        parsed = ResolveEntry.model_validate(data)
    except ValueError:
        assert not valid
    else:
        assert valid
        assert parsed.after == timedelta(seconds=seconds)
        assert parsed.survey is True


def test_the_section_is_validated_with_paths_and_reasons() -> None:
    text = """
agents: [{id: alice}]
automation:
  auto_resolve:
    pending: [{after: 30s}, {after: 1h, when: {priority: [sky-high]}}, {after: soon}]
    open: [{after: 1h, message: ""}]
  assignee_timer: {enabled: yes, reassign_to: somebody}
  surprise: 1
"""
    with pytest.raises(ConfigError) as caught:
        parse_document(text)
    where = [w for w, _ in caught.value.errors]
    assert "automation.auto_resolve.pending.0.after" in where
    assert "automation.auto_resolve.pending.1.when.priority.0" in where
    assert "automation.auto_resolve.pending.2.after" in where
    assert "automation.auto_resolve.open.0.message" in where
    assert any(w.startswith("automation.assignee_timer.reassign_to") for w in where)
    assert "automation.surprise" in where
    reasons = dict(caught.value.errors)
    assert "at least 1m" in reasons["automation.auto_resolve.pending.0.after"]
    assert "not a duration" in reasons["automation.auto_resolve.pending.2.after"]
    with pytest.raises(ConfigError) as caught:
        parse_document("agents: [{id: alice}]\nautomation: {assignee_timer: {reassign_to: {agent: bob}}}")
    assert caught.value.errors[0][1].endswith(
        "automation.assignee_timer.reassign_to.agent: no agent named 'bob'"
    )


def test_the_packaged_default_resolves_pending_after_48h_with_a_closing_message() -> None:
    from carehooks.config.loader import default_document

    auto = default_document().automation
    (only,) = auto.auto_resolve.pending
    assert only.after == 48 * H
    assert only.when is None
    assert only.message
    assert only.survey is True
    assert auto.auto_resolve.open == []
    assert auto.assignee_timer.enabled is False


def message(direction: Direction, at: datetime, author: str | None = None, kind: str = "text") -> Message:
    return Message(
        conversation_id="c",
        channel=Channel.MESSENGER,
        account_id="p",
        contact_id="c",
        platform_message_id=f"m{at.timestamp()}{direction}",
        direction=direction,
        sent_at=at,
        author=author,
        kind=kind,
    )


def test_status_follows_who_the_conversation_waits_on() -> None:
    opened = apply_message(conv(status="open"), message(Direction.IN, T0))
    assert opened.status == "open"
    pending = apply_message(opened, message(Direction.OUT, T0 + H, "alice"))
    assert pending.status == "pending"
    # An automatic message (acknowledgement, closing message) never makes it pending.
    assert apply_message(opened, message(Direction.OUT, T0 + H, "carehooks", "ack")).status == "open"
    # A late (reordered) customer message from before the reply leaves it pending.
    assert apply_message(pending, message(Direction.IN, T0 + H / 2)).status == "pending"
    back = apply_message(pending, message(Direction.IN, T0 + 2 * H))
    assert back.status == "open"
    # A late reply from before the customer's latest message leaves it open.
    assert (
        apply_message(back, message(Direction.OUT, T0 + 90 * timedelta(minutes=1), "bruno")).status == "open"
    )
    resolved = conv(status="resolved")
    assert apply_message(resolved, message(Direction.OUT, T0, "alice")).status == "resolved"


def test_rung_actions_apply_like_rule_actions_with_a_trace() -> None:
    start = conv(status="open", tags=["vip"], priority="high", assignee="alice")
    actions = [
        SetPriority(set_priority="urgent"),
        SetPriority(set_priority="low"),
        AddTags(add_tags=["escalated", "vip"]),
        Assign(assign=AssignTarget(team="leads")),
        Assign(assign=AssignTarget(last_agent_within_days=3)),
    ]
    changed, trace = apply_actions(start, actions, "p/first_response/breach")
    assert (changed.priority, changed.tags, changed.assignee, changed.extra["team"]) == (
        "urgent",
        ["vip", "escalated"],
        None,
        "leads",
    )
    assert [t["status"] for t in trace] == ["ran", "skipped", "ran", "ran", "skipped"]
    assert all(t["rule"] == "p/first_response/breach" for t in trace)
    assert start.priority == "high"  # pure: the input is unchanged
    again, second = apply_actions(changed, actions[:4], "p/first_response/breach")
    assert [t["status"] for t in second] == ["skipped", "skipped", "skipped", "skipped"]
    assert again == changed


def test_reassignment_targets() -> None:
    doc = parse_document(
        """
agents: [{id: a, teams: [t]}, {id: b, teams: [t], active: false}, {id: c, teams: [t]}, {id: z}]
teams: [{id: t}]
automation: {assignee_timer: {enabled: true, reassign_to: next_agent}}
"""
    )
    waiting = conv(status="open", assignee="a", extra={"team": "t"})
    assert target_of(waiting, doc)[:2] == ("c", "t")
    assert target_of(conv(status="open", assignee="c", extra={}), doc)[:2] == ("a", "t")  # the agent's team
    assert target_of(conv(status="open", assignee="z", extra={}), doc)[:2] == (None, None)
    lone = parse_document(doc.model_dump_json().replace('"active":true', '"active":false'))
    assert target_of(waiting, lone)[:2] == (None, "t")


def test_key_formats() -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert keys.auto_resolve_scope("01J", at) == "01J#1772442000000"
    assert keys.automation_cursor_sk("resolve", "pending", 172800) == "resolve#pending#172800"
    bound = keys.list_key_upper_bound(at)
    assert (
        keys.status_sk(at, "01JZZZZZZZZZZZZZZZZZZZZZZZ")
        < bound
        < keys.status_sk(at + timedelta(milliseconds=1), "0")
    )
    assert keys.after_list_key(bound) > bound


def test_config_validate_on_the_command_line_names_the_automation_errors(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    from infra.cli.__main__ import main

    folder = Path(str(tmp_path))
    bad = folder / "bad.yaml"
    bad.write_text(
        "automation: {auto_resolve: {pending: [{after: 48h, when: {channel: [fax]}}]}}\n", encoding="utf-8"
    )
    assert main(["config", "validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "automation.auto_resolve.pending.0.when.channel.0:" in err
    good = folder / "good.yaml"
    good.write_text("automation: {auto_resolve: {pending: [{after: 48h, message: Bye}]}}\n", encoding="utf-8")
    assert main(["config", "validate", str(good)]) == 0
    assert "good.yaml: valid" in capsys.readouterr().out
