"""The weekly digest: last week's figures and chart, emailed once, through the real store."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import boto3
import pytest
from PIL import Image

from carehooks import clock
from carehooks.config.document import OpsConfig
from carehooks.config.surveys import SurveyConfig
from carehooks.reports.digest import last_week, send_weekly_digest
from carehooks.store import Store
from carehooks.wiring.store import get_store
from tests.config_support import use_document
from tests.helpers import FakeContext, load_handler
from tests.integration.conftest import Aws
from tests.integration.survey_support import agent_replies, customer_writes, resolve, use_survey_config

MONDAY = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)
WEEK_START = datetime(2026, 3, 2, tzinfo=UTC)


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[EmailMessage, list[str]]] = []

    def __call__(self, message: EmailMessage, to: Sequence[str]) -> str:
        self.sent.append((message, list(to)))
        return f"ses-{len(self.sent)}"


@pytest.fixture
def store(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Store:
    use_survey_config(monkeypatch, SurveyConfig(enabled=False))
    store = get_store()
    for day in range(7):
        for n in range(day % 3 + 1):
            at = WEEK_START + timedelta(days=day, hours=9 + n)
            with clock.frozen(at):
                conv = customer_writes(store, at, contact=f"c-{day}-{n}")
                conv = agent_replies(store, conv, at + timedelta(minutes=10 * (n + 1)))
                conv = resolve(store, conv.id, at + timedelta(hours=2))
                store.save_conversation(
                    replace(
                        conv, tags=["delivery"], csat={"score": 5 - n, "comment": None, "agent": "agent-ann"}
                    )
                )
    return store


def png_pixels_vary(data: bytes) -> bool:
    """A PNG that is not one flat colour (matplotlib's, read with Pillow)."""
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    return colours is None or len(colours) > 3


def test_last_week_is_the_seven_days_before_this_monday() -> None:
    for now in (MONDAY, MONDAY + timedelta(days=3), MONDAY.replace(hour=0)):
        period = last_week(now)
        assert (period.start, period.end) == (WEEK_START, WEEK_START + timedelta(days=7))


def test_the_digest_has_the_figures_and_an_inline_chart(store: Store) -> None:
    outbox = Outbox()
    with clock.frozen(MONDAY):
        outcome = send_weekly_digest(store, MONDAY, ["ops@example.com"], outbox, "care@example.com")
    assert outcome.status == "sent"
    assert outcome.message_id == "ses-1"
    message, to = outbox.sent[0]
    assert to == ["ops@example.com"]
    assert message["Subject"] == (
        "Weekly care report 2026-03-02 to 2026-03-08 (UTC): 13 conversations, CSAT 4.38"
    )
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert "Conversations: 13 (previous week 0)" in text.get_content()
    assert "delivery: 13 / 0 / +13" in text.get_content()
    assert 'src="cid:daily-chart@carehooks"' in html.get_content()
    assert 'src="cid:heatmap@carehooks"' in html.get_content()
    images = [part for part in parsed.walk() if part.get_content_type() == "image/png"]
    assert [image["Content-ID"] for image in images] == ["<daily-chart@carehooks>", "<heatmap@carehooks>"]
    for image in images:
        assert png_pixels_vary(image.get_payload(decode=True))
    # The per-agent table. The fixture's replies are echoes typed in the platform's inbox (credited to
    # `platform-inbox`: first responses of 10 to 30 minutes), then assigned to agent-ann, who is rated.
    assert "agent-ann: 13 / 0 / - / - / - / 4.38 / -" in text.get_content()
    assert "platform-inbox: 13 / 13 / 10m / - / 100% / - / -" in text.get_content()
    assert "<td>agent-ann</td>" in html.get_content()


def test_the_digest_is_sent_once_per_week(store: Store) -> None:
    outbox = Outbox()
    with clock.frozen(MONDAY):
        send_weekly_digest(store, MONDAY, ["ops@example.com"], outbox, "care@example.com")
        again = send_weekly_digest(
            store, MONDAY + timedelta(minutes=5), ["ops@example.com"], outbox, "care@example.com"
        )
    assert again.status == "already_sent"
    assert len(outbox.sent) == 1


def test_a_failed_send_can_be_retried(store: Store) -> None:
    def broken(message: EmailMessage, to: Sequence[str]) -> str:
        raise RuntimeError("SES is down")

    with clock.frozen(MONDAY), pytest.raises(RuntimeError):
        send_weekly_digest(store, MONDAY, ["ops@example.com"], broken, "care@example.com")
    outbox = Outbox()
    with clock.frozen(MONDAY):
        assert (
            send_weekly_digest(store, MONDAY, ["ops@example.com"], outbox, "care@example.com").status
            == "sent"
        )


def test_without_recipients_nothing_is_sent(store: Store) -> None:
    outbox = Outbox()
    assert send_weekly_digest(store, MONDAY, [], outbox, "care@example.com").status == "no_recipients"
    assert outbox.sent == []


def test_the_handler_sends_through_ses(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # MAIL_FROM is the template's default sender; SES (moto) only sends from a verified identity.
    boto3.client("ses").verify_email_identity(EmailAddress="carehooks@example.com")
    handler = load_handler("weekly_digest")
    use_document(monkeypatch, ops=OpsConfig(recipients=["ops@example.com"]))
    with clock.frozen(MONDAY):
        result = handler.handler({}, FakeContext())
    assert result == {"status": "sent", "week": "2026-03-02"}
