"""Automation end to end in the local stack (issue 17), observed over HTTP and the outbox only.

1. A Telegram customer writes, an agent answers (the conversation is pending); the clock moves past 48 h
   and AutomationFunction runs (twice, and the scheduler fires it too): the conversation is resolved, the
   closing message is in the outbox once, and the survey follows (SurveyDispatchFunction).
2. An unanswered conversation under a 1-hour policy whose breach rung has ``set_priority: urgent`` and
   ``add_tags: [escalated]`` shows both after the breach, and its events record the actions once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from infra.local.settings import SECRET_DEFAULTS

from tests.e2e.harness import LocalStack, wait_for
from tests.helpers import event_json

pytestmark = pytest.mark.e2e

CLOSING = "We're closing this conversation for now. Write to us any time to reopen it."
CONFIG = f"""
version: automation-e2e
ops: {{recipients: [ops@example.com]}}
surveys: {{delay_minutes: 5}}
sla:
  policies:
    - id: telegram
      when: {{channels: [telegram]}}
      first_response: 1h
      warning: null
      breach:
        actions: [{{set_priority: urgent}}, {{add_tags: [escalated]}}]
automation:
  auto_resolve:
    pending:
      - after: 48h
        message: "{CLOSING}"
"""


@pytest.fixture(scope="module")
def automation_stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LocalStack]:
    folder = tmp_path_factory.mktemp("automation")
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


def customer_says(stack: LocalStack, chat: int, text: str) -> None:
    body = event_json("telegram/message.json")
    body["update_id"] = int(uuid.uuid4().int % 10**9)
    body["message"].update(
        {
            "chat": {**body["message"]["chat"], "id": chat},
            "date": int(stack_now(stack).timestamp()),
            "text": text,
        }
    )
    body["message"]["from"]["id"] = chat
    body["message"]["message_id"] = int(uuid.uuid4().int % 10**6)
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": SECRET_DEFAULTS["TELEGRAM_SECRET_TOKEN"],
    }
    assert stack.request("POST", "/webhooks/telegram", json.dumps(body).encode(), headers).status == 200


def api(stack: LocalStack, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
    token = stack.post_json("/_local/token", {"sub": "agent-ada", "name": "Ada"}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    data = None if payload is None else json.dumps(payload).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    answer = stack.request(method, path, data, headers)
    return answer.status, answer.json() if answer.body else None


def conversation_of(stack: LocalStack, chat: int) -> dict[str, Any] | None:
    items = stack.get("/_local/conversations?limit=500").json()["items"]
    found = [c for c in items if c["contact_id"] == str(chat)]
    return found[0] if found else None


def detail(stack: LocalStack, conv_id: str) -> dict[str, Any]:
    status, body = api(stack, "GET", f"/api/conversations/{conv_id}")
    assert status == 200, body
    return dict(body)


def sent_to(stack: LocalStack, chat: int, needle: str) -> list[dict[str, Any]]:
    return [
        item
        for item in stack.outbox()
        if str(item["body"].get("chat_id")) == str(chat) and needle in json.dumps(item["body"])
    ]


def run(stack: LocalStack, function: str) -> None:
    assert stack.request("POST", f"/_local/run/{function}").status == 200


def test_an_answered_conversation_is_resolved_after_48h_with_one_closing_message_and_a_survey(
    automation_stack: LocalStack,
) -> None:
    stack = automation_stack
    chat = 600_000_000 + uuid.uuid4().int % 10**8
    customer_says(stack, chat, "my order has not arrived")
    conv = wait_for(lambda: conversation_of(stack, chat), timeout=60, what="the conversation")
    status, reply = api(stack, "POST", f"/api/conversations/{conv['id']}/reply", {"text": "It ships today."})
    assert status == 201, reply
    assert reply["conversation"]["status"] == "pending"
    answered = stack_now(stack)

    stack.post_json("/_local/clock", {"set": (answered + timedelta(hours=47)).isoformat()})
    run(stack, "AutomationFunction")
    assert detail(stack, conv["id"])["status"] == "pending"

    stack.post_json("/_local/clock", {"set": (answered + timedelta(hours=48, minutes=2)).isoformat()})
    run(stack, "AutomationFunction")
    run(stack, "AutomationFunction")
    resolved = wait_for(
        lambda: (d := detail(stack, conv["id"]))["status"] == "resolved" and d, timeout=30, what="resolution"
    )
    assert [e["actor"] for e in resolved["events"] if e["action"] == "resolve"] == ["carehooks"]
    assert len(sent_to(stack, chat, "closing this conversation")) == 1

    stack.post_json("/_local/clock", {"advance_seconds": 6 * 60})
    run(stack, "SurveyDispatchFunction")
    run(stack, "AutomationFunction")
    wait_for(lambda: sent_to(stack, chat, "How did we do"), timeout=30, what="the survey")
    assert len(sent_to(stack, chat, "closing this conversation")) == 1
    assert len(sent_to(stack, chat, "How did we do")) == 1


def test_a_breach_rung_sets_priority_and_tag_once(automation_stack: LocalStack) -> None:
    stack = automation_stack
    chat = 700_000_000 + uuid.uuid4().int % 10**8
    started = stack_now(stack)
    customer_says(stack, chat, "still waiting for an answer")
    conv = wait_for(lambda: conversation_of(stack, chat), timeout=60, what="the conversation")
    assert (conv["priority"], conv["tags"]) == ("normal", [])
    stack.post_json("/_local/clock", {"set": (started + timedelta(minutes=61)).isoformat()})
    run(stack, "SlaMonitorFunction")
    run(stack, "SlaMonitorFunction")
    after = wait_for(
        lambda: (d := detail(stack, conv["id"]))["priority"] == "urgent" and d, timeout=30, what="the breach"
    )
    assert after["tags"] == ["escalated"]
    stack.post_json("/_local/clock", {"set": (started + timedelta(minutes=70)).isoformat()})
    run(stack, "SlaMonitorFunction")
    final = detail(stack, conv["id"])
    actions = [e for e in final["events"] if e["action"] == "sla_actions"]
    assert len(actions) == 1
    assert [(a["action"], a["status"]) for a in actions[0]["details"]["actions"]] == [
        ("set_priority", "ran"),
        ("add_tags", "ran"),
    ]
    assert final["tags"] == ["escalated"]
