"""Public conversations through the real functions under moto: comment webhooks → queue → processor →
rules (hide, public acknowledgement, private reply) → the Graph API (mocked at HTTP level) → the agent API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses

from carehooks import clock
from carehooks.config import loader
from carehooks.domain.models import Channel, Conversation, Direction, Message
from carehooks.public.replies import PrivateReplyRetryError
from carehooks.store import Store, keys
from carehooks.wiring.inbound import process as process_queued
from carehooks.wiring.store import get_store
from tests.helpers import event_bytes, event_json
from tests.integration.agent_api_client import api_event, call
from tests.integration.conftest import Aws
from tests.integration.test_meta_end_to_end import post_meta, process

GRAPH = "https://graph.test/v25.0"
PAGE = "112233445566778"
TOP = "556677889900112_1029384756473829"
REPLY = "556677889900112_1029384756473901"
AUTHOR = "4567890123456789"
PSID = "7318845612093471"  # the commenter's page-scoped id, as the private reply's answer names it
IG_ACCOUNT = "17841405822304914"
IG_TOP = "17865799348089039"
IGSID = "6021459874123365"
COMMENTED = clock.from_epoch_ms(1763798400000)
SOON = COMMENTED + timedelta(minutes=1)

CONFIG = """
version: public-it
ops: {recipients: [ops@example.com]}
acknowledgement:
  cooldown_hours: 0
  templates:
    complaint:
      in_hours: {en: "Hi {contact_name}, sorry about your order. Could you send us its number?"}
      out_of_hours: {en: "Hi {contact_name}, sorry about your order. Could you send us its number?"}
      public:
        in_hours: {en: "We're sorry to hear this. We've sent you a private message to sort it out."}
        out_of_hours: {en: "We're sorry to hear this. We've sent you a private message to sort it out."}
sla:
  policies:
    - {id: public-comments, when: {public: true}, first_response: 15m}
    - {id: direct, when: {public: false}, first_response: 1h}
rules:
  - id: troll
    when: {all: [{visibility: public}, {text: {keyword: [idiot, scam, scammers]}}]}
    then: [hide_comment, {add_tags: [abuse]}, stop]
  - id: complaint
    when: {all: [{visibility: public}, {text: {keyword: [broken, refund]}}]}
    then:
      - add_tags: [complaint]
      - set_priority: high
      - acknowledge: {template: complaint}
      - private_reply: complaint
"""


@dataclass
class Graph:
    """The Graph API as the tests see it: every call, and failures to answer next."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        path = request.path_url.removeprefix("/v25.0/")
        body = json.loads(request.body or b"{}")
        self.calls.append((path, body))
        if self.failures:
            status, error = self.failures.pop(0)
            return status, {}, json.dumps(error)
        if path.endswith(("/comments", "/replies")):
            answer: dict[str, Any] = {"id": f"reply_{len(self.calls)}"}
        elif path.endswith("/messages"):
            recipient = body["recipient"].get("id") or (IGSID if path.startswith("me/") else PSID)
            answer = {"recipient_id": recipient, "message_id": f"m_out_{len(self.calls)}"}
        else:
            answer = {"success": True}
        return 200, {}, json.dumps(answer)

    def to(self, suffix: str) -> list[dict[str, Any]]:
        return [body for path, body in self.calls if path.endswith(suffix)]


@pytest.fixture
def graph(aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Graph]:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("CAREHOOKS_CONFIG", str(config))
    monkeypatch.delenv("CONFIG_PARAMETER", raising=False)
    monkeypatch.setenv("META_GRAPH_URL", GRAPH)
    monkeypatch.setenv("META_ACCESS_TOKEN", "page-token")
    loader.reset()
    fake = Graph()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.add_callback(responses.POST, re.compile(rf"{re.escape(GRAPH)}/.*"), callback=fake.answer)
        yield fake
    loader.reset()


def arrive(aws: Aws, raw: bytes, at: datetime = SOON, received: datetime | None = None) -> dict[str, Any]:
    """The webhook receives ``raw`` at ``received`` (default: ``at``), the processor runs at ``at``."""
    with clock.frozen(received or at):
        assert post_meta(raw)["statusCode"] == 200
    with clock.frozen(at):
        return process(aws)


def comment_body(text: str, comment_id: str = TOP, author: str = AUTHOR, parent: str | None = None) -> bytes:
    body = event_json("meta/feed_comment.json")
    value = body["entry"][0]["changes"][0]["value"]
    value.update(message=text, comment_id=comment_id, **{"from": {"id": author, "name": "Jordan Smith"}})
    if parent is not None:
        value["parent_id"] = parent
    return json.dumps(body).encode()


def thread(
    store: Store, thread_id: str = TOP, channel: str = "messenger", account: str = PAGE
) -> Conversation:
    conv = store.latest_conversation(channel, account, "", thread_id)
    assert conv is not None
    return conv


def comment(store: Store, comment_id: str, thread_id: str = TOP) -> Message:
    found = store.get_message("messenger", PAGE, "", comment_id, thread_id)
    assert found is not None
    return found


# -- the complaint ----------------------------------------------------------------------------------
def test_a_complaint_is_tagged_answered_publicly_then_privately_and_linked(aws: Aws, graph: Graph) -> None:
    # Given a complaint under the Page's post
    assert arrive(aws, event_bytes("meta/feed_comment.json")) == {"batchItemFailures": []}
    store = get_store()
    public = thread(store)
    # Then it is one public conversation of its thread, tagged and prioritised by the rule
    assert (public.public, public.thread_id, public.contact_id) == (True, TOP, AUTHOR)
    assert (public.tags, public.priority) == (["complaint"], "high")
    assert public.extra["post_id"] == "112233445566778_556677889900112"
    assert public.extra["permalink"].startswith("https://www.facebook.com/")
    # and the thread got a public acknowledgement that names nobody
    (public_reply,) = graph.to(f"{TOP}/comments")
    assert public_reply == {
        "message": "We're sorry to hear this. We've sent you a private message to sort it out."
    }
    # and the commenter a private reply, which may greet them
    (private_reply,) = graph.to(f"{PAGE}/messages")
    assert private_reply["recipient"] == {"comment_id": TOP}
    assert private_reply["message"]["text"].startswith("Hi Jordan,")
    # The private reply continues in the author's private conversation, linked both ways
    private = store.latest_conversation("messenger", PAGE, PSID)
    assert private is not None
    assert private.public is False
    assert private.extra["linked_public_id"] == public.id
    assert thread(store).extra["linked_private_id"] == private.id
    (dm,) = store.messages(private)
    assert (dm.direction, dm.kind, dm.extra["from_public_conversation"]) == (
        Direction.OUT,
        "private_reply",
        public.id,
    )
    # and the decision says what happened to each side effect
    decision = comment(store, TOP).extra["rules"]
    assert (decision["ack"]["status"], decision["private_reply"]["status"]) == ("sent", "sent")
    assert decision["private_reply"]["private_conversation_id"] == private.id


def test_the_customer_answering_the_private_reply_continues_the_linked_conversation(
    aws: Aws, graph: Graph
) -> None:
    arrive(aws, event_bytes("meta/feed_comment.json"))
    store = get_store()
    private_id = thread(store).extra["linked_private_id"]
    # When the commenter answers the direct message in Messenger
    raw = event_bytes("meta/messenger_text.json").replace(b"where is my order? #1234", b"It is order #4411")
    arrive(aws, raw, SOON + timedelta(minutes=5))
    # Then the answer is in the linked private conversation, not a new one
    (private,) = store.contact_conversations("messenger", PAGE, PSID)
    assert private.id == private_id
    assert [m.text for m in store.messages(private) if m.direction is Direction.IN] == ["It is order #4411"]


def test_public_and_private_conversations_run_their_own_sla_policies(aws: Aws, graph: Graph) -> None:
    arrive(aws, event_bytes("meta/feed_comment.json"))
    raw = event_bytes("meta/messenger_text.json").replace(b"where is my order? #1234", b"It is order #4411")
    arrive(aws, raw, SOON + timedelta(minutes=5))
    store = get_store()
    private = store.latest_conversation("messenger", PAGE, PSID)
    assert private is not None
    assert thread(store).extra["sla"]["policy"] == "public-comments"
    assert private.extra["sla"]["policy"] == "direct"


def test_the_echo_of_our_public_reply_is_not_stored_twice(aws: Aws, graph: Graph) -> None:
    arrive(aws, event_bytes("meta/feed_comment.json"))
    store = get_store()
    before = thread(store).message_count
    # When the Page's own comment (our acknowledgement) comes back as a feed change
    ours = next(m for m in store.messages(thread(store)) if m.direction is Direction.OUT)
    echo = event_json("meta/feed_page_reply.json")
    echo["entry"][0]["changes"][0]["value"]["comment_id"] = ours.platform_message_id
    arrive(aws, json.dumps(echo).encode())
    assert thread(store).message_count == before


def test_a_comment_typed_by_the_page_in_metas_tools_counts_as_a_response(aws: Aws, graph: Graph) -> None:
    arrive(aws, event_bytes("meta/feed_comment.json"))
    arrive(aws, event_bytes("meta/feed_page_reply.json"), SOON + timedelta(minutes=30))
    public = thread(get_store())
    assert public.first_responder == "platform-inbox"


def test_a_redelivered_complaint_is_answered_once(aws: Aws, graph: Graph) -> None:
    raw = event_bytes("meta/feed_comment.json")
    arrive(aws, raw)
    arrive(aws, raw, SOON + timedelta(minutes=10))
    assert len(graph.to(f"{TOP}/comments")) == 1
    assert len(graph.to(f"{PAGE}/messages")) == 1
    assert thread(get_store()).message_count == 2  # the comment and our reply


def test_a_rate_limited_private_reply_is_retried_and_sent_once(aws: Aws, graph: Graph) -> None:
    assert post_meta(event_bytes("meta/feed_comment.json"))["statusCode"] == 200
    (record,) = aws.drain()
    store = get_store()
    # The public acknowledgement goes out, then Meta refuses the private reply for now
    graph.failures.extend([(200, {"id": "reply_ok"}), (400, {"error": {"message": "(#4) limit", "code": 4}})])
    with clock.frozen(SOON), pytest.raises(PrivateReplyRetryError, match="rate limit"):
        process_queued(record["body"], store)
    assert comment(store, TOP).extra["rules"]["private_reply"] == {"status": "pending"}
    # When SQS delivers the record again
    with clock.frozen(SOON + timedelta(seconds=30)):
        process_queued(record["body"], store)
        process_queued(record["body"], store)
    assert len(graph.to(f"{TOP}/comments")) == 1  # the acknowledgement is not posted again
    assert len(graph.to(f"{PAGE}/messages")) == 2  # refused once, then sent once
    assert comment(store, TOP).extra["rules"]["private_reply"]["status"] == "sent"


def test_a_comment_processed_more_than_7_days_late_gets_no_private_reply(aws: Aws, graph: Graph) -> None:
    arrive(aws, event_bytes("meta/feed_comment.json"), COMMENTED + timedelta(days=8), received=SOON)
    decision = comment(get_store(), TOP).extra["rules"]["private_reply"]
    assert decision["status"] == "skipped"
    assert "within 7 days" in decision["reason"]
    assert graph.to(f"{PAGE}/messages") == []


# -- the troll ---------------------------------------------------------------------------------------
def test_an_abusive_comment_is_hidden_by_rule_and_not_answered(aws: Aws, graph: Graph) -> None:
    arrive(aws, comment_body("You are scammers and idiots"))
    store = get_store()
    assert graph.calls == [(TOP, {"is_hidden": True})]
    hidden = comment(store, TOP)
    assert (hidden.extra["hidden"], hidden.extra["hidden_by"]) == (True, "rule:troll")
    assert hidden.extra["rules"]["hide"] == {"status": "done", "rule": "troll"}
    assert thread(store).tags == ["abuse"]


# -- threads, edits, removals -------------------------------------------------------------------------
def test_replies_join_the_thread_and_edits_and_removals_change_messages_in_place(
    aws: Aws, graph: Graph
) -> None:
    arrive(aws, event_bytes("meta/feed_comment.json"))
    arrive(aws, event_bytes("meta/feed_comment_reply.json"), SOON + timedelta(minutes=5))
    store = get_store()
    public = thread(store)
    assert [m.platform_message_id for m in store.messages(public) if m.direction is Direction.IN] == [
        TOP,
        REPLY,
    ]
    # When the author edits the comment and the other person removes their reply
    arrive(aws, event_bytes("meta/feed_comment_edited.json"), SOON + timedelta(minutes=10))
    arrive(aws, event_bytes("meta/feed_comment_removed.json"), SOON + timedelta(minutes=15))
    # Then no message is added; the comment has its new text and its history, the reply is marked removed
    assert thread(store).message_count == public.message_count
    edited = comment(store, TOP)
    assert edited.text.endswith("order #4411.")
    assert [e["text"] for e in edited.extra["edits"]] == [
        "My blender arrived broken and nobody answers my emails. I want a refund."
    ]
    assert comment(store, REPLY).extra["deleted"] is True
    # and the same edit delivered again changes nothing more
    arrive(aws, event_bytes("meta/feed_comment_edited.json"), SOON + timedelta(minutes=20))
    assert len(comment(store, TOP).extra["edits"]) == 1


def test_an_edit_of_a_comment_never_received_is_stored_as_it_reads_now(aws: Aws, graph: Graph) -> None:
    arrive(aws, event_bytes("meta/feed_comment_edited.json"))
    found = comment(get_store(), TOP)
    assert found.text.endswith("order #4411.")


# -- the agent API ------------------------------------------------------------------------------------
def test_the_agent_api_shows_the_public_conversation_linked_to_its_private_one(
    aws: Aws, graph: Graph
) -> None:
    arrive(aws, event_bytes("meta/feed_comment.json"))
    public_id = thread(get_store()).id
    answer = call(api_event("GET", f"/api/conversations/{public_id}"))
    assert answer.status == 200
    assert (answer.body["public"], answer.body["thread_id"]) == (True, TOP)
    private_id = answer.body["linked_conversation_id"]
    linked = call(api_event("GET", f"/api/conversations/{public_id}/linked"))
    assert (linked.status, linked.body["id"], linked.body["public"]) == (200, private_id, False)
    back = call(api_event("GET", f"/api/conversations/{private_id}"))
    assert back.body["linked_conversation_id"] == public_id
    assert [m["kind"] for m in back.body["messages"]] == ["private_reply"]


def test_an_agent_replies_publicly_in_the_thread(aws: Aws, graph: Graph) -> None:
    arrive(aws, comment_body("Do you ship to Ireland?"))
    public_id = thread(get_store()).id
    with clock.frozen(SOON + timedelta(minutes=3)):
        answer = call(api_event("POST", f"/api/conversations/{public_id}/reply", {"text": "Yes, we do!"}))
    assert answer.status == 201, answer.body
    assert graph.to(f"{TOP}/comments") == [{"message": "Yes, we do!"}]
    assert answer.body["conversation"]["first_responder"] == "agent-ada"


def test_an_agent_answers_a_comment_privately_once(aws: Aws, graph: Graph) -> None:
    arrive(aws, comment_body("Do you ship to Ireland?"))
    public_id = thread(get_store()).id
    with clock.frozen(SOON + timedelta(minutes=3)):
        first = call(
            api_event("POST", f"/api/conversations/{public_id}/private-reply", {"text": "Hi! Which county?"})
        )
        again = call(
            api_event(
                "POST",
                f"/api/conversations/{public_id}/private-reply",
                {"text": "Hi again", "comment_id": TOP},
            )
        )
    assert first.status == 201, first.body
    assert first.body["message"]["text"] == "Hi! Which county?"
    assert first.body["conversation"]["linked_conversation_id"] == first.body["private_conversation"]["id"]
    assert first.body["private_conversation"]["linked_conversation_id"] == public_id
    assert first.body["private_conversation"]["contact_id"] == PSID
    assert (again.status, again.error["code"]) == (409, "private_reply_used")
    assert len(graph.to(f"{PAGE}/messages")) == 1


def test_a_private_reply_after_7_days_is_refused_and_the_comment_can_still_be_answered_later(
    aws: Aws, graph: Graph
) -> None:
    arrive(aws, comment_body("Do you ship to Ireland?"))
    public_id = thread(get_store()).id
    with clock.frozen(COMMENTED + timedelta(days=8)):
        late = call(api_event("POST", f"/api/conversations/{public_id}/private-reply", {"text": "Hi"}))
    assert (late.status, late.error["code"]) == (409, "send_skipped")
    assert graph.to(f"{PAGE}/messages") == []
    # nothing was sent, so the comment's one private reply is not spent
    assert get_store().claim(keys.PRIVATE_REPLY_CLAIM_KIND, TOP, SOON, timedelta(days=1)) is True


def test_private_replies_are_only_for_public_threads_and_known_comments(aws: Aws, graph: Graph) -> None:
    arrive(aws, event_bytes("meta/messenger_text.json"))
    arrive(aws, comment_body("Do you ship to Ireland?"))
    store = get_store()
    direct = store.latest_conversation("messenger", PAGE, PSID)
    assert direct is not None
    not_public = call(api_event("POST", f"/api/conversations/{direct.id}/private-reply", {"text": "Hi"}))
    assert (not_public.status, not_public.error["code"]) == (409, "conflict")
    unknown = call(
        api_event(
            "POST",
            f"/api/conversations/{thread(store).id}/private-reply",
            {"text": "Hi", "comment_id": "nope_1"},
        )
    )
    assert unknown.status == 404


def test_an_agent_hides_and_unhides_a_comment_and_both_are_recorded(aws: Aws, graph: Graph) -> None:
    arrive(aws, comment_body("Do you ship to Ireland?"))
    public_id = thread(get_store()).id
    hidden = call(api_event("POST", f"/api/conversations/{public_id}/comments/{TOP}/hide"))
    assert hidden.status == 200, hidden.body
    assert (hidden.body["comment"]["hidden"], hidden.body["comment"]["hidden_by"]) == (True, "agent-ada")
    shown = call(api_event("POST", f"/api/conversations/{public_id}/comments/{TOP}/unhide"))
    assert shown.body["comment"]["hidden"] is False
    assert graph.calls == [(TOP, {"is_hidden": True}), (TOP, {"is_hidden": False})]
    detail = call(api_event("GET", f"/api/conversations/{public_id}")).body
    assert [(e["action"], e["details"]) for e in detail["events"]] == [
        ("comment_hidden", {"comment_id": TOP}),
        ("comment_unhidden", {"comment_id": TOP}),
    ]
    assert detail["messages"][0]["hidden"] is False


def test_hiding_what_is_not_a_customer_comment_is_refused_without_a_platform_call(
    aws: Aws, graph: Graph
) -> None:
    arrive(aws, comment_body("Do you ship to Ireland?"))
    arrive(aws, event_bytes("meta/feed_page_reply.json"), SOON + timedelta(minutes=30))
    public_id = thread(get_store()).id
    page_comment = "556677889900112_1029384756473955"
    own = call(api_event("POST", f"/api/conversations/{public_id}/comments/{page_comment}/hide"))
    unknown = call(api_event("POST", f"/api/conversations/{public_id}/comments/nope_1/hide"))
    assert (own.status, unknown.status) == (409, 404)
    assert graph.calls == []


def test_a_refused_hide_is_a_conflict_and_is_not_recorded(aws: Aws, graph: Graph) -> None:
    arrive(aws, comment_body("Do you ship to Ireland?"))
    public_id = thread(get_store()).id
    graph.failures.append((400, {"error": {"message": "(#100) cannot hide", "code": 100}}))
    refused = call(api_event("POST", f"/api/conversations/{public_id}/comments/{TOP}/hide"))
    assert (refused.status, refused.error["code"]) == (409, "moderation_refused")
    assert "hidden" not in comment(get_store(), TOP).extra


# -- Instagram -----------------------------------------------------------------------------------------
def test_an_instagram_complaint_is_answered_with_a_reply_and_a_private_reply(aws: Aws, graph: Graph) -> None:
    arrive(
        aws,
        event_bytes("meta/instagram_comment.json"),
        clock.from_epoch_ms(1763798401000) + timedelta(minutes=1),
    )
    store = get_store()
    public = thread(store, IG_TOP, "instagram", IG_ACCOUNT)
    assert (public.channel, public.tags) == (Channel.INSTAGRAM, ["complaint"])
    assert graph.to(f"{IG_TOP}/replies") == [
        {"message": "We're sorry to hear this. We've sent you a private message to sort it out."}
    ]
    (private_reply,) = graph.to("me/messages")
    assert private_reply["recipient"] == {"comment_id": IG_TOP}
    private = store.latest_conversation("instagram", IG_ACCOUNT, IGSID)
    assert private is not None
    assert private.extra["linked_public_id"] == public.id


def test_a_private_reply_meta_took_without_naming_the_recipient_is_not_sent_again(
    aws: Aws, graph: Graph
) -> None:
    arrive(aws, comment_body("Do you ship to Ireland?"))
    public_id = thread(get_store()).id
    graph.failures.append((200, {"message_id": "m_unknown_recipient"}))
    with clock.frozen(SOON + timedelta(minutes=3)):
        answer = call(api_event("POST", f"/api/conversations/{public_id}/private-reply", {"text": "Hi!"}))
        again = call(api_event("POST", f"/api/conversations/{public_id}/private-reply", {"text": "Hi!"}))
    # It went out, but its conversation is unknown: the agent is told, and it is never sent twice
    assert answer.status == 503
    assert (again.status, again.error["code"]) == (409, "private_reply_used")
    assert len(graph.to(f"{PAGE}/messages")) == 1
