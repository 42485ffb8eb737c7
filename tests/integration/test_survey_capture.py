"""Capturing answers through the real path: signed Meta webhook → queue → processor → store."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from carehooks import clock
from carehooks.clock import to_epoch_ms
from carehooks.config.surveys import LowScoreConfig, SurveyConfig
from carehooks.domain.models import Conversation
from carehooks.store import Store
from carehooks.surveys.dispatch import dispatch_surveys
from carehooks.wiring.store import get_store
from tests.integration.conftest import Aws
from tests.integration.survey_support import FakeSender, resolve, use_survey_config
from tests.integration.test_meta_end_to_end import post_meta, process

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PAGE, PSID = "112233445566778", "7318845612093471"
CONFIG = SurveyConfig(delay_minutes=60, capture_window_hours=72, low_score=LowScoreConfig(threshold=2))


def messenger(aws: Aws, at: datetime, text: str, quick_reply: str | None = None) -> None:
    """The customer sends ``text`` at ``at`` (a signed webhook, then the processor runs at ``at``)."""
    message: dict[str, Any] = {"mid": f"m_{to_epoch_ms(at)}", "text": text}
    if quick_reply:
        message["quick_reply"] = {"payload": quick_reply}
    ms = to_epoch_ms(at)
    body = {
        "object": "page",
        "entry": [
            {
                "id": PAGE,
                "time": ms,
                "messaging": [
                    {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": ms, "message": message}
                ],
            }
        ],
    }
    with clock.frozen(at):
        assert post_meta(json.dumps(body).encode())["statusCode"] == 200
        assert process(aws) == {"batchItemFailures": []}


@pytest.fixture
def store(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Store:
    use_survey_config(monkeypatch, CONFIG)
    return get_store()


def latest(store: Store) -> Conversation:
    conv = store.latest_conversation("messenger", PAGE, PSID)
    assert conv is not None
    return conv


def surveyed_conversation(aws: Aws, store: Store, agent: str = "agent-ann") -> Conversation:
    """A conversation handled by ``agent``, resolved at 09:10 and surveyed at 10:10."""
    messenger(aws, T0, "where is my order? #1234")
    conv = latest(store)
    with clock.frozen(T0 + timedelta(minutes=5)):
        store.save_conversation(replace(conv, assignee=agent))
        resolve(store, conv.id, T0 + timedelta(minutes=10))
    with clock.frozen(T0 + timedelta(minutes=70)):
        report = dispatch_surveys(store, T0 + timedelta(minutes=70), CONFIG, FakeSender(), lambda c, e: None)
    assert report.sent == 1
    return latest(store)


def test_a_reply_of_5_is_recorded_and_the_conversation_stays_resolved(aws: Aws, store: Store) -> None:
    conv = surveyed_conversation(aws, store)
    # When the customer replies "5" twenty minutes after the survey
    messenger(aws, T0 + timedelta(minutes=90), "5")
    # Then CSAT 5 is recorded with the conversation's agent, and nothing reopened
    after = latest(store)
    assert after.id == conv.id
    assert after.status == "resolved"
    assert after.csat is not None
    assert after.csat["score"] == 5
    assert after.csat["comment"] is None
    assert after.csat["agent"] == "agent-ann"
    assert after.csat["via"] == "message"
    assert "reopened_at" not in after.extra
    # And the rating is stored as a message of the conversation
    assert [m.text for m in store.messages(after)][-1] == "5"


def test_a_following_free_text_message_is_the_comment(aws: Aws, store: Store) -> None:
    surveyed_conversation(aws, store)
    messenger(aws, T0 + timedelta(minutes=90), "4")
    messenger(aws, T0 + timedelta(minutes=91), "Quick and friendly, thanks!")
    after = latest(store)
    assert after.status == "resolved"
    assert after.csat is not None
    assert after.csat["score"] == 4
    assert after.csat["comment"] == "Quick and friendly, thanks!"
    # A further message is a new request again: it reopens the conversation
    messenger(aws, T0 + timedelta(minutes=95), "Actually, one more question")
    assert latest(store).status == "open"


def test_a_quick_reply_tap_is_a_rating(aws: Aws, store: Store) -> None:
    surveyed_conversation(aws, store)
    messenger(aws, T0 + timedelta(minutes=90), "5 ⭐ Excellent", quick_reply="CSAT_5")
    assert (latest(store).csat or {})["score"] == 5


def test_the_first_rating_counts(aws: Aws, store: Store) -> None:
    surveyed_conversation(aws, store)
    messenger(aws, T0 + timedelta(minutes=90), "3")
    messenger(aws, T0 + timedelta(minutes=91), "5")
    after = latest(store)
    assert after.status == "resolved"
    assert (after.csat or {})["score"] == 3


def test_a_rating_after_the_capture_window_is_an_ordinary_message(aws: Aws, store: Store) -> None:
    conv = surveyed_conversation(aws, store)
    # 73 hours after the survey: outside the capture window and the 24 h reopen window
    messenger(aws, T0 + timedelta(hours=74), "5")
    after = latest(store)
    assert after.id != conv.id
    stored = store.get_conversation(conv.id)
    assert stored is not None
    assert stored.csat is None


def test_text_without_a_survey_reopens_as_before(aws: Aws, store: Store) -> None:
    messenger(aws, T0, "where is my order?")
    conv = latest(store)
    with clock.frozen(T0 + timedelta(minutes=10)):
        resolve(store, conv.id, T0 + timedelta(minutes=10))
    # Before the survey went out, even a "5" is an ordinary message: it reopens
    messenger(aws, T0 + timedelta(minutes=20), "5")
    after = latest(store)
    assert after.status == "open"
    assert after.csat is None


def test_a_low_score_tags_the_conversation_and_alerts_once(
    aws: Aws, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    alerts: list[tuple[str, int]] = []
    from carehooks.surveys import alerts as alerts_module

    monkeypatch.setattr(
        alerts_module, "email_ops", lambda conv, config: alerts.append((conv.id, conv.csat["score"]))
    )
    conv = surveyed_conversation(aws, store)
    messenger(aws, T0 + timedelta(minutes=90), "2")
    messenger(aws, T0 + timedelta(minutes=91), "1")
    after = latest(store)
    assert "csat-low" in after.tags
    assert after.status == "resolved"
    assert alerts == [(conv.id, 2)]


def test_a_failed_alert_keeps_the_rating_and_gives_the_claim_back(
    aws: Aws, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from carehooks.surveys import alerts as alerts_module

    def broken(conv: Conversation, config: SurveyConfig) -> None:
        raise RuntimeError("SES is down")

    monkeypatch.setattr(alerts_module, "email_ops", broken)
    conv = surveyed_conversation(aws, store)
    messenger(aws, T0 + timedelta(minutes=90), "1")
    after = latest(store)
    assert (after.csat or {})["score"] == 1
    assert [i for i in aws.items("CLAIM") if i["pk"]["S"] == f"CLAIM#csat-alert#{conv.id}"] == []


def test_the_alert_email_goes_to_ops_through_ses(
    aws: Aws, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    boto3.client("ses").verify_email_identity(EmailAddress="carehooks@example.com")
    use_survey_config(
        monkeypatch, CONFIG.model_copy(update={"low_score": LowScoreConfig(recipients=["ops@example.com"])})
    )
    surveyed_conversation(aws, store)
    messenger(aws, T0 + timedelta(minutes=90), "2")
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    sent = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages
    assert len(sent) == 1
    raw = sent[0].raw_data
    assert "Low CSAT 2/5 on messenger" in raw
    assert "ops@example.com" in sent[0].destinations


def test_a_redelivered_old_message_never_becomes_the_comment(aws: Aws, store: Store) -> None:
    from carehooks.domain.models import Channel, Direction, MessageEvent
    from carehooks.inbound.processor import ProcessResult, _store_message
    from carehooks.wiring.inbound import inbound

    messenger(aws, T0 - timedelta(minutes=2), "hello?")
    surveyed_conversation(aws, store)  # its first message, at T0, is the conversation's second
    messenger(aws, T0 + timedelta(minutes=90), "5")
    # Meta redelivers the T0 message hours later (past the queue's 5-minute dedup): the processor
    # sees a duplicate and resumes its after-store steps
    again = MessageEvent(
        channel=Channel.MESSENGER,
        account_id=PAGE,
        contact_id=PSID,
        platform_message_id=f"m_{to_epoch_ms(T0)}",
        sent_at=T0,
        direction=Direction.IN,
        text="where is my order? #1234",
    )
    result = ProcessResult()
    with clock.frozen(T0 + timedelta(hours=3)):
        _store_message(again, inbound(store), result)
    assert result.duplicates == 1
    after = latest(store)
    assert after.csat is not None
    assert after.csat["score"] == 5
    assert after.csat["comment"] is None
    assert after.status == "resolved"


def test_a_comment_sent_before_the_rating_was_processed_still_counts(aws: Aws, store: Store) -> None:
    surveyed_conversation(aws, store)
    # Both sent within a second; the comment's platform time is after the rating's
    messenger(aws, T0 + timedelta(minutes=90), "4")
    messenger(aws, T0 + timedelta(minutes=90, milliseconds=800), "very helpful")
    assert (latest(store).csat or {})["comment"] == "very helpful"
