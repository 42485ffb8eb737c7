"""CSAT end to end in the local stack: inbound message → agent reply → resolve → (clock + delay) one
survey in the outbox → the customer replies "4" → CSAT 4 on the conversation, still resolved → the
report shows it next to the first response time.

Observed only over HTTP, as a newcomer would after ``make run``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from infra.local.settings import SECRET_DEFAULTS

from tests.e2e.harness import LocalStack, wait_for
from tests.helpers import event_json

pytestmark = pytest.mark.e2e

SURVEY_DELAY_SECONDS = 3600  # the default surveys.delay_minutes


def stack_now(stack: LocalStack) -> datetime:
    return datetime.fromisoformat(stack.get("/_local/clock").json()["now"].replace("Z", "+00:00"))


def customer_says(stack: LocalStack, contact: str, text: str) -> None:
    """A signed Messenger text from ``contact``, stamped with the stack's (moved) clock."""
    body = event_json("meta/messenger_text.json")
    event = body["entry"][0]["messaging"][0]
    event["sender"]["id"] = contact
    event["timestamp"] = int(stack_now(stack).timestamp() * 1000)
    event["message"] = {"mid": f"m_{uuid.uuid4().hex}", "text": text}
    raw = json.dumps(body).encode()
    signature = hmac.new(SECRET_DEFAULTS["META_APP_SECRET"].encode(), raw, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"}
    assert stack.request("POST", "/webhooks/meta", raw, headers).status == 200


def api(stack: LocalStack, token: str, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    if payload is None:
        answer = stack.request(method, path, headers=headers)
    else:
        answer = stack.request(
            method, path, json.dumps(payload).encode(), {**headers, "Content-Type": "application/json"}
        )
    return answer.status, answer.json() if answer.body else None


def conversation(stack: LocalStack, contact: str) -> dict[str, Any] | None:
    found = [
        c for c in stack.get("/_local/conversations?limit=500").json()["items"] if c["contact_id"] == contact
    ]
    if not found:
        return None
    detail: dict[str, Any] = stack.get(f"/_local/conversations/{found[0]['id']}").json()
    return detail


def surveys_sent(stack: LocalStack, conversation_id: str) -> list[dict[str, Any]]:
    return [item for item in stack.outbox() if f"survey:{conversation_id}" in json.dumps(item["body"])]


def test_resolve_survey_answer_report(project_stack: LocalStack) -> None:
    stack = project_stack
    contact = "73" + str(uuid.uuid4().int)[:14]
    token = stack.post_json("/_local/token", {"sub": "agent-ada", "name": "Ada"}).json()["token"]

    # A customer writes; an agent answers and resolves
    customer_says(stack, contact, "where is my order? #1234")
    conv = wait_for(lambda: conversation(stack, contact), timeout=60, what="the conversation")
    conv_id = conv["id"]
    status, reply = api(
        stack, token, "POST", f"/api/conversations/{conv_id}/reply", {"text": "It ships today."}
    )
    assert status == 201, reply
    status, resolved = api(stack, token, "POST", f"/api/conversations/{conv_id}/resolve", {})
    assert status == 200, resolved
    assert resolved["status"] == "resolved"

    # Before the delay, no survey; after it, exactly one, even when dispatch runs twice
    assert stack.request("POST", "/_local/run/SurveyDispatchFunction").status == 200
    assert surveys_sent(stack, conv_id) == []
    stack.post_json("/_local/clock", {"advance_seconds": SURVEY_DELAY_SECONDS + 60})
    for _ in range(2):
        assert stack.request("POST", "/_local/run/SurveyDispatchFunction").status == 200
    sent = surveys_sent(stack, conv_id)
    assert len(sent) == 1, sent
    message = sent[0]["body"]["message"]
    assert [q["payload"] for q in message["quick_replies"]] == [
        "csat_5",
        "csat_4",
        "csat_3",
        "csat_2",
        "csat_1",
    ]

    # The customer answers "4": CSAT 4, and the conversation stays resolved
    customer_says(stack, contact, "4")

    def rated() -> dict[str, Any] | None:
        found = conversation(stack, contact)
        return found if found and found.get("csat") else None

    after = wait_for(rated, timeout=60, what="the CSAT answer")
    assert after["id"] == conv_id
    assert after["csat"]["score"] == 4
    assert after["status"] == "resolved"

    # The report shows it next to the first response time
    status, report = api(stack, token, "GET", "/api/reports/summary")
    assert status == 200, report
    assert report["csat"]["responses"] >= 1
    assert report["csat"]["distribution"]["4"] >= 1
    assert report["csat"]["by_agent"]["agent-ada"]["average"] == 4.0
    assert report["first_response"]["count"] >= 1
    assert report["first_response"]["calendar"]["median_seconds"] is not None


def test_an_sms_survey_carries_a_working_link(project_stack: LocalStack) -> None:
    # A plain `make run` makes its own signing key (.local/survey-signing-key): the link works
    from infra.cli.replay import signed_request

    stack = project_stack
    key_file = stack.data_dir / "survey-signing-key"
    assert key_file.is_file()
    assert key_file.stat().st_mode & 0o077 == 0
    number = "+1415" + str(uuid.uuid4().int)[:7]
    token = stack.post_json("/_local/token", {"sub": "agent-ada", "name": "Ada"}).json()["token"]

    # A customer texts; an agent answers and resolves
    raw = urlencode(
        {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": SECRET_DEFAULTS["TWILIO_ACCOUNT_SID"],
            "From": number,
            "To": "+15005550006",
            "Body": "where is my parcel?",
            "NumMedia": "0",
        }
    )
    secrets = {"TWILIO_AUTH_TOKEN": SECRET_DEFAULTS["TWILIO_AUTH_TOKEN"], "PUBLIC_BASE_URL": stack.url}
    body, headers = signed_request("twilio", raw.encode(), "/webhooks/twilio", secrets)
    assert stack.request("POST", "/webhooks/twilio", body, headers).status == 200
    conv = wait_for(lambda: conversation(stack, number), timeout=60, what="the SMS conversation")
    conv_id = conv["id"]
    status, reply = api(stack, token, "POST", f"/api/conversations/{conv_id}/reply", {"text": "On its way."})
    assert status == 201, reply
    status, _ = api(stack, token, "POST", f"/api/conversations/{conv_id}/resolve", {})
    assert status == 200

    # The survey, after the delay, is an SMS with a signed link to this stack
    stack.post_json("/_local/clock", {"advance_seconds": SURVEY_DELAY_SECONDS + 60})
    assert stack.request("POST", "/_local/run/SurveyDispatchFunction").status == 200
    texts = [json.dumps(item["body"]) for item in stack.outbox() if item["channel"] in ("twilio", "sms")]
    links = [
        link for text in texts if number in text for link in re.findall(r"/survey/([A-Za-z0-9._~%-]+)", text)
    ]
    assert len(links) == 1, texts
    path = f"/survey/{links[0]}"

    # which opens the form and takes the rating
    page = stack.get(path)
    assert page.status == 200, page.body[:300]
    assert b'name="score"' in page.body
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = stack.request("POST", path, b"score=5&comment=quick", form)
    assert answer.status == 200, answer.body[:300]
    after = conversation(stack, number)
    assert after is not None
    assert after["csat"]["score"] == 5
