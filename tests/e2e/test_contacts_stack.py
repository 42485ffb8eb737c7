"""Contacts on the local stack, over HTTP (issue 16, done when 1, 3 and 4):

1. a Messenger text from a new customer shows the sandbox's profile name in the conversation resource;
3. a note on the contact is listed and appears in no outbound call;
4. linking the customer's WhatsApp identity makes the contact history list both conversations.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

import pytest
from infra.local.sandbox import profile_fields, sandbox_profile
from infra.local.settings import SECRET_DEFAULTS

from tests.e2e.harness import LocalStack, wait_for
from tests.e2e.test_agent_api_stack import PAGE, api, customer_says, stack_now, token_for
from tests.helpers import event_json

pytestmark = pytest.mark.e2e

WA_NUMBER = "106540352242922"
MARK = "E2ENOTEMARK-5K1"


def whatsapp_says(stack: LocalStack, wa_id: str, text: str) -> None:
    body = event_json("meta/whatsapp_text.json")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = wa_id
    message = value["messages"][0]
    message.update(
        {
            "from": wa_id,
            "id": f"wamid.{uuid.uuid4().hex}",
            "timestamp": str(int(stack_now(stack).timestamp())),
            "text": {"body": text},
        }
    )
    raw = json.dumps(body).encode()
    signature = hmac.new(SECRET_DEFAULTS["META_APP_SECRET"].encode(), raw, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"}
    assert stack.request("POST", "/webhooks/meta", raw, headers).status == 200


def test_a_new_messenger_customer_is_named_noted_and_linked(project_stack: LocalStack) -> None:
    stack = project_stack
    token = token_for(stack, "agent-ada", email="ada@example.com", name="Ada")
    psid = str(7_200_000_000_000_000 + uuid.uuid4().int % 10**15)
    wa_id = str(16_500_000_000 + uuid.uuid4().int % 10**9)
    expected = sandbox_profile(f"/{psid}", profile_fields("?fields=first_name,last_name,profile_pic"))
    name = f"{expected['first_name']} {expected['last_name']}"
    contact = f"/api/contacts/messenger/{PAGE}/{psid}"

    # 1. A Messenger text from a new customer: the conversation shows the sandbox's profile name
    customer_says(stack, psid, "hello, is anyone there?")

    def named() -> dict[str, Any] | None:
        status, body = api(stack, token, "GET", f"{contact}/conversations")
        if status != 200 or not body["items"] or body["items"][0]["contact_name"] != name:
            return None
        return dict(body["items"][0])

    conv = wait_for(named, what="the profile name on the conversation")
    status, detail = api(stack, token, "GET", f"/api/conversations/{conv['id']}")
    assert status == 200
    assert detail["contact_name"] == name
    status, person = api(stack, token, "GET", contact)
    assert status == 200
    assert person["name"] == name
    assert person["avatar_url"] == expected["profile_pic"]

    # 3. A note on the contact is listed, and appears in no outbound call
    status, note = api(stack, token, "POST", f"{contact}/notes", {"text": f"{MARK} prefers mornings"})
    assert status == 201, note
    status, notes = api(stack, token, "GET", f"{contact}/notes")
    assert [n["id"] for n in notes["items"]] == [note["id"]]
    status, reply = api(stack, token, "POST", f"/api/conversations/{conv['id']}/reply", {"text": "Hello!"})
    assert status == 201, reply
    assert MARK not in json.dumps(stack.outbox())

    # 4. Linking the customer's WhatsApp identity: the history lists both conversations
    whatsapp_says(stack, wa_id, "it's me again, on WhatsApp")
    wa_contact = f"/api/contacts/whatsapp/{WA_NUMBER}/{wa_id}"
    wait_for(lambda: api(stack, token, "GET", wa_contact)[0] == 200, what="the WhatsApp contact")
    link = {"channel": "whatsapp", "account_id": WA_NUMBER, "contact_id": wa_id}
    status, linked = api(stack, token, "POST", f"{contact}/links", link)
    assert status == 200, linked
    status, history = api(stack, token, "GET", f"{contact}/conversations")
    assert status == 200
    assert sorted(c["channel"] for c in history["items"]) == ["messenger", "whatsapp"]
