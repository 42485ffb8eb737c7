"""The agent API refuses bodies it does not speak the same way on every route, and decodes its paths.

What a fuzzer found (issue 15): 500s for a multipart body without a boundary, JSON nested 100,000
levels, an integer of 5,000 digits and a dry run dated before 1970 or in the year 9999; ``null``,
``[null, null]`` and form bodies accepted (``add=x`` even added the tag "x"); percent-encoded path
parameters not decoded, so ``%2B15005550006`` found nothing where ``+15005550006`` found the customer.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from infra.local.apigw import Router, build_event
from infra.local.model import JwtAuthorizer, Route

from carehooks import clock
from carehooks.api.body import MAX_BODY_BYTES
from carehooks.domain.models import Channel, Conversation
from carehooks.store import Store
from carehooks.wiring.store import make_store
from tests.integration.agent_api_client import ADA, T0, Answer, FakeDeliver, api_event, call, inbound, install
from tests.integration.conftest import TABLE, Aws

# Every POST route, with a body each would accept.
POSTS: dict[str, Any] = {
    "reply": {"text": "hi"},
    "assign": {"assignee": "me"},
    "unassign": {},
    "tags": {"add": ["vip"]},
    "priority": {"priority": "high"},
    "resolve": {},
    "reopen": {},
    "private-reply": {"text": "hi"},
    "comments/c1/hide": {},
    "comments/c1/unhide": {},
}
TWILIO_NUMBER = "+15005550006"
CUSTOMER = "+14156664824"


@pytest.fixture
def store(aws: Aws) -> Store:
    return make_store(TABLE)


@pytest.fixture
def deliver() -> FakeDeliver:
    return FakeDeliver()


@pytest.fixture
def conv(store: Store, deliver: FakeDeliver) -> Iterator[Conversation]:
    with clock.frozen(T0):
        gen = install(store, deliver, clock.now)
        next(gen)
        try:
            yield inbound(store, "hard-1", "hello", T0)
        finally:
            gen.close()


def post_raw(path: str, raw: str | None, content_type: str | None = "application/json") -> Answer:
    event = api_event("POST", path, raw=raw)
    event["headers"].pop("content-type", None)
    if content_type is not None:
        event["headers"]["content-type"] = content_type
    return call(event)


def every_post(conv: Conversation) -> list[str]:
    return [*(f"/api/conversations/{conv.id}/{action}" for action in POSTS), "/api/rules/test"]


# -- content type: 415 ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        ("--x\r\nContent-Disposition: form-data; name=add\r\n\r\nx\r\n--x--\r\n", "multipart/form-data"),
        ("--x\r\n\r\n", "multipart/form-data; charset=utf-8"),
        ("add=x", "application/x-www-form-urlencoded"),
        ('{"add": ["x"]}', "text/plain"),
        ('{"add": ["x"]}', "application/jsonx"),
        ('{"add": ["x"]}', None),
    ],
    ids=["multipart without boundary", "multipart, no parts", "form", "text", "lookalike", "no type"],
)
def test_a_body_that_is_not_sent_as_json_is_a_415_on_every_post_route(
    conv: Conversation, store: Store, raw: str, content_type: str | None
) -> None:
    for path in every_post(conv):
        answer = post_raw(path, raw, content_type)
        assert answer.status == 415, (path, answer.body)
        assert answer.error["code"] == "unsupported_media_type"
    # and nothing changed: the form's add=x did not add the tag "x"
    after = store.get_conversation(conv.id)
    assert after is not None
    assert after.tags == conv.tags
    assert after.status == "open"


def test_json_with_a_charset_parameter_is_json(conv: Conversation) -> None:
    answer = post_raw(
        f"/api/conversations/{conv.id}/tags", '{"add": ["vip"]}', "Application/JSON; charset=utf-8"
    )
    assert answer.status == 200, answer.body
    assert answer.body["tags"] == ["vip"]


# -- JSON: 400 -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000, "[" * 33 + "]" * 33, "NaN", "{"],
    ids=["100,000 arrays", "100,000 objects", "33 levels", "NaN", "broken"],
)
def test_json_too_deep_or_broken_is_400_invalid_json_on_every_post_route(
    conv: Conversation, raw: str
) -> None:
    for path in every_post(conv):
        answer = post_raw(path, raw)
        assert answer.status == 400, (path, answer.body)
        assert answer.error["code"] == "invalid_json"


def test_json_nested_within_the_limit_reaches_the_model(conv: Conversation) -> None:
    raw = json.dumps({"text": "hi", "extra": json.loads("[" * 30 + "]" * 30)})
    answer = post_raw(f"/api/conversations/{conv.id}/reply", raw)
    assert answer.status == 422
    assert "body.extra" in {f["field"] for f in answer.error["fields"]}


# -- shape: 422 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", ["null", "[null, null]", "[]", '"resolve"', "42", "true"])
def test_a_json_body_that_is_not_an_object_is_422_on_every_post_route(
    conv: Conversation, store: Store, raw: str
) -> None:
    for path in every_post(conv):
        answer = post_raw(path, raw)
        assert answer.status == 422, (path, answer.body)
        assert answer.error["code"] == "invalid_input"
        assert answer.error["fields"] == [{"field": "body", "reason": "the body must be a JSON object"}]
    after = store.get_conversation(conv.id)
    assert after is not None
    assert (after.status, after.assignee) == ("open", None)


@pytest.mark.parametrize("digits", [1_001, 5_000, 100_000])
def test_an_integer_of_thousands_of_digits_is_422_not_a_500(conv: Conversation, digits: int) -> None:
    for path in every_post(conv):
        answer = post_raw(path, '{"version": ' + "9" * digits + "}")
        assert answer.status == 422, (path, answer.body)
        assert answer.error["code"] == "invalid_input"
    negative = post_raw(f"/api/conversations/{conv.id}/resolve", '{"version": -' + "9" * digits + "}")
    assert negative.status == 422


def test_a_long_but_convertible_integer_is_judged_by_the_model(conv: Conversation) -> None:
    answer = post_raw(f"/api/conversations/{conv.id}/resolve", '{"version": ' + "9" * 1_000 + "}")
    assert answer.status == 422
    assert answer.error["fields"][0]["field"] == "body.version"


def test_an_optional_body_may_be_absent_or_an_object(conv: Conversation) -> None:
    assert post_raw(f"/api/conversations/{conv.id}/assign", '{"assignee": "me"}').status == 200
    assert post_raw(f"/api/conversations/{conv.id}/unassign", None, None).status == 200
    assert post_raw(f"/api/conversations/{conv.id}/resolve", "{}").status == 200
    assert post_raw(f"/api/conversations/{conv.id}/reopen", None, None).status == 200


# -- size: 413 -------------------------------------------------------------------------------------------
def test_a_body_over_one_mebibyte_is_413(conv: Conversation) -> None:
    raw = json.dumps({"text": "x" * MAX_BODY_BYTES})
    for path in every_post(conv):
        answer = post_raw(path, raw)
        assert answer.status == 413, path
        assert answer.error["code"] == "payload_too_large"


def test_a_body_that_is_not_text_is_400_invalid_body(conv: Conversation) -> None:
    event = api_event("POST", f"/api/conversations/{conv.id}/reply", raw="")
    event["body"], event["isBase64Encoded"] = base64.b64encode(b"\xff\xfe{}").decode(), True
    answer = call(event)
    assert (answer.status, answer.error["code"]) == (400, "invalid_body")


# -- the rules dry run's time ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "at",
    [
        "1969-12-31T23:59:59Z",
        "1960-01-01T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "2100-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-14:00",
    ],
)
def test_a_dry_run_before_1970_or_in_the_far_future_is_422(conv: Conversation, at: str) -> None:
    answer = call(api_event("POST", "/api/rules/test", {"channel": "sms", "text": "hi", "at": at}))
    assert answer.status == 422, answer.body
    assert answer.error["fields"][0]["field"] == "body.at"


@pytest.mark.parametrize("at", ["1970-01-01T00:00:00Z", "1970-01-01T01:00:00+01:00", "2099-12-31T23:59:59Z"])
def test_a_dry_run_at_the_edges_of_the_window_answers(conv: Conversation, at: str) -> None:
    answer = call(api_event("POST", "/api/rules/test", {"channel": "sms", "text": "hi", "at": at}))
    assert answer.status == 200, answer.body


# -- paths: percent-decoded like API Gateway's pathParameters -----------------------------------------------
def history(path: str) -> list[str]:
    answer = call(api_event("GET", path))
    assert answer.status == 200, answer.body
    return [item["id"] for item in answer.body["items"]]


@pytest.fixture
def phones(store: Store, conv: Conversation) -> dict[Channel, Conversation]:
    return {
        channel: inbound(
            store, CUSTOMER, "hello", T0, mid=f"SM{channel}", channel=channel, account=TWILIO_NUMBER
        )
        for channel in (Channel.SMS, Channel.TWILIO_WHATSAPP)
    }


@pytest.mark.parametrize(
    ("channel", "account", "contact"),
    [
        ("sms", "+15005550006", "+14156664824"),
        ("sms", "%2B15005550006", "%2B14156664824"),
        ("sms", "%2b15005550006", "%2B1415%36664824"),
        ("twilio_whatsapp", "+15005550006", "+14156664824"),
        ("twilio_whatsapp", "%2B15005550006", "%2B14156664824"),
        ("twilio_whatsapp", "whatsapp:+15005550006", "whatsapp:+14156664824"),
        ("twilio_whatsapp", "whatsapp%3A%2B15005550006", "whatsapp%3A%2B14156664824"),
    ],
)
def test_a_phone_number_finds_its_customer_written_plain_or_percent_encoded(
    phones: dict[Channel, Conversation], channel: str, account: str, contact: str
) -> None:
    found = history(f"/api/contacts/{channel}/{account}/{contact}/conversations")
    assert found == [phones[Channel(channel)].id]


def test_an_encoded_slash_stays_inside_its_segment(store: Store, conv: Conversation) -> None:
    odd = inbound(store, "a/b", "hello", T0, mid="m_slash")
    assert history(f"/api/contacts/messenger/{odd.account_id}/a%2Fb/conversations") == [odd.id]
    missing = call(api_event("GET", f"/api/conversations/{conv.id}%2Fhistory"))
    assert missing.status == 404


def test_a_plus_is_not_a_space_in_a_path(phones: dict[Channel, Conversation]) -> None:
    assert history("/api/contacts/sms/%2015005550006/%2014156664824/conversations") == []


# -- through the local stack's API Gateway --------------------------------------------------------------------
ROUTE = Route(
    method="ANY",
    path="/api/{proxy+}",
    function="AgentApiFunction",
    event="Api",
    authorizer=JwtAuthorizer(name="AgentJwt", issuer="https://local", audience=("carehooks",)),
)


def through_the_local_gateway(raw_path: str) -> dict[str, Any]:
    found = Router([ROUTE]).match("GET", raw_path)
    assert found is not None
    route, params = found
    return build_event(
        route,
        params,
        "GET",
        raw_path,
        "",
        [("Host", "127.0.0.1:3000")],
        b"",
        "127.0.0.1",
        datetime(2026, 3, 2, 9, 0),
        {"jwt": {"claims": dict(ADA), "scopes": None}},
    )


@pytest.mark.parametrize("encoded", [False, True])
@pytest.mark.parametrize("channel", ["sms", "twilio_whatsapp"])
def test_the_local_gateways_event_finds_the_customer_both_ways(
    phones: dict[Channel, Conversation], channel: str, encoded: bool
) -> None:
    number, customer = ("%2B15005550006", "%2B14156664824") if encoded else (TWILIO_NUMBER, CUSTOMER)
    event = through_the_local_gateway(f"/api/contacts/{channel}/{number}/{customer}/conversations")
    # API Gateway keeps rawPath as sent and decodes pathParameters
    assert event["pathParameters"] == {
        "proxy": f"contacts/{channel}/{TWILIO_NUMBER}/{CUSTOMER}/conversations"
    }
    answer = call(event)
    assert answer.status == 200, answer.body
    assert [item["id"] for item in answer.body["items"]] == [phones[Channel(channel)].id]


# -- JSON types are not coerced (the fuzzer's "schema-violating request accepted") ---------------------------
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/rules/test", {"channel": "sms", "text": "hi", "read_history": 0}, "body.read_history"),
        ("/api/rules/test", {"channel": "sms", "text": "hi", "read_history": "false"}, "body.read_history"),
        ("/api/rules/test", {"channel": "sms", "text": "hi", "at": 0}, "body.at"),
        ("/api/rules/test", {"channel": "sms", "text": "hi", "at": "1772442000"}, "body.at"),
        ("/api/rules/test", {"channel": "sms", "text": "hi", "at": "2026-03-02"}, "body.at"),
        ("/api/rules/test", {"channel": "sms", "text": "hi", "at": "2026-03-02T09:00:00"}, "body.at"),
        ("resolve", {"version": "3"}, "body.version"),
        ("resolve", {"version": 3.0}, "body.version"),
        ("resolve", {"version": True}, "body.version"),
    ],
)
def test_a_value_of_another_json_type_is_422_not_coerced(
    conv: Conversation, path: str, body: dict[str, Any], field: str
) -> None:
    url = path if path.startswith("/") else f"/api/conversations/{conv.id}/{path}"
    answer = call(api_event("POST", url, body))
    assert answer.status == 422, answer.body
    assert field in {f["field"] for f in answer.error["fields"]}


def test_a_query_parameter_the_route_does_not_take_is_a_422_that_names_it(conv: Conversation) -> None:
    # A typo is refused, never silently ignored (it would answer the unfiltered list)
    answer = call(api_event("GET", "/api/conversations", query={"stauts": "open", "limit": "5"}))
    assert answer.status == 422
    assert answer.body["error"]["code"] == "invalid_input"
    assert answer.body["error"]["fields"] == [{"field": "query.stauts", "reason": "unknown parameter"}]
    assert call(api_event("GET", f"/api/conversations/{conv.id}", query={"": "x"})).status == 422
    # while the parameters a route declares pass
    assert call(api_event("GET", "/api/conversations", query={"status": "open", "limit": "5"})).status == 200
    assert call(api_event("GET", f"/api/conversations/{conv.id}")).status == 200
