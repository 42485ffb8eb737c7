"""What the survey says on each channel (pure planning)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carehooks.config.surveys import SurveyConfig, SurveyTemplate, SurveyTexts
from carehooks.domain.models import Channel, Conversation
from carehooks.surveys.message import plan_survey

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def conv(channel: Channel, last_inbound_hours_ago: float = 1, **extra: object) -> Conversation:
    return Conversation(
        id="01JCONV",
        channel=channel,
        account_id="a",
        contact_id="c",
        created_at=NOW - timedelta(days=1),
        status="resolved",
        resolved_at=NOW - timedelta(hours=1),
        last_inbound_at=NOW - timedelta(hours=last_inbound_hours_ago),
        contact_name="Sheena",
        extra=dict(extra),
    )


@pytest.mark.parametrize(
    "channel", [Channel.MESSENGER, Channel.INSTAGRAM, Channel.WHATSAPP, Channel.TELEGRAM]
)
def test_platforms_with_native_choices_get_tappable_answers(channel: Channel) -> None:
    plan = plan_survey(conv(channel), SurveyConfig(), NOW, link="https://x/survey/t")
    assert plan.message is not None
    assert plan.via == "message"
    assert plan.message.text == SurveyTexts().question
    assert [c.title for c in plan.message.choices] == [
        "5 ⭐ Excellent",
        "4 ⭐ Good",
        "3 ⭐ Okay",
        "2 ⭐ Poor",
        "1 ⭐ Very poor",
    ]
    assert all(len(c.title) <= 20 for c in plan.message.choices)


@pytest.mark.parametrize("channel", [Channel.SMS, Channel.TWILIO_WHATSAPP, Channel.X])
def test_text_only_channels_get_a_reply_hint_and_the_link(channel: Channel) -> None:
    plan = plan_survey(conv(channel), SurveyConfig(), NOW, link="https://x/survey/t")
    assert plan.message is not None
    assert plan.message.choices == ()
    assert plan.message.text.splitlines() == [
        SurveyTexts().question,
        SurveyTexts().reply_hint,
        "Or answer here: https://x/survey/t",
    ]


def test_a_long_label_falls_back_to_the_bare_score() -> None:
    labels = {5: "Absolutely wonderful", 4: "Good", 3: "Okay", 2: "Poor", 1: "Bad"}
    config = SurveyConfig(texts={"en": SurveyTexts(labels=labels)})
    plan = plan_survey(conv(Channel.MESSENGER), config, NOW, link=None)
    assert plan.message is not None
    assert plan.message.choices[0].title == "5 ⭐"


def test_the_conversation_language_picks_the_texts() -> None:
    config = SurveyConfig(texts={"en": SurveyTexts(), "es": SurveyTexts(question="¿Qué tal?")})
    plan = plan_survey(conv(Channel.TELEGRAM, language="es"), config, NOW, link=None)
    assert plan.message is not None
    assert plan.message.text == "¿Qué tal?"


def test_twilio_whatsapp_outside_the_window_uses_its_content_template() -> None:
    config = SurveyConfig(
        templates={
            Channel.TWILIO_WHATSAPP: SurveyTemplate(
                name="HXb5b62575e6e4ff6129ad7c8efe1f983e", parameters=["{contact_name}", "{link}"]
            )
        }
    )
    plan = plan_survey(conv(Channel.TWILIO_WHATSAPP, last_inbound_hours_ago=30), config, NOW, link="L")
    assert plan.message is not None
    assert plan.via == "template"
    assert plan.message.template is not None
    assert plan.message.template.parameters == ("Sheena", "L")


def test_a_template_is_never_used_on_a_channel_without_templates() -> None:
    config = SurveyConfig(templates={Channel.MESSENGER: SurveyTemplate(name="nope")})
    plan = plan_survey(conv(Channel.MESSENGER, last_inbound_hours_ago=30), config, NOW, link=None)
    assert plan.message is None
    assert plan.skip_reason is not None
    assert plan.skip_reason.startswith(
        "outside the 24-hour messaging window (the customer last wrote 30 hours"
    )


def test_never_having_written_means_no_window() -> None:
    c = conv(Channel.WHATSAPP)
    c.last_inbound_at = None
    plan = plan_survey(c, SurveyConfig(), NOW, link=None)
    assert plan.skip_reason is not None
    assert plan.skip_reason == (
        "the customer has not written on this channel yet, so no messaging window is open; "
        "no survey template is configured for whatsapp"
    )
