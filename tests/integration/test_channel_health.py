"""ChannelHealthFunction: Meta subscriptions checked, re-subscribed, ops emailed once per problem."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
import responses

from carehooks.channels.meta.subscriptions import find_problem
from carehooks.outbound import http
from carehooks.reports.channel_health import check_channels
from carehooks.wiring.store import get_store
from tests.helpers import FakeContext, load_handler
from tests.integration.conftest import Aws

GRAPH = "https://graph.test/v25.0"
PAGE = "112233445566778"
WABA = "102290129340398"
APP = "1517776481860111"
NOW = datetime(2025, 11, 22, 9, 0, tzinfo=UTC)

HEALTHY_PAGE = {
    "data": [
        {
            "category": "Business",
            "link": "https://example.com/",
            "name": "carehooks",
            "id": APP,
            "subscribed_fields": ["messages", "message_echoes", "messaging_postbacks", "standby"],
        }
    ]
}


class Mailbox:
    def __init__(self) -> None:
        self.sent: list[tuple[list[str], str, str, str]] = []

    def __call__(self, to: Sequence[str], subject: str, html: str, text: str) -> str:
        self.sent.append((list(to), subject, html, text))
        return "msg-1"


@pytest.fixture
def meta(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[responses.RequestsMock]:
    monkeypatch.setenv("META_GRAPH_URL", GRAPH)
    monkeypatch.setenv("META_ACCESS_TOKEN", "meta-token")
    monkeypatch.setenv("META_PAGE_IDS", PAGE)
    monkeypatch.setenv("META_APP_ID", APP)
    monkeypatch.setenv("OPS_EMAIL", "ops@example.com, oncall@example.com")
    monkeypatch.setattr(http, "_sleep", lambda seconds: None)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_a_healthy_subscription_sends_nothing(meta: responses.RequestsMock) -> None:
    meta.get(f"{GRAPH}/{PAGE}/subscribed_apps", json=HEALTHY_PAGE)
    mailbox = Mailbox()
    report = check_channels(get_store(), NOW, mailer=mailbox)
    assert [c.ok for c in report.checks] == [True]
    assert mailbox.sent == []
    assert [c.method for c in (call.request for call in meta.calls)] == ["GET"]


def test_a_missing_subscription_is_resubscribed_and_emailed_once(meta: responses.RequestsMock) -> None:
    meta.get(f"{GRAPH}/{PAGE}/subscribed_apps", json={"data": []})
    meta.post(f"{GRAPH}/{PAGE}/subscribed_apps", json={"success": True})
    mailbox = Mailbox()
    report = check_channels(get_store(), NOW, mailer=mailbox)
    (problem,) = report.problems
    assert problem.resubscribed is True
    assert json.loads(meta.calls[1].request.body or b"{}") == {
        "subscribed_fields": "messages,message_echoes,messaging_postbacks"
    }
    ((to, subject, html, text),) = mailbox.sent
    assert to == ["ops@example.com", "oncall@example.com"]
    assert "subscription" in subject
    assert PAGE in text
    assert "Re-subscribed automatically" in html
    # The next run 15 minutes later finds it still missing: no second email.
    check_channels(get_store(), NOW + timedelta(minutes=15), mailer=mailbox)
    assert len(mailbox.sent) == 1


def test_after_recovery_a_new_failure_is_emailed_at_once(meta: responses.RequestsMock) -> None:
    mailbox = Mailbox()
    meta.get(f"{GRAPH}/{PAGE}/subscribed_apps", json={"data": []})
    meta.post(f"{GRAPH}/{PAGE}/subscribed_apps", json={"success": True})
    check_channels(get_store(), NOW, mailer=mailbox)
    meta.replace(responses.GET, f"{GRAPH}/{PAGE}/subscribed_apps", json=HEALTHY_PAGE)
    check_channels(get_store(), NOW + timedelta(minutes=15), mailer=mailbox)
    meta.replace(responses.GET, f"{GRAPH}/{PAGE}/subscribed_apps", json={"data": []})
    check_channels(get_store(), NOW + timedelta(minutes=30), mailer=mailbox)
    assert len(mailbox.sent) == 2


def test_an_expired_token_is_reported_as_a_problem(meta: responses.RequestsMock) -> None:
    meta.get(
        f"{GRAPH}/{PAGE}/subscribed_apps",
        status=400,
        json={"error": {"message": "Error validating access token", "code": 190}},
    )
    mailbox = Mailbox()
    (problem,) = check_channels(get_store(), NOW, mailer=mailbox).problems
    assert problem.problem is not None
    assert "invalid or expired" in problem.problem
    assert len(mailbox.sent) == 1


def test_a_failed_email_gives_the_claim_back_and_fails_the_run(meta: responses.RequestsMock) -> None:
    meta.get(f"{GRAPH}/{PAGE}/subscribed_apps", json={"data": []})
    meta.post(f"{GRAPH}/{PAGE}/subscribed_apps", status=400, json={"error": {"code": 200, "message": "perm"}})

    def broken(to: Sequence[str], subject: str, html: str, text: str) -> str:
        raise RuntimeError("SES down")

    with pytest.raises(RuntimeError):
        check_channels(get_store(), NOW, mailer=broken)
    mailbox = Mailbox()
    check_channels(get_store(), NOW + timedelta(minutes=15), mailer=mailbox)
    assert len(mailbox.sent) == 1
    assert "Re-subscribing failed" in mailbox.sent[0][3]


def test_whatsapp_business_accounts_are_checked_by_app_id(
    meta: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("META_PAGE_IDS", "")
    monkeypatch.setenv("META_WABA_IDS", WABA)
    meta.get(
        f"{GRAPH}/{WABA}/subscribed_apps",
        json={
            "data": [
                {
                    "whatsapp_business_api_data": {
                        "link": "https://example.com",
                        "name": "carehooks",
                        "id": APP,
                    }
                }
            ]
        },
    )
    report = check_channels(get_store(), NOW, mailer=Mailbox())
    assert [c.ok for c in report.checks] == [True]


def test_a_page_missing_required_fields_is_a_problem() -> None:
    answer = {"data": [{"id": APP, "subscribed_fields": ["messages"]}]}
    problem, fields = find_problem(answer, "page", APP)
    assert problem is not None
    assert "message_echoes" in problem
    assert fields == ("messages",)


def test_the_handler_emails_through_ses(
    meta: responses.RequestsMock, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    monkeypatch.setenv("MAIL_FROM", "carehooks@example.com")
    boto3.client("ses").verify_email_identity(EmailAddress="carehooks@example.com")
    meta.get(f"{GRAPH}/{PAGE}/subscribed_apps", json={"data": []})
    meta.post(f"{GRAPH}/{PAGE}/subscribed_apps", json={"success": True})
    from carehooks.notify.email import sesv2_client

    sesv2_client.cache_clear()
    result = load_handler("channel_health").handler({}, FakeContext())
    assert result["problems"] == 1
    backend = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"]
    assert len(backend.sent_messages) == 1
