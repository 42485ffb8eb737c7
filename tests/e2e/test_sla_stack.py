"""SLA alerts end to end in the local stack: an unanswered Messenger message under a 1-hour policy gets a
warning at 48 min, a breach at 60 min and the first escalation at 90 min, each exactly once, as ``.eml``
files in the mail folder; answering it stops every further alert.

The stack's scheduler fires ``SlaMonitorFunction`` (``rate(1 minute)``) whenever the shared clock moves;
the test also runs it by hand, as an overlapping run would. Observed only over HTTP and the mail folder.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from infra.local.settings import SECRET_DEFAULTS

from tests.e2e.harness import LocalStack, wait_for
from tests.helpers import event_json

pytestmark = pytest.mark.e2e

CONFIG = """
version: sla-e2e
ops: {recipients: [ops@example.com]}
sla:
  policies:
    - id: messenger
      when: {channels: [messenger]}
      first_response: 1h
      escalations:
        - {after: 30m, recipients: [team-lead@example.com]}
        - {after: 2h, recipients: [head-of-support@example.com]}
"""


@pytest.fixture(scope="module")
def sla_stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LocalStack]:
    """The project's stack with an SLA policy for Messenger (on moto's DynamoDB: faster to start)."""
    folder = tmp_path_factory.mktemp("sla")
    config = folder / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    stack = LocalStack(folder / "local", env={"CAREHOOKS_CONFIG": str(config), "LOCAL_DYNAMODB": "moto"})
    stack.start()
    try:
        yield stack
    finally:
        code = stack.stop()
        if request.session.testsfailed:
            print(f"\n----- local stack log ({stack.log_path}) -----\n{stack.log_tail(200)}")
        assert code == 0, f"the stack did not stop cleanly (exit {code})"


def stack_now(stack: LocalStack) -> datetime:
    return datetime.fromisoformat(stack.get("/_local/clock").json()["now"].replace("Z", "+00:00"))


def customer_says(stack: LocalStack, contact: str, text: str) -> datetime:
    """A signed Messenger text from ``contact`` at the stack's (moved) time; that time."""
    at = stack_now(stack)
    body = event_json("meta/messenger_text.json")
    event = body["entry"][0]["messaging"][0]
    event["sender"]["id"] = contact
    event["timestamp"] = int(at.timestamp() * 1000)
    event["message"] = {"mid": f"m_{uuid.uuid4().hex}", "text": text}
    raw = json.dumps(body).encode()
    signature = hmac.new(SECRET_DEFAULTS["META_APP_SECRET"].encode(), raw, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"}
    assert stack.request("POST", "/webhooks/meta", raw, headers).status == 200
    return at


def conversation(stack: LocalStack, contact: str) -> dict[str, Any] | None:
    items = stack.get("/_local/conversations?limit=500").json()["items"]
    found = [c for c in items if c["contact_id"] == contact]
    return found[0] if found else None


def move_to(stack: LocalStack, at: datetime) -> None:
    """Set the shared clock (the scheduler fires the monitor at once) and run the monitor by hand too."""
    stack.post_json("/_local/clock", {"set": at.isoformat()})
    assert stack.request("POST", "/_local/run/SlaMonitorFunction").status == 200


def mails_about(stack: LocalStack, customer: str) -> list[dict[str, Any]]:
    """Emails in the mail folder whose text mentions this customer, oldest first (parsed .eml)."""
    out = []
    for item in stack.get("/_local/mail").json()["items"]:
        path = Path(item["file"])
        if not path.is_absolute():
            path = stack.data_dir / "mail" / path.name
        parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
        text = parsed.get_body(preferencelist=("plain",))
        assert text is not None
        body = text.get_content()  # type: ignore[attr-defined]
        if customer in body:
            out.append({"to": item["to"], "subject": item["subject"], "text": body, "file": path})
    return out


def settle(stack: LocalStack, customer: str, count: int) -> list[dict[str, Any]]:
    """Wait until ``count`` emails about the customer exist, then give stray runs a moment to add more."""
    wait_for(lambda: len(mails_about(stack, customer)) >= count, timeout=60, what=f"{count} SLA emails")
    time.sleep(2)
    return mails_about(stack, customer)


def test_warning_breach_and_escalation_each_once_then_an_answer_stops_them(sla_stack: LocalStack) -> None:
    stack = sla_stack
    contact = "74" + str(uuid.uuid4().int)[:14]
    started = customer_says(stack, contact, "where is my order? #1234")
    conv = wait_for(lambda: conversation(stack, contact), timeout=60, what="the conversation")
    customer = conv.get("contact_name") or contact  # what the digest shows for them

    # 47 minutes: nothing yet
    move_to(stack, started + timedelta(minutes=47))
    time.sleep(2)
    assert mails_about(stack, customer) == []

    # 48 minutes: the warning, once, to ops
    move_to(stack, started + timedelta(minutes=48))
    move_to(stack, started + timedelta(minutes=48, seconds=30))
    mails = settle(stack, customer, 1)
    assert [(m["subject"], m["to"]) for m in mails] == [
        ("SLA warning: 1 conversation, longest 48 min", ["ops@example.com"])
    ]
    assert mails[0]["file"].suffix == ".eml"
    assert "where is my order? #1234" in mails[0]["text"]

    # 60 minutes: the breach, once
    move_to(stack, started + timedelta(minutes=60))
    move_to(stack, started + timedelta(minutes=61))
    mails = settle(stack, customer, 2)
    assert [m["subject"] for m in mails][1:] == ["SLA breach: 1 conversation, longest 1 h"]

    # 90 minutes: the first escalation, once, to the team lead
    move_to(stack, started + timedelta(minutes=90))
    mails = settle(stack, customer, 3)
    assert [(m["subject"], m["to"]) for m in mails][2:] == [
        ("SLA escalation: 1 conversation, longest 1 h 30 min", ["team-lead@example.com"])
    ]

    # An agent answers: no second escalation, however long we wait
    token = stack.post_json("/_local/token", {"sub": "agent-ada", "name": "Ada"}).json()["token"]
    answer = stack.request(
        "POST",
        f"/api/conversations/{conv['id']}/reply",
        json.dumps({"text": "It left the warehouse today."}).encode(),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert answer.status == 201, answer.body
    for minutes in (180, 181, 300):
        move_to(stack, started + timedelta(minutes=minutes))
    time.sleep(3)
    assert len(mails_about(stack, customer)) == 3
