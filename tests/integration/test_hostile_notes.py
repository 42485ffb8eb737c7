"""Notes never reach the customer: a marker planted in a contact note and a conversation note appears in
no outbound platform call, no email and no log line, through the real handlers (platforms stubbed at
HTTP level, AWS under moto; the capture machinery of ``test_hostile_logs``). The same flow checks that the
name Messenger's profile API gives shows in the SLA email and the low-CSAT alert."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import responses

from carehooks import clock
from carehooks.config import loader
from carehooks.config.settings import settings
from carehooks.surveys.alerts import render_alert
from carehooks.wiring.store import get_store
from tests.channel_support import GRAPH_URL, platform_stubs
from tests.integration import test_hostile_logs as hostile_logs
from tests.integration.agent_api_client import api_event, call
from tests.integration.conftest import Aws
from tests.integration.test_hostile_logs import deliver
from tests.integration.test_hostile_logs_api import (
    MAIL_FROM,
    NOW,
    PAGE,
    PSID,
    leaks,
    logged_text,
    messenger_at,
    ses_mails,
)

flows = hostile_logs.flows
all_logs = hostile_logs.all_logs

CONTACT_MARK = "NOTEMARKcontact-7Q2"
CONVERSATION_MARK = "NOTEMARKconversation-9Z4"


def _profile(request: Any) -> tuple[int, dict[str, str], str]:
    return 200, {}, '{"first_name": "Sheena", "last_name": "Nelson", "profile_pic": "https://x.test/p.png"}'


def test_notes_reach_no_platform_no_email_and_no_log_and_the_profile_name_reaches_the_emails(
    flows: Aws,
    all_logs: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a deployment that asks Messenger's profile API for names (FetchContactProfiles=true)
    monkeypatch.setenv("FETCH_CONTACT_PROFILES", "true")
    settings.cache_clear()
    # and an SLA policy of 1 h on Messenger with an operations address
    config = tmp_path / "config.yaml"
    config.write_text(
        "version: notes\nops: {recipients: [ops@example.com]}\n"
        "sla:\n  policies:\n    - {id: messenger, when: {channels: [messenger]}, first_response: 1h}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CAREHOOKS_CONFIG", str(config))
    monkeypatch.setenv("MAIL_FROM", MAIL_FROM)
    loader.reset()
    boto3.client("ses").verify_email_identity(EmailAddress=MAIL_FROM)
    with platform_stubs() as stub:
        stub.add_callback(
            responses.GET, re.compile(re.escape(GRAPH_URL) + rf"/{PSID}\?.*"), callback=_profile
        )
        # And a new Messenger customer (the processor fetches their profile after storing the message)
        messenger_at(NOW, "hello, anyone there?")
        with clock.frozen(NOW):
            deliver(flows)
        store = get_store()
        conv = store.latest_conversation("messenger", PAGE, PSID)
        assert conv is not None
        assert conv.contact_name == "Sheena Nelson"
        # When agents write a note on the person and one on the conversation
        with clock.frozen(NOW + timedelta(minutes=5)):
            contact = f"/api/contacts/messenger/{PAGE}/{PSID}"
            added = call(api_event("POST", f"{contact}/notes", {"text": f"{CONTACT_MARK} prefers mornings"}))
            internal = call(
                api_event(
                    "POST", f"/api/conversations/{conv.id}/notes", {"text": f"{CONVERSATION_MARK} refund ok"}
                )
            )
            listed = call(api_event("GET", f"{contact}/notes"))
            listed_internal = call(api_event("GET", f"/api/conversations/{conv.id}/notes"))
        assert (added.status, internal.status) == (201, 201)
        assert CONTACT_MARK in listed.body["items"][0]["text"]
        assert CONVERSATION_MARK in listed_internal.body["items"][0]["text"]
        # And the SLA monitor emails operations, and the customer writes again and gets a reply
        with clock.frozen(NOW + timedelta(minutes=61)):
            from tests.helpers import FakeContext, load_handler

            load_handler("sla_monitor").handler({}, FakeContext())
        messenger_at(NOW + timedelta(minutes=62), "still waiting")
        with clock.frozen(NOW + timedelta(minutes=62)):
            deliver(flows)
            reply = call(api_event("POST", f"/api/conversations/{conv.id}/reply", {"text": "On it, Sheena."}))
        assert reply.status == 201, reply.body
        calls = [(c.request.url, c.request.body) for c in stub.calls]
    loader.reset()
    # Then the platforms received the acknowledgement and the reply, and no note
    outbound = "\n".join(f"{url} {body!r}" for url, body in calls)
    assert "On it, Sheena." in outbound
    assert CONTACT_MARK not in outbound
    assert CONVERSATION_MARK not in outbound
    # And the SLA email names the customer by the profile's name, and carries no note
    (mail,) = ses_mails()
    assert "Sheena Nelson" in mail
    assert PSID not in mail.split("Subject:", 1)[-1].split("\n", 1)[0]
    assert CONTACT_MARK not in mail
    assert CONVERSATION_MARK not in mail
    # And the low-CSAT alert would name them too
    stored = get_store().get_conversation(conv.id)
    assert stored is not None
    subject, _html, text = render_alert(stored, "https://care.example.com")
    assert "Sheena Nelson" in subject
    assert "Sheena Nelson" in text
    # And nothing logged carries a note
    logged = logged_text(caplog, all_logs, capsys)
    assert leaks(logged, CONTACT_MARK, CONVERSATION_MARK) == []
