"""Domain events in the local stack: the table's stream → EventsFunction → the bus → GET /_local/events.

Done when (issue 18): a Messenger message, an agent reply, an assignment and a resolution each appear in
/_local/events once, with the right detail-type, and every event validates against its schema.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any

import pytest

from tests.e2e.harness import LocalStack, wait_for
from tests.e2e.test_agent_api_stack import api, customer_says, token_for
from tests.events_support import assert_valid

pytestmark = pytest.mark.e2e


def events_of(stack: LocalStack, conversation_id: str) -> list[dict[str, Any]]:
    answer = stack.get("/_local/events")
    assert answer.status == 200, answer.body
    items: list[dict[str, Any]] = answer.json()["items"]
    return [e for e in items if e["detail"].get("conversation_id") == conversation_id]


def test_a_message_a_reply_an_assignment_and_a_resolution_are_each_published_once(
    project_stack: LocalStack,
) -> None:
    stack = project_stack
    token = token_for(stack, "agent-eve", email="eve@example.com", name="Eve")
    contact = str(7_300_000_000_000_000 + uuid.uuid4().int % 10**15)
    # Given a Messenger message that arrived through the webhook
    customer_says(stack, contact, "my parcel never came")

    def conversation() -> dict[str, Any] | None:
        status, body = api(stack, token, "GET", "/api/conversations?status=open&channel=messenger&limit=100")
        assert status == 200, body
        return next((c for c in body["items"] if c["contact_id"] == contact), None)

    conversation_id = wait_for(conversation, what="the conversation")["id"]
    # When an agent replies, takes it and resolves it
    status, reply = api(
        stack, token, "POST", f"/api/conversations/{conversation_id}/reply", {"text": "On it."}
    )
    assert status == 201, reply
    status, body = api(
        stack, token, "POST", f"/api/conversations/{conversation_id}/assign", {"assignee": "me"}
    )
    assert status == 200, body
    status, body = api(stack, token, "POST", f"/api/conversations/{conversation_id}/resolve", {})
    assert status == 200, body

    # Then each change reaches the bus, with the ids it concerns
    def published() -> list[dict[str, Any]] | None:
        found = events_of(stack, conversation_id)
        kinds = {e["detail-type"] for e in found}
        wanted = {"conversation.created", "message.received", "message.sent", "conversation.assigned"}
        return found if wanted | {"conversation.resolved"} <= kinds else None

    wait_for(published, timeout=60, what="the events of the conversation on the bus")
    time.sleep(3)  # anything published twice would have arrived by now
    found = events_of(stack, conversation_id)
    for event in found:
        assert event["source"] == "carehooks"
        assert event["id"]
        assert event["time"]
        assert_valid(event)
    # once per change (consumers would dedupe on detail.id; the stack publishes each once)
    ids = Counter(e["detail"]["id"] for e in found)
    assert [i for i, n in ids.items() if n > 1] == []
    received = [e for e in found if e["detail-type"] == "message.received"]
    assert len(received) == 1
    assert received[0]["detail"]["contact_id"] == contact
    assert received[0]["detail"]["channel"] == "messenger"
    replies = [
        e for e in found if e["detail-type"] == "message.sent" and e["detail"]["author"] == "agent-eve"
    ]
    assert len(replies) == 1
    assert replies[0]["detail"]["automated"] is False
    assert replies[0]["detail"]["message_id"] == reply["message"]["platform_message_id"]
    taken = [
        e
        for e in found
        if e["detail-type"] == "conversation.assigned" and e["detail"]["assignee"] == "agent-eve"
    ]
    assert len(taken) == 1
    resolved = [e for e in found if e["detail-type"] == "conversation.resolved"]
    assert len(resolved) == 1
    assert resolved[0]["detail"]["assignee"] == "agent-eve"
    assert [e["detail-type"] for e in found].count("conversation.created") == 1
