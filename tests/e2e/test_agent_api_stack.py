"""The agent API in the local stack, over HTTP with development tokens, as an agent's tool would use it.

- Done when: a Messenger message arrives, an agent lists open conversations, replies (the outbox shows
  the Send API call), and resolves; the conversation shows its first response time and the agent.
- Every /api route refuses a missing, expired, wrongly signed, or foreign (issuer/audience) token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from datetime import datetime
from typing import Any

import jwt
import pytest
from infra.local.settings import SECRET_DEFAULTS

from carehooks.api.app import build_app
from tests.e2e.harness import LocalStack, wait_for
from tests.helpers import event_json

pytestmark = pytest.mark.e2e

PAGE = "112233445566778"
SAMPLE_PARAMS = {
    "conversation_id": "01JZZZZZZZZZZZZZZZZZZZZZZZ",
    "channel": "messenger",
    "account_id": PAGE,
    "contact_id": "7318845612093471",
    "comment_id": "556677889900112_1029384756473829",
    "saved_reply_id": "01JZZZZZZZZZZZZZZZZZZZZZZZ",
    "other_channel": "whatsapp",
    "other_account_id": "106540352242922",
    "other_contact_id": "16505551234",
    "note_id": "01JZZZZZZZZZZZZZZZZZZZZZZZ",
}


def stack_now(stack: LocalStack) -> datetime:
    return datetime.fromisoformat(stack.get("/_local/clock").json()["now"].replace("Z", "+00:00"))


def customer_says(stack: LocalStack, contact: str, text: str) -> None:
    """A signed Messenger text from ``contact``, stamped with the stack's clock (inside the window)."""
    body = event_json("meta/messenger_text.json")
    event = body["entry"][0]["messaging"][0]
    event["sender"]["id"] = contact
    event["timestamp"] = int(stack_now(stack).timestamp() * 1000)
    event["message"] = {"mid": f"m_{uuid.uuid4().hex}", "text": text}
    raw = json.dumps(body).encode()
    signature = hmac.new(SECRET_DEFAULTS["META_APP_SECRET"].encode(), raw, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"}
    assert stack.request("POST", "/webhooks/meta", raw, headers).status == 200


def token_for(stack: LocalStack, sub: str, **claims: str) -> str:
    answer = stack.post_json("/_local/token", {"sub": sub, **claims})
    assert answer.status == 200, answer.body
    token: str = answer.json()["token"]
    return token


def api(stack: LocalStack, token: str | None, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if payload is None:
        answer = stack.request(method, path, headers=headers)
    else:
        answer = stack.request(
            method, path, json.dumps(payload).encode(), {**headers, "Content-Type": "application/json"}
        )
    return answer.status, answer.json() if answer.body else None


def test_an_agent_lists_replies_and_resolves_a_messenger_conversation(project_stack: LocalStack) -> None:
    stack = project_stack
    token = token_for(stack, "agent-ada", email="ada@example.com", name="Ada")
    contact = str(7_100_000_000_000_000 + uuid.uuid4().int % 10**15)
    # Given a Messenger message that arrived through the webhook
    customer_says(stack, contact, "where is my order? #1234")

    def listed() -> dict[str, Any] | None:
        status, body = api(stack, token, "GET", "/api/conversations?status=open&channel=messenger&limit=100")
        assert status == 200, body
        return next((c for c in body["items"] if c["contact_id"] == contact), None)

    # When the agent lists open conversations, it is there
    item = wait_for(listed, what="the conversation in the open list")
    assert item["status"] == "open"
    assert item["first_response_at"] is None
    # and the agent replies
    before = len(stack.outbox())
    status, reply = api(
        stack, token, "POST", f"/api/conversations/{item['id']}/reply", {"text": "It left today."}
    )
    assert status == 201, reply
    # Then the outbox shows the Send API call, with the agent's text, to this customer
    calls = [c for c in stack.outbox()[before:] if "It left today." in json.dumps(c["body"])]
    assert len(calls) == 1
    (call,) = calls
    assert call["channel"] == "meta"  # the outbox names the platform API called
    assert call["method"] == "POST"
    assert call["url"].endswith(f"/{PAGE}/messages")
    assert call["body"]["recipient"] == {"id": contact}
    assert call["body"]["message"]["metadata"].startswith(f"agent:{item['id']}:")
    # When the agent resolves it
    status, resolved = api(stack, token, "POST", f"/api/conversations/{item['id']}/resolve", {})
    assert (status, resolved["status"]) == (200, "resolved")
    # Then the conversation shows its first response time and the agent
    status, detail = api(stack, token, "GET", f"/api/conversations/{item['id']}")
    assert status == 200
    assert detail["first_response_at"] == reply["message"]["sent_at"]
    assert detail["first_responder"] == "agent-ada"
    assert detail["first_response_seconds"] is not None
    assert detail["first_response_seconds"] >= 0
    assert [e["action"] for e in detail["events"]] == ["resolved"]
    assert detail["events"][0]["actor_name"] == "Ada"
    # and resolving it again is a conflict
    assert api(stack, token, "POST", f"/api/conversations/{item['id']}/resolve", {})[0] == 409


def api_routes() -> list[tuple[str, str]]:
    document = json.loads(build_app().get_openapi_json_schema())
    return sorted(
        (method.upper(), re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PARAMS[m.group(1)], path))
        for path, operations in document["paths"].items()
        for method in operations
    )


def bad_tokens(stack: LocalStack) -> dict[str, str | None]:
    """Tokens the authorizer must refuse: none, expired, signed with another key, another issuer/audience."""
    secret = (stack.data_dir / "jwt-secret").read_text(encoding="utf-8").strip()
    good = jwt.decode(token_for(stack, "agent-ada"), options={"verify_signature": False})
    now = int(time.time())
    return {
        "missing": None,
        "garbage": "not-a-jwt",
        "expired": jwt.encode({**good, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}, secret),
        "wrongly signed": jwt.encode(good, "another-key-entirely-another-key-entirely"),
        "foreign issuer": jwt.encode({**good, "iss": "https://evil.example.com/"}, secret),
        "foreign audience": jwt.encode({**good, "aud": "someone-else"}, secret),
        "unsigned": jwt.encode(good, None, algorithm="none"),
    }


def test_every_api_route_refuses_a_missing_expired_or_wrongly_signed_token(project_stack: LocalStack) -> None:
    tokens = bad_tokens(project_stack)
    routes = api_routes()
    assert len(routes) >= 12
    for method, path in routes:
        for name, token in tokens.items():
            status, _ = api(project_stack, token, method, path, {} if method == "POST" else None)
            assert status == 401, (method, path, name)
    # while a valid development token gets through
    good = token_for(project_stack, "agent-ada")
    assert api(project_stack, good, "GET", "/api/conversations")[0] == 200


def test_an_image_reply_shows_the_platforms_attachment_call_in_the_outbox(project_stack: LocalStack) -> None:
    stack = project_stack
    token = token_for(stack, "agent-ada", name="Ada")
    contact = str(7_200_000_000_000_000 + uuid.uuid4().int % 10**15)
    customer_says(stack, contact, "can you send a photo of the parcel?")

    def listed() -> dict[str, Any] | None:
        status, body = api(stack, token, "GET", "/api/conversations?status=open&channel=messenger&limit=100")
        assert status == 200, body
        return next((c for c in body["items"] if c["contact_id"] == contact), None)

    item = wait_for(listed, what="the conversation in the open list")
    # An IP literal on the public internet: judged without a lookup, so the test needs no network
    image = f"https://93.184.215.14/parcels/{uuid.uuid4().hex}.jpg"
    before = len(stack.outbox())
    # When the agent replies with an image
    status, reply = api(
        stack,
        token,
        "POST",
        f"/api/conversations/{item['id']}/reply",
        {"attachments": [{"url": image, "type": "image"}]},
    )
    assert status == 201, reply
    # Then the outbox shows Messenger's attachment call with the image's URL
    (call,) = [c for c in stack.outbox()[before:] if image in json.dumps(c["body"])]
    assert call["url"].endswith(f"/{PAGE}/messages")
    assert call["body"]["recipient"] == {"id": contact}
    assert call["body"]["message"]["attachment"] == {
        "type": "image",
        "payload": {"url": image, "is_reusable": False},
    }
    # and the conversation shows the image on the agent's message
    status, detail = api(stack, token, "GET", f"/api/conversations/{item['id']}")
    assert status == 200
    (sent,) = [m for m in detail["messages"] if m["author"] == "agent-ada"]
    assert [(a["type"], a["url"]) for a in sent["attachments"]] == [("image", image)]
    # while an http URL is refused before anything is sent
    before = len(stack.outbox())
    status, refused = api(
        stack,
        token,
        "POST",
        f"/api/conversations/{item['id']}/reply",
        {"attachments": [{"url": image.replace("https://", "http://"), "type": "image"}]},
    )
    assert status == 422, refused
    assert len(stack.outbox()) == before


def whatsapp_customer_says(stack: LocalStack, contact: str, name: str, text: str) -> None:
    """A signed WhatsApp text from ``contact``, whose profile name the webhook carries."""
    body = event_json("meta/whatsapp_text.json")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0] = {"profile": {"name": name}, "wa_id": contact}
    value["messages"][0].update(
        {
            "from": contact,
            "id": f"wamid.{uuid.uuid4().hex}",
            "timestamp": str(int(stack_now(stack).timestamp())),
        }
    )
    value["messages"][0]["text"] = {"body": text}
    raw = json.dumps(body).encode()
    signature = hmac.new(SECRET_DEFAULTS["META_APP_SECRET"].encode(), raw, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"}
    assert stack.request("POST", "/webhooks/meta", raw, headers).status == 200


def test_an_agent_replies_with_a_saved_reply_and_the_outbox_shows_the_customers_name(
    project_stack: LocalStack,
) -> None:
    stack = project_stack
    token = token_for(stack, "agent-ada", name="Ada")
    contact = "1650" + str(uuid.uuid4().int % 10**7).zfill(7)
    # Given a saved reply with placeholders, and a WhatsApp customer whose name the webhook gave
    status, saved = api(
        stack,
        token,
        "POST",
        "/api/saved-replies",
        {
            "shortcode": f"thanks-{uuid.uuid4().hex[:8]}",
            "title": "Thanks",
            "text": "Thanks {contact_name}, {agent_name} here.",
        },
    )
    assert status == 201, saved
    whatsapp_customer_says(stack, contact, "Sheena Nelson", "is my order late?")

    def listed() -> dict[str, Any] | None:
        status, body = api(stack, token, "GET", "/api/conversations?status=open&channel=whatsapp&limit=100")
        assert status == 200, body
        return next((c for c in body["items"] if c["contact_id"] == contact), None)

    item = wait_for(listed, what="the WhatsApp conversation in the open list")
    # When the agent replies with the saved reply
    before = len(stack.outbox())
    status, reply = api(
        stack, token, "POST", f"/api/conversations/{item['id']}/reply", {"saved_reply_id": saved["id"]}
    )
    assert status == 201, reply
    # Then the outbox shows the WhatsApp send with the customer's and the agent's names filled in
    # (the customer's acknowledgement may reach the outbox meanwhile on a loaded machine: only the agent's
    # sends, which end with the agent's name, are the reply's)
    calls = [
        c
        for c in stack.outbox()[before:]
        if (c.get("body") or {}).get("to") == contact
        and "Ada here" in (c["body"].get("text") or {}).get("body", "")
    ]
    assert len(calls) == 1
    assert calls[0]["body"]["text"]["body"] == "Thanks Sheena Nelson, Ada here."
    assert reply["message"]["saved_reply_id"] == saved["id"]
    # and the saved reply counts its use
    status, used = api(stack, token, "GET", f"/api/saved-replies/{saved['id']}")
    assert (status, used["usage_count"]) == (200, 1)
