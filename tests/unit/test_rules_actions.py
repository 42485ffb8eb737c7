"""Actions: tags, priority, assignment (agent, team, last agent within N days), acknowledge, stop."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from carehooks.rules.engine import Context, Decision, evaluate
from tests.rules_support import NOW, conversation, message, rules_document

DIRECTORY: dict[str, Any] = {
    "agents": [
        {"id": "alice", "name": "Alice", "teams": ["orders"]},
        {"id": "bruno", "name": "Bruno", "teams": ["orders"], "active": False},
    ],
    "teams": [{"id": "orders", "name": "Orders"}, {"id": "support"}],
}


def decide(rules_yaml: str, context: Context | None = None, text: str = "hello", **sections: Any) -> Decision:
    config = rules_document(rules_yaml, **{**DIRECTORY, **sections})
    return evaluate(config, message(text), context or Context(conversation=conversation()), NOW)


def statuses(decision: Decision) -> list[tuple[str, str]]:
    return [(a.action, a.status) for a in decision.actions]


def test_add_tags_records_what_was_added_and_skips_existing() -> None:
    decision = decide(
        "- id: r\n  then: [{add_tags: [a, b]}]\n", Context(conversation=conversation(tags=["a"]))
    )
    assert decision.tags == ("a", "b")
    assert decision.tags_added == ("b",)
    again = decide("- id: r\n  then: [{add_tags: a}]\n", Context(conversation=conversation(tags=["a"])))
    assert statuses(again) == [("add_tags", "skipped")]
    assert again.tags_added == ()


def test_remove_tags() -> None:
    decision = decide(
        "- id: r\n  then: [{remove_tags: [a, missing]}]\n",
        Context(conversation=conversation(tags=["a", "b"])),
    )
    assert decision.tags == ("b",)
    assert decision.tags_removed == ("a",)
    assert statuses(decide("- id: r\n  then: [{remove_tags: x}]\n")) == [("remove_tags", "skipped")]


def test_a_tag_added_then_removed_is_no_change() -> None:
    decision = decide("- id: r\n  then: [{add_tags: [t]}, {remove_tags: [t]}]\n")
    assert decision.tags_added == ()
    assert decision.tags_removed == ()


def test_set_priority_raises_but_never_lowers() -> None:
    raised = decide("- id: r\n  then: [{set_priority: urgent}]\n")
    assert raised.priority == "urgent"
    kept = decide(
        "- id: r\n  then: [{set_priority: low}]\n", Context(conversation=conversation(priority="high"))
    )
    assert kept.priority is None
    assert kept.actions[0].status == "skipped"
    assert "never lower" in kept.actions[0].detail


def test_highest_priority_of_several_rules_wins() -> None:
    decision = decide("- id: a\n  then: [{set_priority: urgent}]\n- id: b\n  then: [{set_priority: high}]\n")
    assert decision.priority == "urgent"


def test_assign_an_agent() -> None:
    decision = decide("- id: r\n  then: [{assign: {agent: alice}}]\n")
    assert decision.assignment is not None
    assert decision.assignment.agent == "alice"


def test_assign_an_inactive_agent_falls_back_to_the_team() -> None:
    decision = decide("- id: r\n  then: [{assign: {agent: bruno, team: orders}}]\n")
    assert decision.assignment is not None
    assert (decision.assignment.agent, decision.assignment.team) == (None, "orders")
    assert "bruno is not active" in decision.assignment.reason


def test_assign_last_agent_within_n_days() -> None:
    earlier = conversation(
        id="01JEARLIER000000000000001",
        status="resolved",
        last_responder="alice",
        last_outbound_at=NOW - timedelta(days=3),
    )
    context = Context(conversation=conversation(), history=(earlier,))
    decision = decide("- id: r\n  then: [{assign: {last_agent_within_days: 7, team: orders}}]\n", context)
    assert decision.assignment is not None
    assert (decision.assignment.agent, decision.assignment.team) == ("alice", "orders")


def test_last_agent_older_than_n_days_falls_back_to_the_team() -> None:
    earlier = conversation(
        id="01JEARLIER000000000000001", last_responder="alice", last_outbound_at=NOW - timedelta(days=10)
    )
    context = Context(conversation=conversation(), history=(earlier,))
    decision = decide("- id: r\n  then: [{assign: {last_agent_within_days: 7, team: orders}}]\n", context)
    assert decision.assignment is not None
    assert (decision.assignment.agent, decision.assignment.team) == (None, "orders")


def test_last_agent_is_the_most_recent_active_person() -> None:
    by_bruno = conversation(
        id="01JB", last_responder="bruno", last_outbound_at=NOW - timedelta(days=1)
    )  # inactive
    by_alice = conversation(id="01JA", assignee="alice", last_activity_at=NOW - timedelta(days=2))
    by_inbox = conversation(
        id="01JI", last_responder="platform-inbox", last_outbound_at=NOW - timedelta(hours=1)
    )
    context = Context(conversation=conversation(), history=(by_inbox, by_bruno, by_alice))
    decision = decide("- id: r\n  then: [{assign: {last_agent_within_days: 7, team: orders}}]\n", context)
    assert decision.assignment is not None
    assert decision.assignment.agent == "alice"


def test_without_a_fallback_team_an_unknown_last_agent_skips() -> None:
    decision = decide("- id: r\n  then: [{assign: {last_agent_within_days: 7}}]\n")
    assert decision.assignment is None
    assert statuses(decision) == [("assign", "skipped")]


def test_an_assigned_conversation_keeps_its_assignee_unless_override() -> None:
    context = Context(conversation=conversation(assignee="alice"))
    kept = decide("- id: r\n  then: [{assign: {team: support}}]\n", context)
    assert kept.assignment is None
    assert "already assigned to alice" in kept.actions[0].detail
    moved = decide("- id: r\n  then: [{assign: {team: support, override: true}}]\n", context)
    assert moved.assignment is not None
    assert moved.assignment.team == "support"


def test_the_first_rule_to_assign_wins() -> None:
    decision = decide(
        "- id: a\n  then: [{assign: {team: orders}}]\n- id: b\n  then: [{assign: {team: support}}]\n"
    )
    assert decision.assignment is not None
    assert decision.assignment.team == "orders"
    assert "rule a already assigned" in decision.actions[1].detail


def test_acknowledge_the_first_template_chosen_wins() -> None:
    decision = decide(
        "- id: a\n  then: [acknowledge]\n- id: b\n  then: [{acknowledge: {template: default}}]\n"
    )
    assert decision.ack is not None
    assert (decision.ack.rule, decision.ack.template) == ("a", "default")
    assert statuses(decision) == [("acknowledge", "ran"), ("acknowledge", "skipped")]


def test_acknowledgements_can_be_disabled_globally() -> None:
    config_ack = {
        "enabled": False,
        "templates": {"default": {"in_hours": {"en": "x"}, "out_of_hours": {"en": "y"}}},
    }
    decision = decide("- id: a\n  then: [{acknowledge: default}]\n", acknowledgement=config_ack)
    assert decision.ack is None
    assert "disabled" in decision.actions[0].detail


def test_stop_ends_evaluation() -> None:
    decision = decide("- id: a\n  then: [{add_tags: [a]}, stop]\n- id: b\n  then: [{add_tags: [b]}]\n")
    assert decision.matched == ("a",)
    assert decision.stopped_by == "a"
    assert decision.tags == ("a",)


def test_the_decision_record_names_rules_config_and_every_action() -> None:
    decision = decide("- id: a\n  then: [{add_tags: [a]}, {set_priority: high}, acknowledge]\n")
    record = decision.as_record()
    assert record["config_version"] == "1"
    assert len(record["config_digest"]) == 12
    assert record["matched"] == ["a"]
    assert [(a["action"], a["status"]) for a in record["actions"]] == [
        ("add_tags", "ran"),
        ("set_priority", "ran"),
        ("acknowledge", "ran"),
    ]
    assert record["ack_plan"] == {"rule": "a", "template": "default"}
