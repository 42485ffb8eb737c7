"""Who is due a survey and when: the pure policy and the deriver that writes the due marker."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from carehooks.config.surveys import SurveyConfig, SurveyTexts
from carehooks.domain.models import Channel, Conversation
from carehooks.store import keys
from carehooks.store.items import conversation_item
from carehooks.surveys.due import survey_deriver
from carehooks.surveys.policy import ineligible_reason, sampled, survey_due_at, survey_overview

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def resolved(**changes: object) -> Conversation:
    conv = Conversation(
        id="01JCONVERSATION0000000000A",
        channel=Channel.MESSENGER,
        account_id="page-1",
        contact_id="psid-1",
        created_at=T0,
        status="resolved",
        resolved_at=T0 + timedelta(hours=1),
        last_inbound_at=T0,
    )
    return replace(conv, **changes)  # type: ignore[arg-type]


def test_a_resolved_conversation_is_due_its_survey_after_the_delay() -> None:
    assert survey_due_at(resolved(), SurveyConfig(delay_minutes=90)) == T0 + timedelta(hours=2, minutes=30)


@pytest.mark.parametrize("status", ["open", "pending"])
def test_an_unresolved_conversation_is_not_due_a_survey(status: str) -> None:
    assert survey_due_at(resolved(status=status), SurveyConfig()) is None


def test_a_conversation_already_surveyed_or_rated_is_not_due_again() -> None:
    assert survey_due_at(resolved(extra={"survey": {"status": "skipped"}}), SurveyConfig()) is None
    assert survey_due_at(resolved(csat={"score": 5, "comment": None}), SurveyConfig()) is None


@pytest.mark.parametrize(
    ("conv", "config", "reason"),
    [
        (resolved(), SurveyConfig(enabled=False), "surveys are disabled"),
        (resolved(), SurveyConfig(channels=[Channel.WHATSAPP]), "surveys are not sent on messenger"),
        (
            resolved(channel=Channel.X, public=True),
            SurveyConfig(),
            "public conversation: no in-thread survey",
        ),
        (resolved(tags=["billing"]), SurveyConfig(tags=["delivery"]), "no tag that gets surveys"),
        (resolved(tags=["spam"]), SurveyConfig(exclude_tags=["spam"]), "tagged to get no survey"),
        (resolved(), SurveyConfig(sample_rate=0), "not in the survey sample"),
    ],
)
def test_ineligible_conversations_say_why(conv: Conversation, config: SurveyConfig, reason: str) -> None:
    assert ineligible_reason(conv, config) == reason
    assert survey_due_at(conv, config) is None


def test_a_matching_tag_makes_a_conversation_eligible() -> None:
    assert ineligible_reason(resolved(tags=["delivery", "vip"]), SurveyConfig(tags=["delivery"])) is None


def test_sampling_is_deterministic_and_close_to_the_rate() -> None:
    ids = [f"conv-{i}" for i in range(4000)]
    first = [sampled(i, 0.25) for i in ids]
    assert first == [sampled(i, 0.25) for i in ids]
    assert 0.22 < sum(first) / len(ids) < 0.28


def test_the_deriver_writes_the_sparse_marker_for_a_due_survey() -> None:
    derived = survey_deriver(SurveyConfig)(resolved(), T0)
    item = conversation_item(derived)
    # One of the 16 shards of the survey due marker, chosen by the conversation id.
    assert item["survey_due_pk"] == keys.survey_due_pk(derived.id)
    assert item["survey_due_pk"].startswith("SURVEYDUE#")
    assert int(item["survey_due_pk"].split("#")[1]) in range(keys.SURVEY_DUE_SHARDS)
    assert item["survey_due_at"] == "2026-03-02T11:00:00.000Z#01JCONVERSATION0000000000A"


def test_the_overview_shows_the_outcome_and_when_a_pending_survey_is_due() -> None:
    assert survey_overview(resolved()) is None
    derived = survey_deriver(SurveyConfig)(resolved(), T0)
    assert survey_overview(derived) == {"due_at": "2026-03-02T11:00:00.000Z"}
    sent = {"status": "sent", "capture_until": "2026-03-03T11:00:00.000Z"}
    assert survey_overview(resolved(extra={"survey": sent})) == sent
    assert survey_overview(resolved(extra={"survey": "garbled"})) is None


def test_the_deriver_removes_the_marker_when_the_conversation_reopens() -> None:
    derive_survey_due = survey_deriver(SurveyConfig)
    marked = derive_survey_due(resolved(), T0)
    reopened = derive_survey_due(replace(marked, status="open", resolved_at=None), T0)
    item = conversation_item(reopened)
    assert "survey_due_pk" not in item
    assert "survey_due_at" not in item
    assert "survey_due_pk" in conversation_item(marked)  # the input is not mutated


def test_texts_follow_the_conversation_language_with_a_fallback() -> None:
    config = SurveyConfig(texts={"en": SurveyTexts(), "es": SurveyTexts(question="¿Qué tal lo hicimos?")})
    assert config.texts_for(resolved(extra={"language": "es-MX"})).question == "¿Qué tal lo hicimos?"
    assert config.texts_for(resolved(extra={"language": "de"})).question == SurveyTexts().question
    assert config.texts_for(resolved()).question == SurveyTexts().question


@pytest.mark.parametrize(
    "document",
    [
        {"delay_minutes": -1},
        {"sample_rate": 1.5},
        {"texts": {"es": {}}},
        {"texts": {"en": {"labels": {1: "a", 2: "b", 3: "c", 4: "d"}}}},
        {"texts": {"en": {"labels": {1: "a", 2: "b", 3: "c", 4: "d", 5: "far too long for a button"}}}},
        {"channels": ["fax"]},
        {"unknown": True},
    ],
)
def test_an_invalid_surveys_section_is_rejected(document: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SurveyConfig.model_validate(document)


def test_the_configuration_document_has_a_surveys_section_with_defaults() -> None:
    from carehooks.config.document import ConfigDocument

    document = ConfigDocument.model_validate({"surveys": {"delay_minutes": 5}})
    assert document.surveys.delay_minutes == 5
    assert ConfigDocument().surveys == SurveyConfig()


def test_the_deriver_never_blocks_a_write_when_the_configuration_is_unreadable() -> None:
    def broken() -> SurveyConfig:
        raise RuntimeError("SSM unreachable")

    conv = replace(resolved(), survey_due_at=T0)
    assert survey_deriver(broken)(conv, T0) is conv
