"""Public conversations in the local stack, over HTTP only (webhooks in; outbox, agent API out).

Done when: a complaint comment arrives, a rule tags it and sends a public acknowledgement plus a private
reply (both in the outbox as the right Graph API calls), an abusive comment is hidden by rule, and the
agent API shows the public conversation linked to its private one. Also: an agent answers publicly in
the thread, and unhides the hidden comment.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from infra.local.settings import SECRET_DEFAULTS

from tests.e2e.harness import LocalStack, wait_for
from tests.helpers import event_json

pytestmark = pytest.mark.e2e

PAGE = "112233445566778"
CONFIG = """
version: public-e2e
acknowledgement:
  templates:
    complaint:
      in_hours: {en: "Hi {contact_name}, sorry about your order. Could you send us its number?"}
      out_of_hours: {en: "Hi {contact_name}, sorry about your order. Could you send us its number?"}
      public:
        in_hours: {en: "We're sorry to hear this. We've sent you a private message to sort it out."}
        out_of_hours: {en: "We're sorry to hear this. We've sent you a private message to sort it out."}
rules:
  - id: troll
    when: {all: [{visibility: public}, {text: {keyword: [idiot, idiots, scam, scammers]}}]}
    then: [hide_comment, {add_tags: [abuse]}, stop]
  - id: complaint
    when: {all: [{visibility: public}, {text: {keyword: [broken, refund]}}]}
    then:
      - add_tags: [complaint]
      - acknowledge: {template: complaint}
      - private_reply: complaint
"""
PUBLIC_ACK = "We're sorry to hear this. We've sent you a private message to sort it out."


@pytest.fixture(scope="module")
def public_stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LocalStack]:
    """The project's stack with comment rules (on moto's DynamoDB: faster to start)."""
    folder = tmp_path_factory.mktemp("public")
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


def someone_comments(stack: LocalStack, text: str) -> tuple[str, str]:
    """A signed feed change: a new top-level comment under the Page's post, now; (comment id, author id)."""
    body = event_json("meta/feed_comment.json")
    value = body["entry"][0]["changes"][0]["value"]
    comment_id = f"556677889900112_{uuid.uuid4().int % 10**16:016d}"
    author = str(4_500_000_000_000_000 + uuid.uuid4().int % 10**15)
    value.update(message=text, comment_id=comment_id, created_time=int(stack_now(stack).timestamp()))
    value["from"] = {"id": author, "name": "Jordan Smith"}
    raw = json.dumps(body).encode()
    signature = hmac.new(SECRET_DEFAULTS["META_APP_SECRET"].encode(), raw, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"}
    assert stack.request("POST", "/webhooks/meta", raw, headers).status == 200
    return comment_id, author


def graph_calls(stack: LocalStack, suffix: str) -> list[dict[str, Any]]:
    return [c for c in stack.outbox() if c["channel"] == "meta" and c["url"].endswith(suffix)]


def api(stack: LocalStack, token: str, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    if payload is None:
        answer = stack.request(method, path, headers=headers)
    else:
        answer = stack.request(
            method, path, json.dumps(payload).encode(), {**headers, "Content-Type": "application/json"}
        )
    return answer.status, answer.json() if answer.body else None


def token_for(stack: LocalStack, sub: str) -> str:
    answer = stack.post_json("/_local/token", {"sub": sub, "name": "Ada"})
    assert answer.status == 200, answer.body
    token: str = answer.json()["token"]
    return token


def public_conversation(stack: LocalStack, token: str, author: str) -> dict[str, Any] | None:
    status, body = api(stack, token, "GET", "/api/conversations?channel=messenger&limit=100")
    assert status == 200, body
    return next((c for c in body["items"] if c["contact_id"] == author and c["public"]), None)


def test_a_complaint_is_answered_publicly_then_privately_and_the_threads_are_linked(
    public_stack: LocalStack,
) -> None:
    stack = public_stack
    token = token_for(stack, "agent-ada")
    # Given a complaint under the Page's post
    comment_id, author = someone_comments(stack, "My blender arrived broken and I want a refund")
    # Then the outbox shows a public reply in the thread, with the public-safe text
    (public_reply,) = wait_for(
        lambda: graph_calls(stack, f"/{comment_id}/comments"), what="the public acknowledgement"
    )
    assert (public_reply["method"], public_reply["body"]) == ("POST", {"message": PUBLIC_ACK})
    # and a private reply: the Send API to the comment, greeting the commenter
    (private_reply,) = wait_for(
        lambda: [
            c
            for c in graph_calls(stack, f"/{PAGE}/messages")
            if c["body"]["recipient"] == {"comment_id": comment_id}
        ],
        what="the private reply",
    )
    assert private_reply["method"] == "POST"
    assert private_reply["body"]["message"]["text"].startswith("Hi Jordan,")
    # And the agent API shows the public conversation, tagged, linked to its private one
    item = wait_for(lambda: public_conversation(stack, token, author), what="the public conversation")
    status, detail = api(stack, token, "GET", f"/api/conversations/{item['id']}")
    assert status == 200
    assert (detail["public"], detail["thread_id"], detail["tags"]) == (True, comment_id, ["complaint"])
    assert detail["linked_conversation_id"]
    status, linked = api(stack, token, "GET", f"/api/conversations/{item['id']}/linked")
    assert status == 200
    assert (linked["id"], linked["public"]) == (detail["linked_conversation_id"], False)
    assert linked["contact_id"] == private_reply["response"]["recipient_id"]
    assert linked["linked_conversation_id"] == item["id"]
    status, private = api(stack, token, "GET", f"/api/conversations/{linked['id']}")
    assert [m["kind"] for m in private["messages"]] == ["private_reply"]
    # When an agent also answers publicly in the thread
    status, reply = api(stack, token, "POST", f"/api/conversations/{item['id']}/reply", {"text": "On it!"})
    assert status == 201, reply
    assert [c["body"] for c in graph_calls(stack, f"/{comment_id}/comments")][-1] == {"message": "On it!"}
    # and tries a second private reply to the same comment: Meta allows one
    status, again = api(
        stack, token, "POST", f"/api/conversations/{item['id']}/private-reply", {"text": "Hi"}
    )
    assert (status, again["error"]["code"]) == (409, "private_reply_used")


def test_an_abusive_comment_is_hidden_by_rule_and_an_agent_can_show_it_again(
    public_stack: LocalStack,
) -> None:
    stack = public_stack
    token = token_for(stack, "agent-ada")
    comment_id, author = someone_comments(stack, "You are scammers and idiots")
    # Then the outbox shows the Graph API hide call, and nothing answers the comment
    (hide,) = wait_for(lambda: graph_calls(stack, f"/{comment_id}"), what="the hide call")
    assert (hide["method"], hide["body"]) == ("POST", {"is_hidden": True})
    item = wait_for(lambda: public_conversation(stack, token, author), what="the public conversation")
    status, detail = api(stack, token, "GET", f"/api/conversations/{item['id']}")
    assert detail["tags"] == ["abuse"]
    (message,) = detail["messages"]
    assert (message["hidden"], message["hidden_by"]) == (True, "rule:troll")
    assert graph_calls(stack, f"/{comment_id}/comments") == []
    # When an agent unhides it (hiding is reversible)
    status, shown = api(stack, token, "POST", f"/api/conversations/{item['id']}/comments/{comment_id}/unhide")
    assert status == 200, shown
    assert shown["comment"]["hidden"] is False
    assert [c["body"] for c in graph_calls(stack, f"/{comment_id}")] == [
        {"is_hidden": True},
        {"is_hidden": False},
    ]
