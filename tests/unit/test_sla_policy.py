"""SLA policies in the configuration: durations, ladders, matching and validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from carehooks.config.sla import LevelKind, Metric, Policy, SlaConfig, reference_problems
from carehooks.domain.models import Channel, Conversation


def policy(**fields: Any) -> Policy:
    return Policy.model_validate({"id": "p", "first_response": "1h", **fields})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("45min", timedelta(minutes=45)),
        ("1h30m", timedelta(minutes=90)),
        ("1h 30m", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
        ("90s", timedelta(seconds=90)),
        ("PT4H", timedelta(hours=4)),
        (900, timedelta(minutes=15)),
    ],
)
def test_durations_read_as_people_write_them(text: object, expected: timedelta) -> None:
    assert policy(first_response=text).first_response == expected


@pytest.mark.parametrize("text", ["soon", "1 hour", "h1", "-5m", "0m"])
def test_nonsense_durations_are_rejected(text: str) -> None:
    with pytest.raises(ValidationError):
        policy(first_response=text)


def test_the_ladder_is_warning_breach_then_escalations_with_their_recipients() -> None:
    p = policy(
        recipients=["ops@example.com"],
        warning=0.75,
        escalations=[
            {"after": "30m", "recipients": "lead@example.com"},
            {"after": "2h", "recipients": ["head@example.com"]},
        ],
    )
    ladder = p.ladder(Metric.FIRST_RESPONSE)
    assert [(s.name, s.kind, s.at, s.recipients) for s in ladder] == [
        ("warning", LevelKind.WARNING, timedelta(minutes=45), ("ops@example.com",)),
        ("breach", LevelKind.BREACH, timedelta(hours=1), ("ops@example.com",)),
        ("escalation-1", LevelKind.ESCALATION, timedelta(minutes=90), ("lead@example.com",)),
        ("escalation-2", LevelKind.ESCALATION, timedelta(hours=3), ("head@example.com",)),
    ]
    assert p.ladder(Metric.RESOLUTION) == []


def test_the_warning_can_be_switched_off() -> None:
    assert [s.name for s in policy(warning=None).ladder(Metric.FIRST_RESPONSE, ("ops@example.com",))] == [
        "breach"
    ]


def test_a_policy_needs_a_target() -> None:
    with pytest.raises(ValidationError, match="at least one"):
        Policy.model_validate({"id": "p"})


def test_escalations_must_climb() -> None:
    with pytest.raises(ValidationError, match="increasing"):
        policy(
            escalations=[
                {"after": "2h", "recipients": ["a@x.io"]},
                {"after": "30m", "recipients": ["b@x.io"]},
            ]
        )


def test_recipients_must_be_addresses() -> None:
    with pytest.raises(ValidationError, match="not an email address"):
        policy(recipients=["team-leads"])


def test_policy_ids_are_unique() -> None:
    with pytest.raises(ValidationError, match="unique"):
        SlaConfig.model_validate(
            {"policies": [{"id": "a", "first_response": "1h"}, {"id": "a", "resolution": "1d"}]}
        )


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ValidationError):
        SlaConfig.model_validate({"policies": [{"id": "a", "first_reponse": "1h"}]})


def test_the_first_matching_policy_wins() -> None:
    config = SlaConfig.model_validate(
        {
            "policies": [
                {"id": "vip", "when": {"tags": ["vip"]}, "first_response": "15m"},
                {"id": "x-public", "when": {"channels": ["x"], "public": True}, "first_response": "30m"},
                {"id": "urgent", "when": {"priorities": ["urgent", "high"]}, "first_response": "20m"},
                {"id": "any", "first_response": "4h"},
            ]
        }
    )

    def conv(**fields: Any) -> Conversation:
        base: dict[str, Any] = {
            "id": "c",
            "channel": Channel.X,
            "account_id": "a",
            "contact_id": "u",
            "created_at": datetime.now(UTC),
        }
        return Conversation(**{**base, **fields})

    def chosen(**fields: Any) -> str | None:
        found = config.policy_for(conv(**fields))
        return found.id if found else None

    assert chosen(tags=["vip"], public=True) == "vip"
    assert chosen(public=True) == "x-public"
    assert chosen(public=False, priority="high") == "urgent"
    assert chosen(public=False) == "any"


def test_references_to_calendars_and_recipients_are_checked_against_the_document() -> None:
    config = SlaConfig.model_validate(
        {
            "policies": [
                {"id": "a", "calendar": "support", "first_response": "1h"},
                {"id": "b", "resolution": "1d"},
            ]
        }
    )
    problems = reference_problems(config, calendars=set(), ops_recipients=[])
    assert any("no calendar named 'support'" in p for p in problems)
    assert any("sla.policies.1 (b): nobody receives the warning" in p for p in problems)
    assert reference_problems(config, calendars={"support"}, ops_recipients=["ops@example.com"]) == []


def test_the_link_must_name_the_conversation() -> None:
    with pytest.raises(ValidationError, match="conversation_id"):
        SlaConfig.model_validate({"link": "https://desk.example.com/"})


def test_the_link_may_use_no_other_placeholder() -> None:
    with pytest.raises(ValidationError, match="only use"):
        SlaConfig.model_validate({"link": "https://desk.example.com/{team}/{conversation_id}"})


def test_the_document_rejects_sla_policies_naming_missing_calendars_or_nobody() -> None:
    from carehooks.config.loader import ConfigError, parse_document

    text = """
sla:
  policies:
    - {id: office, calendar: office-hours, first_response: 1h}
"""
    with pytest.raises(ConfigError) as caught:
        parse_document(text)
    reasons = " ".join(reason for _, reason in caught.value.errors)
    assert "no calendar named 'office-hours'" in reasons
    assert "nobody receives the warning" in reasons


def test_ops_recipients_are_the_last_fallback() -> None:
    from carehooks.config.loader import parse_document
    from carehooks.sla.current import setup_from

    document = parse_document(
        """
calendars: {office: {timezone: Europe/Paris, hours: {mon: ["09:00-17:00"]}}}
ops: {recipients: [ops@example.com]}
sla:
  policies:
    - {id: office, calendar: office, first_response: 1h}
"""
    )
    setup = setup_from(document.sla, document.calendars, document.ops.recipients)
    ladder = setup.config.ladder(setup.config.policies[0], Metric.FIRST_RESPONSE)
    assert {s.recipients for s in ladder} == {("ops@example.com",)}
    assert set(setup.calendars) == {"office"}
