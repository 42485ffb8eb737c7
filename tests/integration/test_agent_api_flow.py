"""The agent's whole path through the real functions: a Messenger message arrives (webhook → queue →
processor), an agent lists open conversations, replies through the real ``deliver`` (the Send API call is
mocked at HTTP level), resolves; the conversation shows the first response time and the agent. And an
echo typed in Meta's own inbox counts as a response too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import responses

from carehooks import clock
from tests.helpers import event_bytes
from tests.integration.agent_api_client import ADA, api_event, call
from tests.integration.conftest import Aws
from tests.integration.test_meta_end_to_end import post_meta, process

GRAPH = "https://graph.test/v25.0"
PAGE = "112233445566778"
CUSTOMER = "7318845612093471"
ARRIVED = clock.from_epoch_ms(1763798400000)  # the webhook's platform timestamp


@pytest.fixture
def meta(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[responses.RequestsMock]:
    monkeypatch.setenv("META_GRAPH_URL", GRAPH)
    monkeypatch.setenv("META_ACCESS_TOKEN", "page-token")
    sent: list[str] = []

    def send_api(request: Any) -> tuple[int, dict[str, str], str]:
        # The automatic acknowledgement goes first (rules), then the agent's reply: ids in that order.
        metadata = json.loads(request.body)["message"].get("metadata", "")
        message_id = "m_sent_by_ada" if metadata.startswith("agent:") else f"m_auto_{len(sent)}"
        sent.append(message_id)
        return 200, {}, json.dumps({"recipient_id": CUSTOMER, "message_id": message_id})

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.add_callback(responses.POST, f"{GRAPH}/{PAGE}/messages", callback=send_api)
        yield mocked


def agent_sends(meta: responses.RequestsMock) -> list[dict[str, Any]]:
    """The Send API bodies of agent replies (the rules' automatic acknowledgement is left out)."""
    bodies = [json.loads(c.request.body) for c in meta.calls if c.request.method == "POST"]
    return [b for b in bodies if b["message"].get("metadata", "").startswith("agent:")]


def test_a_messenger_message_is_answered_and_resolved_by_an_agent(
    aws: Aws, meta: responses.RequestsMock
) -> None:
    with clock.frozen(ARRIVED + timedelta(minutes=12)):
        # Given a Messenger message that went through the webhook and the processor
        assert post_meta(event_bytes("meta/messenger_text.json"))["statusCode"] == 200
        assert process(aws) == {"batchItemFailures": []}
        # When an agent lists open conversations
        listed = call(api_event("GET", "/api/conversations", query={"status": "open"}))
        assert listed.status == 200
        (item,) = listed.body["items"]
        assert (item["channel"], item["contact_id"]) == ("messenger", CUSTOMER)
        # and replies
        reply = call(api_event("POST", f"/api/conversations/{item['id']}/reply", {"text": "It left today."}))
        assert reply.status == 201, reply.body
        # Then the Send API was called once, as a response in the window, tagged as Ada's reply
        (body,) = agent_sends(meta)
        assert body["recipient"] == {"id": CUSTOMER}
        assert body["messaging_type"] == "RESPONSE"
        assert body["message"]["text"] == "It left today."
        assert body["message"]["metadata"].startswith(f"agent:{item['id']}:")
        assert meta.calls[-1].request.headers["Authorization"] == "Bearer page-token"
        # When the agent resolves it
        resolved = call(api_event("POST", f"/api/conversations/{item['id']}/resolve"))
        assert resolved.status == 200
    # Then the conversation shows the first response time and the agent
    detail = call(api_event("GET", f"/api/conversations/{item['id']}")).body
    assert detail["status"] == "resolved"
    assert detail["first_response_at"] == clock.iso(ARRIVED + timedelta(minutes=12))
    assert detail["first_responder"] == ADA["sub"]
    assert detail["first_response_seconds"] == 720
    # (the automatic acknowledgement the rules sent is there too, and never counted as a response)
    assert [(m["direction"], m["author"]) for m in detail["messages"]] == [
        ("in", None),
        ("out", "carehooks"),
        ("out", ADA["sub"]),
    ]
    assert detail["messages"][2]["platform_message_id"] == "m_sent_by_ada"
    assert [(e["action"], e["actor"]) for e in detail["events"]] == [("resolved", ADA["sub"])]


def test_the_echo_of_the_agents_reply_does_not_count_twice(aws: Aws, meta: responses.RequestsMock) -> None:
    with clock.frozen(ARRIVED + timedelta(minutes=1)):
        post_meta(event_bytes("meta/messenger_text.json"))
        process(aws)
        conv_id = call(api_event("GET", "/api/conversations")).body["items"][0]["id"]
        assert call(api_event("POST", f"/api/conversations/{conv_id}/reply", {"text": "hi"})).status == 201
        # Meta echoes the sent message back with the same mid
        echo = json.loads(event_bytes("meta/messenger_echo.json"))
        messaging = echo["entry"][0]["messaging"][0]
        messaging["message"]["mid"] = "m_sent_by_ada"
        messaging["message"]["metadata"] = f"agent:{conv_id}:x"
        assert post_meta(json.dumps(echo).encode())["statusCode"] == 200
        assert process(aws) == {"batchItemFailures": []}
    detail = call(api_event("GET", f"/api/conversations/{conv_id}")).body
    assert [m["platform_message_id"] for m in detail["messages"]].count("m_sent_by_ada") == 1
    assert detail["message_count"] == len(detail["messages"])
    assert detail["first_responder"] == ADA["sub"]


def test_an_echo_typed_in_metas_own_inbox_counts_as_the_first_response(aws: Aws) -> None:
    # Given a customer message, then a reply a person typed in the Page inbox (an echo without our tag),
    # received when they were sent (a 2025 time received today would be implausible: docs/timestamps.md)
    with clock.frozen(clock.from_epoch_ms(1763798580000) + timedelta(seconds=5)):
        post_meta(event_bytes("meta/messenger_text.json"))
        post_meta(event_bytes("meta/messenger_echo.json"))
    assert process(aws) == {"batchItemFailures": []}
    # Then the agent API shows it as the first response, three minutes after the message
    (item,) = call(api_event("GET", "/api/conversations")).body["items"]
    assert item["first_response_at"] == clock.iso(clock.from_epoch_ms(1763798580000))
    assert item["first_responder"] == "platform-inbox"
    assert item["first_response_seconds"] == 180
    detail = call(api_event("GET", f"/api/conversations/{item['id']}")).body
    assert [(m["direction"], m["author"]) for m in detail["messages"]] == [
        ("in", None),
        ("out", "platform-inbox"),
    ]
