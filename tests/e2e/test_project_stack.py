"""The project's own template through the local stack: signed Meta webhooks in, conversations out.

Observed only over HTTP (the webhook answers, ``/_local/conversations``, ``/_local/dlq``) and the
stack's output, as a newcomer would after ``make run``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from infra.local.settings import SECRET_DEFAULTS

from tests.e2e.harness import ROOT, LocalStack, clean_env, wait_for
from tests.helpers import event_bytes, event_json

pytestmark = pytest.mark.e2e

FIXTURE = "meta/messenger_text.json"


def sign(raw: bytes, secret: str = SECRET_DEFAULTS["META_APP_SECRET"]) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def messenger_body(contact: str, mid: str, text: str = "hello", timestamp: Any = 1763798400000) -> bytes:
    """The fixture Messenger text event, for another customer and message id."""
    body = event_json(FIXTURE)
    entry = body["entry"][0]
    event = entry["messaging"][0]
    event["sender"]["id"] = contact
    event["timestamp"] = timestamp
    event["message"]["mid"] = mid
    event["message"]["text"] = text
    return json.dumps(body, separators=(",", ":")).encode()


def post_webhook(stack: LocalStack, raw: bytes, signature: str | None = "sign") -> int:
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers["X-Hub-Signature-256"] = sign(raw)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return stack.request("POST", "/webhooks/meta", raw, headers).status


def conversations(stack: LocalStack) -> list[dict[str, Any]]:
    answer = stack.get("/_local/conversations?limit=500")
    assert answer.status == 200, answer.body
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def conversation_of(stack: LocalStack, contact: str) -> dict[str, Any] | None:
    found = [c for c in conversations(stack) if c["contact_id"] == contact]
    if not found:
        return None
    detail = stack.get(f"/_local/conversations/{found[0]['id']}")
    assert detail.status == 200
    data: dict[str, Any] = detail.json()
    return data


def stored_texts(stack: LocalStack, contact: str) -> list[str]:
    """What the customer wrote (the samples' 2025 times become the receipt time, docs/timestamps.md, so
    each first message is fresh and also gets an acknowledgement)."""
    conversation = conversation_of(stack, contact)
    return [m["text"] for m in conversation["messages"] if m["direction"] == "in"] if conversation else []


def new_contact() -> str:
    return str(7_000_000_000_000_000 + uuid.uuid4().int % 10**15)


def stack_now(stack: LocalStack) -> datetime:
    return datetime.fromisoformat(stack.get("/_local/clock").json()["now"].replace("Z", "+00:00"))


def test_replay_of_a_messenger_text_shows_the_conversation_and_its_acknowledgement(
    project_stack: LocalStack,
) -> None:
    # The Quickstart: `make replay`, then the conversation it prints, then the outbox
    before = stack_now(project_stack)
    result = subprocess.run(
        [sys.executable, "-m", "infra.cli", "replay", FIXTURE, "--url", project_stack.url],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "-> 200" in result.stdout
    printed = re.search(r"^conversation (\S+)$", result.stdout, re.MULTILINE)
    assert printed, result.stdout

    sent = event_json(FIXTURE)["entry"][0]["messaging"][0]
    contact = sent["sender"]["id"]
    conversation = project_stack.get(f"/_local/conversations/{printed.group(1)}").json()
    assert conversation["contact_id"] == contact
    assert conversation["channel"] == "messenger"
    assert conversation["account_id"] == sent["recipient"]["id"]
    assert conversation["status"] == "open"
    [message] = [m for m in conversation["messages"] if m["direction"] == "in"]
    assert message["text"] == sent["message"]["text"]
    assert message["platform_message_id"] == sent["message"]["mid"]
    # re-dated to the stack's clock, so it is fresh and gets its acknowledgement
    sent_at = datetime.fromisoformat(message["sent_at"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) <= sent_at <= stack_now(project_stack)
    wait_for(
        lambda: [item for item in project_stack.outbox() if contact in json.dumps(item["body"])],
        what="the acknowledgement in the outbox",
    )


def test_the_verification_handshake_uses_the_seeded_secret(project_stack: LocalStack) -> None:
    token = SECRET_DEFAULTS["META_VERIFY_TOKEN"]
    answer = project_stack.get(
        f"/webhooks/meta?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"
    )
    assert answer.status == 200
    assert answer.body == b"1158201444"
    wrong = project_stack.get("/webhooks/meta?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1")
    assert wrong.status == 403


def test_a_redelivery_is_ignored(project_stack: LocalStack) -> None:
    contact = new_contact()
    first = messenger_body(contact, f"m_{uuid.uuid4().hex}", "first", 1763798400000)
    assert post_webhook(project_stack, first) == 200
    wait_for(lambda: stored_texts(project_stack, contact) == ["first"], what="the first message")

    assert post_webhook(project_stack, first) == 200  # Meta redelivers
    # A later message of the same customer is processed after the redelivery (same FIFO group).
    second = messenger_body(contact, f"m_{uuid.uuid4().hex}", "second", 1763798460000)
    assert post_webhook(project_stack, second) == 200
    wait_for(lambda: "second" in stored_texts(project_stack, contact), what="the second message")
    assert stored_texts(project_stack, contact) == ["first", "second"]
    conversation = conversation_of(project_stack, contact)
    assert conversation is not None
    assert [m["direction"] for m in conversation["messages"]].count("in") == 2


def test_a_bad_signature_is_rejected_and_nothing_is_stored(project_stack: LocalStack) -> None:
    contact = new_contact()
    raw = messenger_body(contact, f"m_{uuid.uuid4().hex}", "forged")
    assert post_webhook(project_stack, raw, sign(raw, "not-the-app-secret")) == 401
    assert post_webhook(project_stack, raw, signature=None) == 401
    tampered = raw.replace(b"forged", b"FORGED")
    assert post_webhook(project_stack, tampered, sign(raw)) == 401

    # A genuine message posted afterwards is stored; the forged one never is.
    witness = new_contact()
    assert post_webhook(project_stack, messenger_body(witness, f"m_{uuid.uuid4().hex}", "genuine")) == 200
    wait_for(lambda: stored_texts(project_stack, witness) == ["genuine"], what="the genuine message")
    assert conversation_of(project_stack, contact) is None


def test_a_poison_record_is_parked_in_the_dlq(project_stack: LocalStack) -> None:
    contact = new_contact()
    mid = f"m_poison_{uuid.uuid4().hex}"
    # Meta timestamps are integers; the processor cannot parse this one, ever.
    poison = messenger_body(contact, mid, "poison", timestamp="not-a-number")
    assert post_webhook(project_stack, poison) == 200

    # Other customers are not held up meanwhile.
    bystander = new_contact()
    assert (
        post_webhook(project_stack, messenger_body(bystander, f"m_{uuid.uuid4().hex}", "unaffected")) == 200
    )
    wait_for(lambda: stored_texts(project_stack, bystander) == ["unaffected"], what="the bystander's message")

    parked = wait_for(
        lambda: [i for i in project_stack.get("/_local/dlq").json()["items"] if mid in i["body"]],
        timeout=45,
        what="the poison record in the DLQ",
    )
    assert parked[0]["queue"] == "InboundDeadLetterQueue"
    assert parked[0]["source_queue"] == "InboundQueue"
    # Parked by the processor at once, with its reason, not after five failed receives.
    assert parked[0]["receive_count"] == 0
    assert parked[0]["reason"].startswith("parked: malformed_payload: messenger adapter cannot parse")
    assert "poison" not in parked[0]["reason"]
    wait_for(
        lambda: f"DLQ InboundDeadLetterQueue <- message {parked[0]['message_id']}" in project_stack.log()
    )
    assert conversation_of(project_stack, contact) is None


def test_every_function_sees_the_moved_clock(project_stack: LocalStack) -> None:
    moved = project_stack.post_json("/_local/clock", {"advance_seconds": 3 * 3600}).json()["now"]
    try:
        assert datetime.fromisoformat(moved) - datetime.now(UTC) > timedelta(hours=2, minutes=59)
        contact = new_contact()
        assert post_webhook(project_stack, messenger_body(contact, f"m_{uuid.uuid4().hex}", "later")) == 200
        conversation = wait_for(lambda: conversation_of(project_stack, contact), what="the message")
    finally:
        project_stack.post_json("/_local/clock", {"reset": True})
    # The processor stamped the conversation with the shared clock, three hours ahead.
    created = datetime.fromisoformat(conversation["created_at"])
    assert created - datetime.now(UTC) > timedelta(hours=2, minutes=50)


def test_unknown_routes_get_404(project_stack: LocalStack) -> None:
    answer = project_stack.get("/webhooks/unknown")
    assert answer.status == 404
    assert answer.json() == {"message": "Not Found"}


def test_a_restart_keeps_the_data(project_stack: LocalStack) -> None:
    if "DynamoDB Local" not in project_stack.log():
        pytest.skip("Java is missing: the stack runs on moto's in-memory DynamoDB")
    contact = new_contact()
    assert (
        post_webhook(project_stack, messenger_body(contact, f"m_{uuid.uuid4().hex}", "before restart")) == 200
    )
    before = wait_for(lambda: conversation_of(project_stack, contact), what="the message")

    assert project_stack.stop() == 0
    assert "stopped" in project_stack.log_tail(5)
    project_stack.start()

    after = conversation_of(project_stack, contact)
    assert after is not None
    assert after["id"] == before["id"]
    assert [m["text"] for m in after["messages"] if m["direction"] == "in"] == ["before restart"]
    assert len(conversations(project_stack)) >= 4
    assert event_bytes(FIXTURE)  # the fixture is still what replay sends
