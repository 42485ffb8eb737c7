"""Messaging windows: 24 h for Meta and WhatsApp, HUMAN_AGENT to 7 days for people, templates outside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carehooks.channels.window import decide
from carehooks.domain.models import Channel
from carehooks.outbound.models import OutboundMessage, TemplateRef

NOW = datetime(2025, 11, 22, 12, 0, tzinfo=UTC)
BOT = OutboundMessage(text="Thanks, an agent will reply shortly.", kind="ack")
AGENT = OutboundMessage(text="Your order shipped.", kind="agent_reply", author="agent-7")
SURVEY = OutboundMessage(
    text="How did we do?", kind="survey", template=TemplateRef(name="csat_survey", parameters=("Sheena",))
)


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


@pytest.mark.parametrize(
    "channel", [Channel.MESSENGER, Channel.INSTAGRAM, Channel.WHATSAPP, Channel.TWILIO_WHATSAPP]
)
def test_inside_24_hours_anything_goes_out_normally(channel: Channel) -> None:
    assert decide(channel, ago(23.9), BOT, NOW).mode == "standard"
    assert decide(channel, ago(23.9), AGENT, NOW).allowed


@pytest.mark.parametrize("channel", [Channel.MESSENGER, Channel.INSTAGRAM])
def test_a_persons_reply_after_24_hours_uses_human_agent(channel: Channel) -> None:
    decision = decide(channel, ago(30), AGENT, NOW)
    assert (decision.allowed, decision.mode) == (True, "human_agent")


@pytest.mark.parametrize("channel", [Channel.MESSENGER, Channel.INSTAGRAM])
def test_automation_after_24_hours_is_skipped_with_a_reason(channel: Channel) -> None:
    decision = decide(channel, ago(30), BOT, NOW)
    assert not decision.allowed
    assert decision.reason is not None
    assert "24-hour" in decision.reason
    assert "HUMAN_AGENT" in decision.reason


def test_even_a_person_cannot_reply_on_messenger_after_7_days() -> None:
    decision = decide(Channel.MESSENGER, ago(24 * 7 + 1), AGENT, NOW)
    assert not decision.allowed
    assert decision.reason is not None
    assert "7 days" in decision.reason


@pytest.mark.parametrize("channel", [Channel.WHATSAPP, Channel.TWILIO_WHATSAPP])
def test_whatsapp_outside_24_hours_needs_a_template(channel: Channel) -> None:
    assert decide(channel, ago(25), SURVEY, NOW).mode == "template"
    refused = decide(channel, ago(25), AGENT, NOW)
    assert not refused.allowed
    assert refused.reason is not None
    assert "template" in refused.reason


def test_whatsapp_never_uses_human_agent() -> None:
    assert not decide(Channel.WHATSAPP, ago(30), AGENT, NOW).allowed


@pytest.mark.parametrize("channel", [Channel.X, Channel.TELEGRAM, Channel.SMS])
def test_x_telegram_and_sms_have_no_window(channel: Channel) -> None:
    decision = decide(channel, ago(24 * 365), BOT, NOW)
    assert (decision.allowed, decision.mode) == (True, "standard")
    assert decide(channel, None, BOT, NOW).allowed


def test_no_customer_message_means_no_window() -> None:
    assert not decide(Channel.MESSENGER, None, AGENT, NOW).allowed
    assert decide(Channel.WHATSAPP, None, SURVEY, NOW).mode == "template"


def test_the_window_boundary_is_exclusive() -> None:
    assert decide(Channel.WHATSAPP, ago(24), BOT, NOW).allowed is False
