"""Saved replies through AgentApiFunction's handler, on the template's table under moto: the library
(CRUD, search, validation) and replying with a saved reply."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from carehooks import clock
from carehooks.domain.models import Channel, Conversation, Direction, MessageEvent
from carehooks.inbound.processor import store_message
from carehooks.outbound.models import SendResult
from carehooks.store import Store
from carehooks.wiring.store import make_store
from tests.integration.agent_api_client import (
    ADA,
    BOB,
    PAGE,
    REOPEN_WINDOW,
    T0,
    Answer,
    FakeDeliver,
    api_event,
    call,
    installed,
)
from tests.integration.conftest import TABLE, Aws

NOW = T0 + timedelta(hours=1)
UNKNOWN_ID = "01J" + "0" * 23
FIELDS = {"id", "shortcode", "title", "text", "channels", "languages", "usage_count", "last_used_at"}


@pytest.fixture
def store(aws: Aws) -> Store:
    return make_store(TABLE)


@pytest.fixture
def deliver() -> FakeDeliver:
    return FakeDeliver()


@pytest.fixture
def api(store: Store, deliver: FakeDeliver) -> Iterator[None]:
    with clock.frozen(NOW), installed(store, deliver, clock.now):
        yield


def send(method: str, path: str, body: Any = None, claims: dict[str, str] = ADA, **query: str) -> Answer:
    return call(api_event(method, path, body, query=query or None, claims=claims))


def save(
    shortcode: str = "refund", text: str = "Hi {contact_name}, the refund is on its way.", **more: Any
) -> Any:
    answer = send(
        "POST",
        "/api/saved-replies",
        {"shortcode": shortcode, "title": f"About {shortcode}", "text": text, **more},
    )
    assert answer.status == 201, answer.body
    return answer.body


def customer(
    store: Store, contact: str, name: str | None, channel: Channel = Channel.MESSENGER
) -> Conversation:
    """A customer's message as the processor stores it (with the name the platform gave, if any)."""
    outcome = store_message(
        store,
        MessageEvent(
            channel=channel,
            account_id=PAGE,
            contact_id=contact,
            platform_message_id=f"m_{contact}",
            sent_at=T0,
            direction=Direction.IN,
            text="where is my refund?",
            contact_name=name,
        ),
        T0,
        REOPEN_WINDOW,
    )
    assert outcome.conversation is not None
    return outcome.conversation


def fields_of(answer: Answer) -> set[str]:
    return {f["field"] for f in answer.error.get("fields") or []}


# -- the library ------------------------------------------------------------------------------------
def test_a_saved_reply_is_created_read_replaced_and_deleted(store: Store, api: None) -> None:
    created = save("Refund", channels=["messenger", "whatsapp"], languages=["en", "pt-br"])
    assert set(created) == FIELDS
    assert created["shortcode"] == "refund"  # shortcodes are lower-cased
    assert created["languages"] == ["en", "pt-BR"]
    assert (created["usage_count"], created["last_used_at"]) == (0, None)
    path = f"/api/saved-replies/{created['id']}"
    assert send("GET", path).body == created

    replaced = send(
        "PUT", path, {"shortcode": "refunds", "title": "Refunds", "text": "Refunded, {contact_name}."}
    )
    assert replaced.status == 200
    assert (replaced.body["shortcode"], replaced.body["channels"], replaced.body["languages"]) == (
        "refunds",
        [],
        [],
    )
    assert send("GET", path).body == replaced.body
    # the old shortcode is free again
    save("refund")

    deleted = send("DELETE", path)
    assert deleted.status == 204
    assert deleted.body is None
    assert send("GET", path).status == 404
    save("refunds")  # and so is the deleted one's


def test_a_taken_shortcode_is_409_naming_it_and_nothing_is_stored(store: Store, api: None) -> None:
    first = save("refund")
    again = send("POST", "/api/saved-replies", {"shortcode": "REFUND", "title": "Dup", "text": "Other"})
    assert again.status == 409
    assert again.error["code"] == "conflict"
    assert "refund" in again.error["message"]
    assert fields_of(again) == {"body.shortcode"}
    other = save("delay")
    renamed = send(
        "PUT", f"/api/saved-replies/{other['id']}", {"shortcode": "refund", "title": "x", "text": "y"}
    )
    assert renamed.status == 409
    assert fields_of(renamed) == {"body.shortcode"}
    listed = send("GET", "/api/saved-replies").body["items"]
    assert [(r["shortcode"], r["id"]) for r in listed] == [("delay", other["id"]), ("refund", first["id"])]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("reply_id", [UNKNOWN_ID, "not-an-id", "01j" + "0" * 23])
def test_an_unknown_saved_reply_is_404(store: Store, api: None, method: str, reply_id: str) -> None:
    body = {"shortcode": "a", "title": "b", "text": "c"} if method == "PUT" else None
    answer = send(method, f"/api/saved-replies/{reply_id}", body)
    assert answer.status == 404
    assert answer.error["code"] == "not_found"


@pytest.mark.parametrize(
    ("channels", "text", "named"),
    [
        (["instagram"], "é" * 501, "instagram"),  # 1,002 UTF-8 bytes: Instagram counts bytes (1,000)
        (["messenger"], "a" * 2001, "messenger"),  # 2,000 characters
        (["sms"], "😀" * 801, "sms"),  # 1,602 UTF-16 code units: Twilio's 1,600
        (["x"], "語" * 141, "x"),  # 282 weighted characters (CJK weighs 2): a post's 280
        ([], "a" * 281, "x"),  # for every channel: X's post is the strictest
    ],
)
def test_a_text_over_a_channels_limit_is_422_naming_the_channel_and_the_limit(
    store: Store, api: None, channels: list[str], text: str, named: str
) -> None:
    answer = send(
        "POST", "/api/saved-replies", {"shortcode": "long", "title": "t", "text": text, "channels": channels}
    )
    assert answer.status == 422
    assert fields_of(answer) == {"body.text"}
    [reason] = [f["reason"] for f in answer.error["fields"]]
    assert f"too long for {named} " in reason
    limits = {"instagram": "1000", "messenger": "2000", "sms": "1600", "x": "280"}
    assert f"at most {limits[named]}" in reason
    assert send("GET", "/api/saved-replies").body["items"] == []


def test_a_long_text_is_saved_for_the_channels_it_fits(store: Store, api: None) -> None:
    created = save("long", text="a" * 3000, channels=["whatsapp", "telegram"])
    assert len(created["text"]) == 3000


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"shortcode": "a b", "title": "t", "text": "x"}, "body.shortcode"),
        ({"shortcode": "-a", "title": "t", "text": "x"}, "body.shortcode"),
        ({"shortcode": "a" * 33, "title": "t", "text": "x"}, "body.shortcode"),
        ({"shortcode": "ok", "title": "", "text": "x"}, "body.title"),
        ({"shortcode": "ok", "title": "a\nb", "text": "x"}, "body.title"),
        ({"shortcode": "ok", "title": "t", "text": "   "}, "body.text"),
        ({"shortcode": "ok", "title": "t", "text": "Hi {contact name}"}, "body.text"),
        ({"shortcode": "ok", "title": "t", "text": "Hi {contact_name"}, "body.text"),
        ({"shortcode": "ok", "title": "t", "text": "50% off {}"}, "body.text"),
        ({"shortcode": "ok", "title": "t", "text": "x", "channels": ["fax"]}, "body.channels"),
        ({"shortcode": "ok", "title": "t", "text": "x", "channels": ["sms", "sms"]}, "body.channels"),
        ({"shortcode": "ok", "title": "t", "text": "x", "languages": ["english"]}, "body.languages"),
        ({"shortcode": "ok", "title": "t", "text": "x", "languages": ["en", "EN"]}, "body.languages"),
        ({"shortcode": "ok", "title": "t", "text": "x", "usage_count": 9}, "body.usage_count"),
        ({"shortcode": "ok", "title": "t"}, "body.text"),
    ],
)
def test_an_invalid_saved_reply_is_422_naming_the_field(
    store: Store, api: None, body: Any, field: str
) -> None:
    answer = send("POST", "/api/saved-replies", body)
    assert answer.status == 422
    assert field in fields_of(answer)
    assert send("GET", "/api/saved-replies").body["items"] == []


def test_literal_braces_are_written_doubled(store: Store, api: None, deliver: FakeDeliver) -> None:
    created = save("braces", text="Use the code {{SPRING}} at checkout, {agent_name}.")
    conv = customer(store, "c-braces", None)
    sent = send("POST", f"/api/conversations/{conv.id}/reply", {"saved_reply_id": created["id"]})
    assert sent.status == 201, sent.body
    assert deliver.calls[0][1].text == "Use the code {SPRING} at checkout, Ada Lovelace."


def test_the_library_is_searched_filtered_and_paged(store: Store, api: None) -> None:
    save("refund", title="Refund policy", channels=["messenger"], languages=["en"])
    save("delay", title="Shipping delay", languages=["pt-BR"])
    save("hours", title="Opening hours", channels=["whatsapp"])

    def codes(**query: str) -> list[str]:
        answer = send("GET", "/api/saved-replies", **query)
        assert answer.status == 200, answer.body
        return [r["shortcode"] for r in answer.body["items"]]

    assert codes() == ["delay", "hours", "refund"]
    assert codes(q="REF") == ["refund"]
    assert codes(q="Shipping") == ["delay"]
    assert codes(q="policy") == ["refund"]
    assert codes(channel="whatsapp") == ["delay", "hours"]
    assert codes(language="pt-BR") == ["delay", "hours"]
    first = send("GET", "/api/saved-replies", limit="2").body
    assert [r["shortcode"] for r in first["items"]] == ["delay", "hours"]
    second = send("GET", "/api/saved-replies", limit="2", cursor=first["next"]).body
    assert ([r["shortcode"] for r in second["items"]], second["next"]) == (["refund"], None)
    other = send("GET", "/api/saved-replies", q="re", cursor=first["next"])
    assert (other.status, other.error["code"]) == (400, "invalid_cursor")
    for query, field in [
        ({"channel": "fax"}, "query.channel"),
        ({"language": "e"}, "query.language"),
        ({"limit": "0"}, "query.limit"),
    ]:
        bad = send("GET", "/api/saved-replies", **query)
        assert bad.status == 422
        assert field in fields_of(bad)


def test_saved_replies_need_an_agent_token(store: Store, api: None) -> None:
    answer = call(api_event("GET", "/api/saved-replies", claims=None))
    assert answer.status == 401


# -- replying with a saved reply ----------------------------------------------------------------------
def test_a_saved_reply_is_sent_rendered_recorded_on_the_message_and_counted(
    store: Store, api: None, deliver: FakeDeliver
) -> None:
    created = save("thanks", text="Thanks {contact_name}! {agent_name} here, order {order} is on its way.")
    conv = customer(store, "c-grace", "Grace Hopper")
    answer = send(
        "POST",
        f"/api/conversations/{conv.id}/reply",
        {"saved_reply_id": created["id"], "variables": {"order": "A-1042"}},
    )
    assert answer.status == 201, answer.body
    ((sent_conv, message),) = deliver.calls
    assert sent_conv.id == conv.id
    assert (message.kind, message.author) == ("agent_reply", ADA["sub"])
    assert message.text == "Thanks Grace Hopper! Ada Lovelace here, order A-1042 is on its way."
    assert answer.body["message"]["text"] == message.text
    assert answer.body["message"]["saved_reply_id"] == created["id"]
    assert answer.body["conversation"]["first_responder"] == ADA["sub"]
    detail = send("GET", f"/api/conversations/{conv.id}").body
    assert [m.get("saved_reply_id") for m in detail["messages"]] == [None, created["id"]]
    used = send("GET", f"/api/saved-replies/{created['id']}").body
    assert (used["usage_count"], used["last_used_at"]) == (1, "2026-03-02T10:00:00.000Z")


def test_variables_win_over_the_contact_and_agent_names(
    store: Store, api: None, deliver: FakeDeliver
) -> None:
    created = save("hi", text="Hi {contact_name}, {agent_name} here.")
    conv = customer(store, "c-nick", "Margaret Hamilton")
    answer = send(
        "POST",
        f"/api/conversations/{conv.id}/reply",
        {"saved_reply_id": created["id"], "variables": {"contact_name": "Maggie", "agent_name": "Ada"}},
        claims=BOB,
    )
    assert answer.status == 201, answer.body
    assert deliver.calls[0][1].text == "Hi Maggie, Ada here."


@pytest.mark.parametrize(
    ("text", "claims", "missing"),
    [
        ("Hi {contact_name}", ADA, ["contact_name"]),  # the customer has no name yet
        ("Hi, {agent_name} here", {"sub": "agent-nameless"}, ["agent_name"]),  # a token without a name
        ("Your plan: {attributes.plan}, ref {ref}", ADA, ["attributes.plan", "ref"]),
    ],
)
def test_an_unresolved_placeholder_is_422_naming_it_and_nothing_is_sent_or_counted(
    store: Store, api: None, deliver: FakeDeliver, text: str, claims: dict[str, str], missing: list[str]
) -> None:
    created = save("gap", text=text)
    conv = customer(store, "c-nameless", None)
    answer = send(
        "POST", f"/api/conversations/{conv.id}/reply", {"saved_reply_id": created["id"]}, claims=claims
    )
    assert answer.status == 422
    assert answer.error["code"] == "invalid_input"
    assert fields_of(answer) == {f"body.variables.{name}" for name in missing}
    for name in missing:
        assert "{" + name + "}" in answer.error["message"]
    assert deliver.calls == []
    assert send("GET", f"/api/saved-replies/{created['id']}").body["usage_count"] == 0
    # given as variables, they fill it
    given = dict.fromkeys(missing, "x")
    filled = send(
        "POST",
        f"/api/conversations/{conv.id}/reply",
        {"saved_reply_id": created["id"], "variables": given},
        claims=claims,
    )
    assert filled.status == 201, filled.body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "hi", "saved_reply_id": UNKNOWN_ID}, "body.saved_reply_id"),
        ({"text": "hi", "variables": {"a": "b"}}, "body.variables"),
        ({}, "body.text"),
        ({"saved_reply_id": "refund"}, "body.saved_reply_id"),
        ({"saved_reply_id": UNKNOWN_ID, "variables": {"not a name": "x"}}, "body.variables.not a name.[key]"),
        ({"saved_reply_id": UNKNOWN_ID, "variables": {"a": ""}}, "body.variables.a"),
        ({"saved_reply_id": UNKNOWN_ID, "variables": {"a": "two\nlines"}}, "body.variables.a"),
    ],
)
def test_an_invalid_saved_reply_request_is_422_naming_the_field_and_nothing_is_sent(
    store: Store, api: None, deliver: FakeDeliver, body: Any, field: str
) -> None:
    conv = customer(store, "c-bad", "Grace")
    answer = send("POST", f"/api/conversations/{conv.id}/reply", body)
    assert answer.status == 422
    assert field in fields_of(answer), answer.body
    assert deliver.calls == []


def test_an_unknown_saved_reply_or_conversation_is_404(store: Store, api: None, deliver: FakeDeliver) -> None:
    conv = customer(store, "c-404", "Grace")
    answer = send("POST", f"/api/conversations/{conv.id}/reply", {"saved_reply_id": UNKNOWN_ID})
    assert (answer.status, answer.error["code"]) == (404, "not_found")
    assert "saved reply" in answer.error["message"]
    created = save("ok", text="Hello")
    missing = send("POST", f"/api/conversations/{UNKNOWN_ID}/reply", {"saved_reply_id": created["id"]})
    assert missing.status == 404
    assert deliver.calls == []


def test_a_saved_reply_meant_for_other_channels_is_422(store: Store, api: None, deliver: FakeDeliver) -> None:
    created = save("wa", text="Hello", channels=["whatsapp"])
    conv = customer(store, "c-ms", "Grace")
    answer = send("POST", f"/api/conversations/{conv.id}/reply", {"saved_reply_id": created["id"]})
    assert answer.status == 422
    assert fields_of(answer) == {"body.saved_reply_id"}
    assert "whatsapp" in answer.error["message"]
    assert deliver.calls == []


def test_a_send_the_channel_refuses_is_not_counted(store: Store, api: None, deliver: FakeDeliver) -> None:
    created = save("late", text="Hello {contact_name}")
    conv = customer(store, "c-late", "Grace")
    deliver.result = SendResult(status="skipped", reason="outside the 24-hour messaging window")
    answer = send("POST", f"/api/conversations/{conv.id}/reply", {"saved_reply_id": created["id"]})
    assert (answer.status, answer.error["code"]) == (409, "send_skipped")
    assert send("GET", f"/api/saved-replies/{created['id']}").body["usage_count"] == 0


def test_the_text_form_of_a_reply_is_unchanged(store: Store, api: None, deliver: FakeDeliver) -> None:
    conv = customer(store, "c-text", "Grace")
    answer = send("POST", f"/api/conversations/{conv.id}/reply", {"text": "Hi {contact_name}"})
    assert answer.status == 201
    assert deliver.calls[0][1].text == "Hi {contact_name}"  # typed text is sent as written
    assert answer.body["message"]["saved_reply_id"] is None
