"""Survey dispatch under moto with a moved clock: at the delay, once, on the right channel, or skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import responses

from carehooks import clock
from carehooks.config.surveys import SurveyConfig, SurveyTemplate
from carehooks.domain.models import Channel
from carehooks.outbound.models import RateLimitedError, SendResult
from carehooks.store import Store, keys
from carehooks.surveys.dispatch import dispatch_surveys
from carehooks.surveys.policy import SURVEY_ATTR
from carehooks.wiring.store import get_store
from tests.integration.conftest import Aws
from tests.integration.survey_support import (
    FakeSender,
    customer_writes,
    resolve,
    use_survey_config,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CONFIG = SurveyConfig(delay_minutes=60, cooldown_days=30)


def no_link(conversation_id: str, expires_at: datetime) -> str | None:
    return None


def run(store: Store, at: datetime, sender: FakeSender, config: SurveyConfig = CONFIG) -> dict[str, object]:
    with clock.frozen(at):
        return dispatch_surveys(store, at, config, sender, link_for=no_link).as_dict()


def due_index(aws: Aws) -> list[str]:
    """What the BySurveyDue index holds (the conversation ids whose survey is pending), in every shard."""
    items = [
        item
        for partition in keys.survey_due_partitions()
        for item in aws.dynamodb.query(
            TableName="carehooks-test",
            IndexName=keys.BY_SURVEY_DUE_INDEX,
            KeyConditionExpression="survey_due_pk = :p",
            ExpressionAttributeValues={":p": {"S": partition}},
        )["Items"]
    ]
    return [i["survey_due_at"]["S"].split("#")[1] for i in items]


@pytest.fixture
def store(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Store:
    use_survey_config(monkeypatch, CONFIG)
    return get_store()


def resolved_conversation(store: Store, channel: Channel = Channel.MESSENGER, contact: str = "psid-1") -> str:
    with clock.frozen(T0):
        conv = customer_writes(store, T0, channel=channel, contact=contact)
    with clock.frozen(T0 + timedelta(minutes=10)):
        resolve(store, conv.id, T0 + timedelta(minutes=10))
    return conv.id


def test_a_resolved_conversation_gets_one_survey_at_the_delay(aws: Aws, store: Store) -> None:
    # Given a conversation resolved at 09:10 with a one-hour delay
    conv_id = resolved_conversation(store)
    assert due_index(aws) == [conv_id]
    sender = FakeSender()
    # When dispatch runs a minute before the delay, at the delay, and again later
    assert run(store, T0 + timedelta(minutes=69), sender)["sent"] == 0
    assert run(store, T0 + timedelta(minutes=70), sender)["sent"] == 1
    assert run(store, T0 + timedelta(minutes=71), sender)["sent"] == 0
    # Then exactly one survey went out, in-channel with native choices, and nothing is due any more
    assert len(sender.sent) == 1
    conv, message = sender.sent[0]
    assert conv.id == conv_id
    assert message.kind == "survey"
    assert message.author == "carehooks"
    assert message.origin_tag == f"survey:{conv_id}"
    assert [c.id for c in message.choices] == ["csat_5", "csat_4", "csat_3", "csat_2", "csat_1"]
    assert message.template is None
    assert due_index(aws) == []
    stored = store.get_conversation(conv_id)
    assert stored is not None
    assert stored.extra[SURVEY_ATTR]["status"] == "sent"
    assert stored.extra[SURVEY_ATTR]["message_id"] == "out-1"
    assert stored.extra[SURVEY_ATTR]["capture_until"] == "2026-03-05T10:10:00.000Z"
    assert stored.status == "resolved"


def test_a_run_working_from_a_stale_read_does_not_send_again(aws: Aws, store: Store) -> None:
    from carehooks.surveys.dispatch import _dispatch_one

    conv_id = resolved_conversation(store)
    at = T0 + timedelta(hours=2)
    # Given a second run that read the conversation while it was still due
    stale = store.get_conversation(conv_id)
    assert stale is not None
    first, second = FakeSender(), FakeSender()
    # When the first run sends the survey and the second one then works from its stale copy
    run(store, at, first)
    with clock.frozen(at):
        outcome = _dispatch_one(store, stale, at, CONFIG, second, no_link)
    # Then the claim stops the second one, which only applies the recorded outcome
    assert outcome == "recovered"
    assert len(first.sent) == 1
    assert second.sent == []


def test_reopening_before_the_delay_cancels_the_survey(aws: Aws, store: Store) -> None:
    conv_id = resolved_conversation(store)
    # When the customer writes again 20 minutes after resolution (within the reopen window)
    with clock.frozen(T0 + timedelta(minutes=30)):
        reopened = customer_writes(store, T0 + timedelta(minutes=30), text="still not here")
    assert reopened.id == conv_id
    assert reopened.status == "open"
    assert due_index(aws) == []
    sender = FakeSender()
    assert run(store, T0 + timedelta(hours=3), sender)["due"] == 0
    assert sender.sent == []


def test_resolving_again_after_a_reopen_schedules_from_the_new_resolution(aws: Aws, store: Store) -> None:
    conv_id = resolved_conversation(store)
    with clock.frozen(T0 + timedelta(minutes=30)):
        customer_writes(store, T0 + timedelta(minutes=30), text="one more thing")
        resolve(store, conv_id, T0 + timedelta(minutes=40))
    sender = FakeSender()
    assert run(store, T0 + timedelta(minutes=99), sender)["sent"] == 0
    assert run(store, T0 + timedelta(minutes=100), sender)["sent"] == 1


def test_outside_the_messenger_window_the_survey_is_skipped_with_the_reason(
    aws: Aws, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a survey due 30 hours after the customer's last message
    late = SurveyConfig(delay_minutes=29 * 60 + 50)
    use_survey_config(monkeypatch, late)
    conv_id = resolved_conversation(store)
    sender = FakeSender()
    report = run(store, T0 + timedelta(hours=30), sender, late)
    # Then nothing is sent and the reason is recorded on the conversation
    assert sender.sent == []
    assert report["sent"] == 0
    stored = store.get_conversation(conv_id)
    assert stored is not None
    survey = stored.extra[SURVEY_ATTR]
    assert survey["status"] == "skipped"
    assert survey["reason"].startswith("outside the 24-hour messaging window")
    assert "only a person's reply may be sent" in survey["reason"]
    assert due_index(aws) == []
    # And the customer was not surveyed, so the cooldown was given back
    assert [i["pk"]["S"] for i in aws.items("CLAIM")] == [f"CLAIM#survey#{conv_id}"]


def test_outside_the_whatsapp_window_a_configured_template_is_sent(
    aws: Aws, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = SurveyConfig(
        delay_minutes=26 * 60,
        templates={Channel.WHATSAPP: SurveyTemplate(name="csat_survey", parameters=["{contact_name}"])},
    )
    use_survey_config(monkeypatch, config)
    conv_id = resolved_conversation(store, channel=Channel.WHATSAPP)
    sender = FakeSender()
    run(store, T0 + timedelta(hours=27), sender, config)
    assert len(sender.sent) == 1
    message = sender.sent[0][1]
    assert message.template is not None
    assert message.template.name == "csat_survey"
    assert message.template.parameters == ("there",)
    stored = store.get_conversation(conv_id)
    assert stored is not None
    assert stored.extra[SURVEY_ATTR]["via"] == "template"


def test_a_twilio_whatsapp_template_whose_link_is_missing_is_skipped_never_sent(
    aws: Aws, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a Twilio WhatsApp survey template that carries the survey link, and no link to give it
    from carehooks.delivery.send import deliver
    from carehooks.store.sends import attempts

    config = SurveyConfig(
        delay_minutes=26 * 60,
        templates={
            Channel.TWILIO_WHATSAPP: SurveyTemplate(name="HXb5b6", parameters=["{contact_name}", "{link}"])
        },
    )
    use_survey_config(monkeypatch, config)
    conv_id = resolved_conversation(store, channel=Channel.TWILIO_WHATSAPP, contact="+14155550100")
    # When the survey is due outside the window, sent through the real deliver() with Twilio recorded
    with responses.RequestsMock(assert_all_requests_are_fired=False) as twilio:
        with clock.frozen(T0 + timedelta(hours=27)):
            dispatch_surveys(store, T0 + timedelta(hours=27), config, deliver, link_for=no_link)
        # Then Twilio is never called with an empty ContentVariables value (error 21656) ...
        assert len(twilio.calls) == 0
    # ... and the send log and the survey say why
    (logged,) = attempts(store, conv_id)
    assert logged.status == "skipped"
    assert "variable 2 empty" in logged.reason
    stored = store.get_conversation(conv_id)
    assert stored is not None
    assert stored.extra[SURVEY_ATTR]["status"] == "skipped"
    assert "21656" in stored.extra[SURVEY_ATTR]["reason"]


def test_outside_the_whatsapp_window_without_a_template_the_survey_is_skipped(
    aws: Aws, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = SurveyConfig(delay_minutes=26 * 60)
    use_survey_config(monkeypatch, config)
    conv_id = resolved_conversation(store, channel=Channel.WHATSAPP)
    sender = FakeSender()
    run(store, T0 + timedelta(hours=27), sender, config)
    assert sender.sent == []
    stored = store.get_conversation(conv_id)
    assert stored is not None
    assert "no survey template is configured for whatsapp" in stored.extra[SURVEY_ATTR]["reason"]


def test_sms_gets_a_reply_hint_and_the_signed_link(aws: Aws, store: Store) -> None:
    resolved_conversation(store, channel=Channel.SMS, contact="+14155550100")
    sender = FakeSender()
    with clock.frozen(T0 + timedelta(hours=2)):
        dispatch_surveys(
            store,
            T0 + timedelta(hours=2),
            CONFIG,
            sender,
            link_for=lambda cid, exp: f"https://care.example.com/survey/tok-{cid}",
        )
    message = sender.sent[0][1]
    assert message.choices == ()
    assert "Reply with a number from 1 (very poor) to 5 (excellent)." in message.text
    assert "https://care.example.com/survey/tok-" in message.text


def test_a_customer_surveyed_recently_is_not_asked_again(aws: Aws, store: Store) -> None:
    sender = FakeSender()
    first = resolved_conversation(store)
    run(store, T0 + timedelta(hours=2), sender)
    # Given a new conversation of the same customer, resolved three days later
    start = T0 + timedelta(days=3)
    with clock.frozen(start):
        second = customer_writes(store, start, text="another question")
        resolve(store, second.id, start + timedelta(minutes=5))
    assert second.id != first
    run(store, start + timedelta(hours=2), sender)
    assert len(sender.sent) == 1
    stored = store.get_conversation(second.id)
    assert stored is not None
    assert stored.extra[SURVEY_ATTR] == {
        "at": "2026-03-05T11:00:00.000Z",
        "status": "skipped",
        "reason": "the customer was asked for a rating in the last 30 days",
    }


def test_a_rate_limited_send_is_retried_next_run_then_given_up(aws: Aws, store: Store) -> None:
    conv_id = resolved_conversation(store, channel=Channel.TELEGRAM, contact="1111111")
    sender = FakeSender(answer=RateLimitedError("Too many requests", platform_code="613"))
    assert run(store, T0 + timedelta(hours=2), sender)["retry_later"] == 1
    assert due_index(aws) == [conv_id]
    assert run(store, T0 + timedelta(hours=2, minutes=1), sender)["retry_later"] == 1
    # After the give-up time (24 h after due) it is recorded as failed and leaves the index
    run(store, T0 + timedelta(hours=25, minutes=11), sender)
    assert len(sender.sent) == 3
    stored = store.get_conversation(conv_id)
    assert stored is not None
    assert stored.extra[SURVEY_ATTR]["status"] == "failed"
    assert stored.extra[SURVEY_ATTR]["error_class"] == "rate_limited"
    assert due_index(aws) == []


def test_a_platform_refusal_is_recorded_and_never_retried(aws: Aws, store: Store) -> None:
    conv_id = resolved_conversation(store)
    sender = FakeSender(
        answer=SendResult(status="skipped", reason="the customer blocked the page", error_class="permanent")
    )
    run(store, T0 + timedelta(hours=2), sender)
    run(store, T0 + timedelta(hours=3), sender)
    assert len(sender.sent) == 1
    stored = store.get_conversation(conv_id)
    assert stored is not None
    assert stored.extra[SURVEY_ATTR]["reason"] == "the customer blocked the page"


def test_a_run_that_died_after_claiming_never_sends_again(aws: Aws, store: Store) -> None:
    conv_id = resolved_conversation(store)
    at = T0 + timedelta(hours=2)
    # Given a claim taken by a run that stopped before it recorded anything
    assert store.claim("survey", conv_id, at, timedelta(days=90))
    sender = FakeSender()
    # When the next run comes within the lease, it leaves it alone; after it, it closes it
    assert run(store, at + timedelta(minutes=1), sender)["due"] == 1
    assert due_index(aws) == [conv_id]
    run(store, at + timedelta(minutes=20), sender)
    assert sender.sent == []
    stored = store.get_conversation(conv_id)
    assert stored is not None
    assert stored.extra[SURVEY_ATTR]["status"] == "unknown"
    assert due_index(aws) == []


def test_public_x_conversations_never_get_a_survey_marker(aws: Aws, store: Store) -> None:
    with clock.frozen(T0):
        conv = customer_writes(store, T0, channel=Channel.X, contact="272953809", public=True)
        resolve(store, conv.id, T0 + timedelta(minutes=5))
    assert due_index(aws) == []


def test_a_changed_configuration_clears_a_stale_marker(
    aws: Aws, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    conv_id = resolved_conversation(store)
    assert due_index(aws) == [conv_id]
    # When messenger is taken off the survey channels after the marker was written
    off = SurveyConfig(channels=[Channel.WHATSAPP])
    use_survey_config(monkeypatch, off)
    sender = FakeSender()
    run(store, T0 + timedelta(hours=2), sender, off)
    assert sender.sent == []
    assert due_index(aws) == []
