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
from typing import Any

import pytest
import responses

from carehooks import clock
from carehooks.domain.models import Channel, Conversation
from carehooks.store import get_store
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
    assert logged.count("message sent") >= len(CHANNELS)
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
    assert logged.count("send failed") >= len(CHANNELS)
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
