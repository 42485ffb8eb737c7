"""Acknowledgements: templates and safe rendering, skip reasons, claims, cooldown, failure handling."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from carehooks.config.rules import check_template
from carehooks.domain.models import Channel, Conversation, Direction
from carehooks.outbound.models import OutboundMessage, PermanentError, RateLimitedError, SendResult
from carehooks.rules.acknowledge import (
    ACK_CLAIM,
    ACK_CONTACT_CLAIM,
    AckDraft,
    SendRetryError,
    acknowledge,
    draft,
    render,
    skip_reason,
)
from carehooks.rules.engine import AckPlan
from carehooks.store.memory import MemoryStore
from tests.rules_support import NOW, conversation, document, message

CALENDAR = {
    "timezone": "Europe/London",
    "hours": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
}
TEMPLATES: dict[str, Any] = {
    "default": {
        "in_hours": {"en": "Hi {contact_name}, we will reply shortly.", "fr": "Bonjour {contact_name}."},
        "out_of_hours": {"en": "Hi {contact_name}, we reopen {reopen}.", "fr": "Nous rouvrons {reopen}."},
        "channels": {"sms": {"in_hours": {"en": "Got it, thanks."}}},
    }
}
PLAN = AckPlan(rule="r", template="default", calendar=None)
LATE = NOW.replace(hour=22)  # Wednesday 23:00 in London


def config(**overrides: Any) -> Any:
    ack = {"cooldown_hours": 12, "templates": TEMPLATES, **overrides}
    return document(calendars={"support": CALENDAR}, defaults={"calendar": "support"}, acknowledgement=ack)


# -- rendering ------------------------------------------------------------------------------------------
def test_placeholders_are_substituted_and_nothing_else_is_interpreted() -> None:
    assert (
        render("Hi {contact_name}! {{literal}}", {"contact_name": "Ana {reopen}"})
        == "Hi Ana {reopen}! {literal}"
    )


def test_values_are_flattened_and_bounded() -> None:
    rendered = render("Hi {contact_name}.", {"contact_name": "Eve\n\u202eevil\x00" + "x" * 200})
    assert "\n" not in rendered
    assert "\u202e" not in rendered
    assert len(rendered) < 80


def test_an_empty_value_takes_its_leading_space_before_punctuation() -> None:
    assert render("Thanks {contact_name}, we got it.", {"contact_name": ""}) == "Thanks, we got it."


@pytest.mark.parametrize(
    "text", ["Hi {name}", "Hi {contact_name.__class__}", "Hi {0}", "Hi {", "Hi }", "   "]
)
def test_unknown_placeholders_and_stray_braces_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match=r"placeholder|unbalanced|empty"):
        check_template(text)


def test_a_template_with_an_unknown_placeholder_fails_validation_with_its_path() -> None:
    bad = {"default": {"in_hours": {"en": "Hi {nme}"}, "out_of_hours": {"en": "Bye"}}}
    with pytest.raises(ValidationError, match="unknown placeholder"):
        config(templates=bad)


# -- drafting -------------------------------------------------------------------------------------------
def test_in_hours_text_in_the_detected_language() -> None:
    ack = draft(config(), PLAN, conversation(contact_name="Ana Lopez"), "en", NOW)
    assert isinstance(ack, AckDraft)
    assert ack.in_hours
    assert ack.text == "Hi Ana, we will reply shortly."


def test_out_of_hours_text_says_when_the_team_is_back() -> None:
    ack = draft(config(), PLAN, conversation(contact_name="Ana"), "en", LATE)
    assert isinstance(ack, AckDraft)
    assert not ack.in_hours
    assert ack.text == "Hi Ana, we reopen Thursday 09:00."
    french = draft(config(), PLAN, conversation(), "fr", LATE)
    assert isinstance(french, AckDraft)
    assert french.text == "Nous rouvrons jeudi 09:00."


def test_regional_language_falls_back_to_its_base_then_the_default() -> None:
    fr = draft(config(), PLAN, conversation(), "fr-CA", NOW)
    de = draft(config(), PLAN, conversation(contact_name="Max"), "de", NOW)
    assert isinstance(fr, AckDraft)
    assert isinstance(de, AckDraft)
    assert (fr.language, de.language) == ("fr", "en")


def test_a_channel_override_wins_and_falls_back_per_hours() -> None:
    sms = conversation(channel=Channel.SMS)
    in_hours = draft(config(), PLAN, sms, "en", NOW)
    out_of_hours = draft(config(), PLAN, sms, "en", LATE)
    assert isinstance(in_hours, AckDraft)
    assert isinstance(out_of_hours, AckDraft)
    assert in_hours.text == "Got it, thanks."
    assert out_of_hours.text.startswith("Hi, we reopen")


def test_the_text_is_cut_to_the_channels_limit_counted_its_way() -> None:
    # 3000 emoji: 3000 code points, 6000 UTF-16 units. Telegram counts units (limit 4096), WhatsApp
    # code points (limit 4096): only Telegram cuts.
    emoji = "\U0001f600" * 3000
    templates = {"default": {"in_hours": {"en": emoji}, "out_of_hours": {"en": emoji}}}
    on_telegram = draft(config(templates=templates), PLAN, conversation(channel=Channel.TELEGRAM), "en", NOW)
    on_whatsapp = draft(config(templates=templates), PLAN, conversation(channel=Channel.WHATSAPP), "en", NOW)
    assert isinstance(on_telegram, AckDraft)
    assert isinstance(on_whatsapp, AckDraft)
    assert on_telegram.details["text_limit"] == "4096"
    assert len(on_telegram.text.encode("utf-16-le")) // 2 <= 4096
    assert on_whatsapp.text == emoji


def test_a_team_calendar_decides_hours_when_the_rule_names_none() -> None:
    from carehooks.rules.engine import Assignment

    doc = document(
        calendars={
            "support": CALENDAR,
            "always": {
                "hours": {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
            },
        },
        defaults={"calendar": "support"},
        teams=[{"id": "night", "calendar": "always"}],
        acknowledgement={"templates": TEMPLATES},
    )
    ack = draft(
        doc, PLAN, conversation(), "en", LATE, Assignment(agent=None, team="night", rule="r", reason="")
    )
    assert isinstance(ack, AckDraft)
    assert ack.in_hours


# -- skip reasons ---------------------------------------------------------------------------------------
def test_a_customer_message_in_the_window_may_be_acknowledged() -> None:
    assert skip_reason(message(), conversation(), NOW) is None


@pytest.mark.parametrize(
    ("msg", "conv", "standby", "expected"),
    [
        ({"direction": Direction.OUT}, {}, False, "echo"),
        ({"origin_tag": "ack:01J"}, {}, False, "carehooks' own"),
        ({}, {}, True, "standby"),
        ({}, {"status": "resolved"}, False, "resolved"),
        (
            {},
            {"last_responder": "alice", "last_outbound_at": NOW + timedelta(seconds=5)},
            False,
            "already replied",
        ),
        ({}, {"last_inbound_at": NOW - timedelta(days=2)}, False, "window"),
    ],
)
def test_never_acknowledge(msg: dict[str, Any], conv: dict[str, Any], standby: bool, expected: str) -> None:
    reason = skip_reason(message(**msg), conversation(**conv), NOW, standby=standby)
    assert reason is not None
    assert expected in reason


# -- the side effect ------------------------------------------------------------------------------------
CONVERSATION = "01JCONVERSATION0000000001"
CONTACT = "messenger#PAGE#PSID"


def held(store: MemoryStore, conversation_id: str = CONVERSATION) -> list[str]:
    """The acknowledgement claims held for a conversation and its customer (read through get_claim)."""
    return [
        kind
        for kind, scope in ((ACK_CLAIM, conversation_id), (ACK_CONTACT_CLAIM, CONTACT))
        if store.get_claim(kind, scope) is not None
    ]


def outcome_of(store: MemoryStore, conversation_id: str = CONVERSATION) -> Any:
    claim = store.get_claim(ACK_CLAIM, conversation_id)
    assert claim is not None
    return claim["outcome"]


@dataclass
class FakeDeliver:
    results: list[SendResult | Exception] = field(default_factory=list)
    sent: list[OutboundMessage] = field(default_factory=list)

    def __call__(
        self, conv: Conversation, outbound: OutboundMessage, store: Any, now: datetime
    ) -> SendResult:
        self.sent.append(outbound)
        result = (
            self.results.pop(0)
            if self.results
            else SendResult(status="sent", platform_message_id=f"mid.{len(self.sent)}")
        )
        if isinstance(result, Exception):
            raise result
        return result


def ack(store: MemoryStore, deliver: FakeDeliver, conv: Conversation | None = None, **kwargs: Any) -> Any:
    conv = conv or conversation(contact_name="Ana")
    return acknowledge(
        store,
        config(),
        PLAN,
        conv,
        message(conversation_id=conv.id),
        kwargs.pop("now", NOW),
        language="en",
        deliver=deliver,
        **kwargs,
    )


def test_sends_once_per_conversation() -> None:
    store, deliver = MemoryStore(), FakeDeliver()
    first = ack(store, deliver)
    second = ack(store, deliver)
    assert first.status == "sent"
    assert first.platform_message_id == "mid.1"
    assert second.status == "skipped"
    assert "already acknowledged" in second.reason
    assert len(deliver.sent) == 1
    sent = deliver.sent[0]
    assert (sent.kind, sent.author, sent.origin_tag) == ("ack", "carehooks", "ack:01JCONVERSATION0000000001")
    assert outcome_of(store) == "sent"


def test_cooldown_spans_the_customers_conversations() -> None:
    store, deliver = MemoryStore(), FakeDeliver()
    ack(store, deliver)
    other = conversation(id="01JOTHER00000000000000001")
    skipped = ack(store, deliver, other, now=NOW + timedelta(hours=1))
    assert skipped.status == "skipped"
    assert "cooldown" in skipped.reason
    # The second conversation's claim is given back: it was not acknowledged.
    assert held(store, other.id) == [ACK_CONTACT_CLAIM]  # the customer's cooldown is the first one's
    later = ack(store, deliver, other, now=NOW + timedelta(hours=13))
    assert later.status == "sent"


def test_a_retryable_failure_releases_both_claims_and_raises() -> None:
    store, deliver = MemoryStore(), FakeDeliver(results=[RateLimitedError("slow down")])
    with pytest.raises(RateLimitedError):
        ack(store, deliver)
    assert held(store) == []
    assert ack(store, deliver).status == "sent"


def test_a_retryable_send_result_releases_and_raises() -> None:
    store = MemoryStore()
    deliver = FakeDeliver(results=[SendResult(status="failed", reason="timeout", retryable=True)])
    with pytest.raises(SendRetryError):
        ack(store, deliver)
    assert held(store) == []


def test_an_unexpected_error_releases_the_claims() -> None:
    store, deliver = MemoryStore(), FakeDeliver(results=[RuntimeError("bug")])
    with pytest.raises(RuntimeError):
        ack(store, deliver)
    assert held(store) == []


def test_a_permanent_failure_is_recorded_and_not_retried() -> None:
    store, deliver = MemoryStore(), FakeDeliver(results=[PermanentError("the customer blocked the page")])
    outcome = ack(store, deliver)
    assert outcome.status == "failed"
    assert outcome.reason == "the customer blocked the page"
    assert outcome_of(store) == "failed"
    assert held(store) == [ACK_CLAIM]
    assert ack(store, deliver).status == "skipped"
    assert len(deliver.sent) == 1


def test_a_skipped_send_result_is_recorded_with_its_reason() -> None:
    store = MemoryStore()
    deliver = FakeDeliver(results=[SendResult(status="skipped", reason="outside the 24-hour window")])
    outcome = ack(store, deliver)
    assert (outcome.status, outcome.reason) == ("skipped", "outside the 24-hour window")


def test_a_skipped_message_claims_nothing() -> None:
    store, deliver = MemoryStore(), FakeDeliver()
    outcome = ack(store, deliver, standby=True)
    assert outcome.status == "skipped"
    assert held(store) == []
    assert deliver.sent == []
