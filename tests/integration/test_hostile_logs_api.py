"""Log hygiene, the rest of the flows: no secret, token or message text in any log line.

The agent API (replies typed by agents, a platform refusing one with an error body that echoes the text
and the token, a private reply, assign / tags / resolve, the JWT in the Authorization header), surveys
(dispatch, a rating and its free-text comment, the low-CSAT alert, the signed link page whose path is a
credential), the SLA monitor email, Meta acknowledgements inside the 24 h window, platform error bodies
and urllib3's retry warnings. Each test runs one flow through the real handlers and platform clients
(platforms stubbed at HTTP level, AWS under moto) and searches everything logged for markers, with the
capture machinery of ``test_hostile_logs``. Emails may quote a message by design: they are sent to
operations, but the logs must not.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
import responses

from carehooks import clock
from carehooks.clock import to_epoch_ms
from carehooks.config import loader
from carehooks.config.surveys import LowScoreConfig, SurveyConfig
from carehooks.domain.models import Channel, Conversation
from carehooks.outbound import http as outbound_http
from carehooks.surveys.token import sign
from carehooks.wiring import survey_page as survey_wiring
from carehooks.wiring.store import get_store
from tests.channel_support import (
    GRAPH_URL,
    TELEGRAM_API_URL,
    TWILIO_API_URL,
    X_API_URL,
    platform_stubs,
)
from tests.helpers import FakeContext, event_json, http_event, load_handler, meta_signature
from tests.hostile_support import count
from tests.integration import test_hostile_logs as hostile_logs
from tests.integration.agent_api_client import api_event, call, inbound
from tests.integration.conftest import Aws
from tests.integration.survey_support import resolve, use_survey_config
from tests.integration.test_hostile_logs import SECRETS, deliver, everything_logged, markers
from tests.integration.test_public_conversations import Graph

# The capture machinery of test_hostile_logs: its platform secrets and everything logged.
flows = hostile_logs.flows
all_logs = hostile_logs.all_logs

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENT_TEXT = "AGENTTEXT{} your new card 5500 ships to 7 Hidden Road"
CUSTOMER_TEXT = "CUSTOMERTEXT{} my card number is 4111 and I live at 1 Secret Lane"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZ2VudC1hZGEifQ.JWTSIGNATUREjwtSig0b7"
SIGNING_KEY = "SECRETsurveySigning5c1-0123456789abcdef"
PAGE, PSID = "112233445566778", "7318845612093471"
IG_ACCOUNT, IGSID = "17841405822304914", "6021459874123365"
WA_PHONE, WA_USER = "106540352242922", "16505551234"
CHANNELS = [
    # channel, account, contact: one conversation per channel the agent API sends on
    (Channel.MESSENGER, PAGE, PSID),
    (Channel.INSTAGRAM, IG_ACCOUNT, IGSID),
    (Channel.WHATSAPP, WA_PHONE, WA_USER),
    (Channel.X, "1240000000000000000", "2244994945"),
    (Channel.TELEGRAM, "bot", "1111111"),
    (Channel.SMS, "+15005550006", "+14155550100"),
]
PLATFORMS = {GRAPH_URL: "Graph API", X_API_URL: "X", TELEGRAM_API_URL: "Telegram", TWILIO_API_URL: "Twilio"}


def all_markers(*more: str) -> list[str]:
    """The secrets and texts of ``test_hostile_logs`` and the ones these flows add."""
    return [*markers(), "AGENTTEXT", "Hidden Road", JWT, JWT.rsplit(".", 1)[1], SIGNING_KEY, *more]


def logged_text(
    caplog: pytest.LogCaptureFixture, stream: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> str:
    out, err = capsys.readouterr()
    return everything_logged(caplog, stream, out + err)


def records(caplog: pytest.LogCaptureFixture, message: str) -> int:
    """How many log records say ``message``."""
    return sum(r.getMessage().startswith(message) for r in caplog.records)


def leaks(logged: str, *more: str) -> list[str]:
    return [m for m in all_markers(*more) if m in logged]


def agent(method: str, path: str, body: Any = None) -> dict[str, Any]:
    """An agent API event carrying the caller's JWT in its Authorization header, as API Gateway passes it."""
    event = api_event(method, path, body)
    event["headers"]["authorization"] = f"Bearer {JWT}"
    return event


def conversations_on_every_channel() -> list[Conversation]:
    store = get_store()
    with clock.frozen(NOW):
        return [
            inbound(store, contact, CUSTOMER_TEXT.format(n), NOW, channel=channel, account=account)
            for n, (channel, account, contact) in enumerate(CHANNELS, start=1)
        ]


def sent_bodies(stub: responses.RequestsMock) -> list[str]:
    """The bodies of the requests the platforms received, as text (JSON or form)."""
    from urllib.parse import unquote_plus

    out = []
    for c in stub.calls:
        body = c.request.body or b""
        out.append(unquote_plus(body.decode() if isinstance(body, bytes) else str(body)))
    return out


def echoing_errors(text: str) -> responses.RequestsMock:
    """Every platform refusing a send (HTTP 400) with an error body that echoes the text and the token."""
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    token = SECRETS["META_ACCESS_TOKEN"]
    bot = SECRETS["TELEGRAM_BOT_TOKEN"]
    bodies = {
        GRAPH_URL: {"error": {"message": f"(#100) bad text '{text}' for {token}", "code": 100}},
        X_API_URL: {
            "title": "Invalid Request",
            "detail": f"{text} {SECRETS['X_ACCESS_TOKEN']}",
            "errors": [{"message": f"{text} {SECRETS['X_ACCESS_TOKEN']}"}],
        },
        TELEGRAM_API_URL: {"ok": False, "error_code": 400, "description": f"Bad Request: '{text}' bot{bot}"},
        TWILIO_API_URL: {"code": 21617, "message": f"'{text}' refused for {SECRETS['TWILIO_AUTH_TOKEN']}"},
    }
    for base, body in bodies.items():
        mock.add(responses.POST, re.compile(re.escape(base) + r"/.*"), status=400, json=body)
    return mock


# ---------------------------------------------------------------- the agent API


def test_agent_replies_on_every_channel_log_no_text_and_no_jwt(
    flows: Aws, all_logs: io.StringIO, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a customer conversation on each of the six channels
    convs = conversations_on_every_channel()
    # When an agent replies on each, through the real platform clients
    with platform_stubs() as stub, clock.frozen(NOW + timedelta(minutes=5)):
        answers = [
            call(agent("POST", f"/api/conversations/{c.id}/reply", {"text": AGENT_TEXT.format(n)}))
            for n, c in enumerate(convs, start=1)
        ]
        count("logs:flow")
        sent = sent_bodies(stub)
    # Then every reply was sent, with the text
    assert [a.status for a in answers] == [201] * len(CHANNELS), [a.body for a in answers]
    assert len(sent) == len(CHANNELS)
    assert all("AGENTTEXT" in body for body in sent)
    # And the logs name the sends by id, never by text or token
    logged = logged_text(caplog, all_logs, capsys)
    assert records(caplog, "message sent") >= len(CHANNELS)
    assert leaks(logged) == []


def test_a_refused_agent_reply_whose_error_echoes_text_and_token_logs_neither(
    flows: Aws, all_logs: io.StringIO, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a conversation on each channel, and every platform answering 400 with an error body that
    # quotes the message and the credential
    convs = conversations_on_every_channel()
    with echoing_errors(AGENT_TEXT.format(0)) as stub, clock.frozen(NOW + timedelta(minutes=5)):
        answers = [
            call(agent("POST", f"/api/conversations/{c.id}/reply", {"text": AGENT_TEXT.format(0)}))
            for c in convs
        ]
        count("logs:flow")
        attempts = len(stub.calls)
    # Then each send was refused (the agent sees why in the answer) ...
    assert attempts == len(CHANNELS)
    assert {(a.status, a.error["code"]) for a in answers} == {(409, "send_refused")}
    # ... and the logs say which send failed and its error code, never what the platform echoed
    logged = logged_text(caplog, all_logs, capsys)
    assert records(caplog, "send failed") >= len(CHANNELS)
    assert leaks(logged) == []
    assert "platform_code" in logged


def test_a_private_reply_and_assign_tags_resolve_log_no_text_and_no_jwt(
    flows: Aws, all_logs: io.StringIO, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a customer's public comment under the Page's post
    body = event_json("meta/feed_comment.json")
    value = body["entry"][0]["changes"][0]["value"]
    value["message"] = CUSTOMER_TEXT.format(1)
    value["created_time"] = int(NOW.timestamp())
    body["entry"][0]["time"] = int(NOW.timestamp())
    raw = json.dumps(body).encode()
    headers = {
        "content-type": "application/json",
        "x-hub-signature-256": meta_signature(raw, SECRETS["META_APP_SECRET"]),
    }
    graph = Graph()  # answers like Meta: a private reply names the commenter's page-scoped id
    with responses.RequestsMock(assert_all_requests_are_fired=False) as stub, clock.frozen(NOW):
        stub.add_callback(responses.POST, re.compile(re.escape(GRAPH_URL) + r"/.*"), callback=graph.answer)
        webhook = load_handler("meta_webhook").handler(
            http_event("POST", "/webhooks/meta", raw, headers), FakeContext()
        )
        assert webhook["statusCode"] == 200
        deliver(flows)
        store = get_store()
        thread = store.latest_conversation("messenger", PAGE, "", value["comment_id"])
        assert thread is not None
        # When an agent answers it privately, then assigns, tags and resolves the conversation
        with clock.frozen(NOW + timedelta(minutes=3)):
            private = call(
                agent("POST", f"/api/conversations/{thread.id}/private-reply", {"text": AGENT_TEXT.format(1)})
            )
            changes = [
                call(agent("POST", f"/api/conversations/{thread.id}/assign", {"assignee": "me"})),
                call(agent("POST", f"/api/conversations/{thread.id}/tags", {"add": ["vip"]})),
                call(agent("POST", f"/api/conversations/{thread.id}/resolve")),
            ]
            count("logs:flow")
        sent = sent_bodies(stub)
    # Then the private reply went out and every change was made
    assert private.status == 201, private.body
    assert [c.status for c in changes] == [200, 200, 200], [c.body for c in changes]
    assert any("AGENTTEXT1" in body for body in sent)
    # And nothing logged quotes the comment, the reply, the token or the JWT
    logged = logged_text(caplog, all_logs, capsys)
    assert "message sent" in logged
    assert leaks(logged) == []


# ---------------------------------------------------------------- Meta acknowledgements


def _meta_body(path: str, at: datetime, n: int) -> bytes:
    """A Meta sample re-dated to ``at`` (inside the 24 h window), carrying customer text ``n``."""
    body = event_json(path)
    ms = to_epoch_ms(at)
    entry = body["entry"][0]
    entry["time"] = ms
    if "messaging" in entry:
        entry["messaging"][0]["timestamp"] = ms
        entry["messaging"][0]["message"]["text"] = CUSTOMER_TEXT.format(n)
    else:
        message = entry["changes"][0]["value"]["messages"][0]
        message["timestamp"] = str(ms // 1000)
        message["text"]["body"] = CUSTOMER_TEXT.format(n)
    return json.dumps(body).encode()


def post_meta(raw: bytes) -> int:
    headers = {
        "content-type": "application/json",
        "x-hub-signature-256": meta_signature(raw, SECRETS["META_APP_SECRET"]),
    }
    answer = load_handler("meta_webhook").handler(
        http_event("POST", "/webhooks/meta", raw, headers), FakeContext()
    )
    return int(answer["statusCode"])


def test_meta_acknowledgements_inside_the_window_log_no_text_and_no_access_token(
    flows: Aws, all_logs: io.StringIO, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a Messenger, an Instagram and a WhatsApp customer writing just now (inside Meta's window)
    samples = ["meta/messenger_text.json", "meta/instagram_text.json", "meta/whatsapp_text.json"]
    with platform_stubs() as stub, clock.frozen(NOW):
        for n, sample in enumerate(samples, start=1):
            count("logs:flow")
            assert post_meta(_meta_body(sample, NOW, n)) == 200, sample
        # When the processor stores them and the default rules acknowledge them
        deliver(flows)
        calls = [(c.request.url, c.request.headers.get("Authorization")) for c in stub.calls]
    # Then three acknowledgements went to the Graph API with the access token in the header (as did the
    # Messenger and Instagram profile reads of the contact step, issue 16)
    assert len([url for url, _auth in calls if url.endswith("/messages")]) == 3, calls
    assert all(auth == f"Bearer {SECRETS['META_ACCESS_TOKEN']}" for _url, auth in calls)
    assert all(SECRETS["META_ACCESS_TOKEN"] not in url for url, _auth in calls)
    # And the logs hold their ids, never the texts or the token
    logged = logged_text(caplog, all_logs, capsys)
    assert records(caplog, "message sent") == 3
    assert leaks(logged) == []


# ---------------------------------------------------------------- surveys

SURVEYS = SurveyConfig(
    delay_minutes=60,
    cooldown_days=0,
    low_score=LowScoreConfig(threshold=2, recipients=["ops@example.com"]),
)
RESOLVED = NOW + timedelta(minutes=10)
DUE = RESOLVED + timedelta(minutes=60)
MAIL_FROM = "carehooks@example.com"


@pytest.fixture
def surveys(flows: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    use_survey_config(monkeypatch, SURVEYS)
    monkeypatch.setattr(survey_wiring, "survey_config", lambda: SURVEYS)
    monkeypatch.setenv("SURVEY_SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setenv("MAIL_FROM", MAIL_FROM)
    boto3.client("ses").verify_email_identity(EmailAddress=MAIL_FROM)
    return flows


def resolved_on_every_channel() -> list[Conversation]:
    convs = conversations_on_every_channel()
    with clock.frozen(RESOLVED):
        return [resolve(get_store(), c.id, RESOLVED) for c in convs]


def dispatch_at(at: datetime) -> dict[str, Any]:
    with clock.frozen(at):
        report: dict[str, Any] = load_handler("survey_dispatch").handler({}, FakeContext())
    return report


def survey_tokens(bodies: list[str]) -> list[str]:
    return re.findall(r"/survey/([A-Za-z0-9._~-]+)", "\n".join(bodies))


def test_survey_dispatch_on_every_channel_logs_no_link_token_or_text(
    surveys: Aws, all_logs: io.StringIO, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given resolved conversations on every channel
    resolved_on_every_channel()
    # When SurveyDispatchFunction runs at the delay and sends through the real clients
    with platform_stubs() as stub:
        report = dispatch_at(DUE)
        count("logs:flow")
        sent = sent_bodies(stub)
    # Then every channel got its survey, SMS with its signed link
    assert report["sent"] == len(CHANNELS), report
    tokens = survey_tokens(sent)
    assert tokens, sent
    # And the logs name the conversations, never the link token or a text
    logged = logged_text(caplog, all_logs, capsys)
    assert records(caplog, "survey sent") == len(CHANNELS)
    assert leaks(logged, *tokens) == []


def test_a_refused_survey_whose_error_echoes_the_token_logs_neither(
    surveys: Aws, all_logs: io.StringIO, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given resolved conversations, and every platform refusing the survey with an echoing error body
    resolved_on_every_channel()
    with echoing_errors(CUSTOMER_TEXT.format(0)) as stub:
        report = dispatch_at(DUE)
        count("logs:flow")
        attempts = len(stub.calls)
    # Then each survey was attempted once and recorded as not sent
    assert attempts == len(CHANNELS)
    assert report["sent"] == 0
    # And the logs say so by conversation and error class, quoting nothing the platform said
    logged = logged_text(caplog, all_logs, capsys)
    assert records(caplog, "survey not sent") == len(CHANNELS)
    assert leaks(logged) == []


def messenger_at(at: datetime, text: str) -> None:
    """The Messenger customer of CHANNELS writes ``text`` at ``at``; the processor runs then."""
    ms = to_epoch_ms(at)
    body = {
        "object": "page",
        "entry": [
            {
                "id": PAGE,
                "time": ms,
                "messaging": [
                    {
                        "sender": {"id": PSID},
                        "recipient": {"id": PAGE},
                        "timestamp": ms,
                        "message": {"mid": f"m_{ms}", "text": text},
                    }
                ],
            }
        ],
    }
    with clock.frozen(at):
        assert post_meta(json.dumps(body).encode()) == 200


def ses_mails() -> list[str]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return [m.raw_data for m in ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages]


def test_a_low_rating_its_comment_and_the_ops_alert_log_no_customer_text(
    surveys: Aws, all_logs: io.StringIO, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a Messenger conversation surveyed at the delay
    (conv, *_) = resolved_on_every_channel()
    with platform_stubs():
        assert dispatch_at(DUE)["sent"] == len(CHANNELS)
        # When the customer rates it 1 and then writes a comment
        messenger_at(DUE + timedelta(minutes=5), "1")
        with clock.frozen(DUE + timedelta(minutes=5)):
            deliver(surveys)
        messenger_at(DUE + timedelta(minutes=6), CUSTOMER_TEXT.format(7))
        with clock.frozen(DUE + timedelta(minutes=6)):
            deliver(surveys)
        count("logs:flow")
    # Then the rating and the comment are recorded, and operations were emailed about the low score
    rated = get_store().get_conversation(conv.id)
    assert rated is not None
    assert rated.csat is not None
    assert (rated.csat["score"], rated.csat["comment"]) == (1, CUSTOMER_TEXT.format(7))
    assert len(ses_mails()) == 1
    # And the logs hold the score and ids, never the comment
    logged = logged_text(caplog, all_logs, capsys)
    assert "csat recorded" in logged
    assert "low csat alert sent" in logged
    assert leaks(logged) == []


def survey_page(method: str, token: str, form: dict[str, str] | None = None) -> dict[str, Any]:
    body = urlencode(form) if form is not None else None
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else None
    event = http_event(method, f"/survey/{token}", body, headers)
    event["pathParameters"] = {"token": token}
    with clock.frozen(DUE + timedelta(minutes=30)):
        answer: dict[str, Any] = load_handler("survey_page").handler(event, FakeContext())
    return answer


def test_the_survey_page_logs_neither_its_token_nor_the_comment(
    surveys: Aws, all_logs: io.StringIO, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a resolved conversation and its signed link, and a link whose signature was tampered with
    (conv, *_) = resolved_on_every_channel()
    token = sign(conv.id, DUE + timedelta(days=7), SIGNING_KEY)
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    # When the customer opens the page, posts a rating with a comment, and posts again; and someone
    # tries the tampered link
    answers = [
        survey_page("GET", token),
        survey_page("POST", token, {"score": "2", "comment": CUSTOMER_TEXT.format(8)}),
        survey_page("POST", token, {"score": "5", "comment": CUSTOMER_TEXT.format(9)}),
        survey_page("GET", tampered),
    ]
    count("logs:flow")
    # Then the page answered each (the tampered link refused) and the rating is stored
    assert [a["statusCode"] for a in answers][:2] == [200, 200]
    assert answers[3]["statusCode"] >= 400
    rated = get_store().get_conversation(conv.id)
    assert rated is not None
    assert rated.csat is not None
    assert rated.csat["comment"] == CUSTOMER_TEXT.format(8)
    # And no log holds the token (nor its signature), the tampered one, or the comment
    logged = logged_text(caplog, all_logs, capsys)
    assert "survey page refused" in logged
    signature = token.rsplit(".", 1)[-1]
    assert leaks(logged, token, signature, tampered) == []


# ---------------------------------------------------------------- the SLA monitor


def test_the_sla_monitor_email_quotes_the_message_but_its_logs_do_not(
    flows: Aws,
    all_logs: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an SLA policy of 1 h on Messenger, and an unanswered customer message
    config = tmp_path / "config.yaml"
    config.write_text(
        "version: logs\nops: {recipients: [ops@example.com]}\n"
        "sla:\n  policies:\n    - {id: messenger, when: {channels: [messenger]}, first_response: 1h}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CAREHOOKS_CONFIG", str(config))
    monkeypatch.setenv("MAIL_FROM", MAIL_FROM)
    loader.reset()
    boto3.client("ses").verify_email_identity(EmailAddress=MAIL_FROM)
    with platform_stubs():
        messenger_at(NOW, CUSTOMER_TEXT.format(1))
        with clock.frozen(NOW):
            deliver(flows)
    # When the monitor runs past the breach
    with clock.frozen(NOW + timedelta(minutes=61)):
        result = load_handler("sla_monitor").handler({}, FakeContext())
    count("logs:flow")
    loader.reset()
    # Then operations got the breach email, which quotes the first words of the message (by design)
    (mail,) = ses_mails()
    assert "CUSTOMERTEXT1" in mail, result
    # And the monitor's logs do not
    logged = logged_text(caplog, all_logs, capsys)
    assert "SLA monitor run" in logged
    assert leaks(logged) == []


# ---------------------------------------------------------------- urllib3's retry warnings


def test_retries_to_an_unreachable_platform_log_no_token_in_urls_or_headers(
    flows: Aws,
    all_logs: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given every platform on a closed local port (urllib3 retries the connection and warns each time,
    # naming the request path) and urllib3's DEBUG lines on as well
    import logging

    for name in ("META_GRAPH_URL", "X_API_URL", "TELEGRAM_API_URL", "TWILIO_API_URL"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setattr(outbound_http, "_sleep", lambda seconds: None)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    # (moto intercepts HTTP with the responses library, which logs each request it lets through, URL
    # and all; that library is not in the Lambda runtime)
    caplog.set_level(logging.WARNING, logger="responses")
    convs = conversations_on_every_channel()
    # When an agent replies on each channel
    with clock.frozen(NOW + timedelta(minutes=5)):
        answers = [
            call(agent("POST", f"/api/conversations/{c.id}/reply", {"text": AGENT_TEXT.format(n)}))
            for n, c in enumerate(convs, start=1)
        ]
    count("logs:flow")
    # Then each is answered 503 (nothing sent) after urllib3's retries ...
    assert [a.status for a in answers] == [503] * len(CHANNELS), [a.body for a in answers]
    logged = logged_text(caplog, all_logs, capsys)
    assert records(caplog, "Retrying (") >= len(CHANNELS)
    assert "/bot<redacted>/sendMessage" in logged
    # ... and no URL, header or message logged holds a token or the text
    assert leaks(logged) == []
