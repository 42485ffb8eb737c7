"""Hostile input at every webhook: fuzzed bodies, signed or not, never a 5xx and never a queued event
for a refused body.

Properties, for the four webhook functions (Meta, X, Telegram, Twilio):

- a correctly signed body of the wrong shape answers 4xx with ``{"error": {"code", "message"}}`` and
  queues nothing; when it is still a valid webhook it answers 200, every queued message is one real
  SQS would take, and every queued event parses or is refused as malformed (never another error);
- an unsigned (or wrongly signed) body answers 4xx and queues nothing;
- no input gives a 5xx: the platform would retry it forever.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carehooks.domain.models import MalformedEventError, MessageEvent, QueuedEvent
from carehooks.inbound.parking import parse_queued
from tests.channel_support import StubSqs
from tests.helpers import http_event
from tests.hostile_support import (
    UNICODE_EDGES,
    WEBHOOKS,
    WRONG_VALUES,
    Webhook,
    assert_rejected_cleanly,
    assert_sqs_would_accept,
    count,
    fuzz,
    install_quiet_stub,
    json_bytes,
    paths,
    removed,
    replaced,
    sent_entries,
)

JSON_HOOKS = [w for w in WEBHOOKS.values() if w.content_type == "application/json"]
ALL_HOOKS = list(WEBHOOKS.values())


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> StubSqs:
    return install_quiet_stub(monkeypatch)


def outcome(webhook: Webhook, stub: StubSqs, response: dict[str, Any], since: int) -> int:
    """Check the webhook's answer against the properties above; the status."""
    status = int(response["statusCode"])
    assert status < 500, response
    entries = sent_entries(stub, since)
    if status >= 400:
        assert_rejected_cleanly(response)
        assert entries == [], "a refused body queued events"
        return status
    assert status == 200
    for event in assert_sqs_would_accept(entries):
        assert_parses_or_is_malformed(event)
    return status


def assert_parses_or_is_malformed(event: QueuedEvent) -> None:
    """The adapter's documented outcomes: canonical events, or MalformedEventError (parked)."""
    try:
        parsed = parse_queued(event)
    except MalformedEventError as error:
        code = error.code
    else:
        assert isinstance(parsed, list)
        return
    assert code in ("malformed_record", "malformed_payload")


def signed(webhook: Webhook, stub: StubSqs, raw: bytes, content_type: str | None = None) -> int:
    count(f"webhook:{webhook.name}")
    since = len(stub.calls)
    return outcome(webhook, stub, webhook.post_signed(raw, content_type), since)


hooks = st.sampled_from(ALL_HOOKS)
json_hooks = st.sampled_from(JSON_HOOKS)


# ---------------------------------------------------------------- arbitrary bytes
@fuzz(400)
@given(webhook=hooks, raw=st.binary(max_size=600))
def test_signed_arbitrary_bytes_never_answer_5xx_or_queue_a_refused_body(
    stub: StubSqs, webhook: Webhook, raw: bytes
) -> None:
    signed(webhook, stub, raw)


@fuzz(300)
@given(
    webhook=hooks,
    raw=st.binary(max_size=300),
    signature=st.one_of(st.none(), st.text(max_size=80), st.sampled_from(["sha256=", "sha1=abc", "=="])),
)
def test_unsigned_or_wrongly_signed_bytes_are_refused(
    stub: StubSqs, webhook: Webhook, raw: bytes, signature: str | None
) -> None:
    # Given a body with no signature, or a made-up one
    count(f"webhook:{webhook.name}")
    header_name = next(iter(webhook.sign(b"")))
    headers = {"content-type": webhook.content_type}
    if signature is not None:
        headers[header_name] = signature
    # When it is posted, Then it is refused and nothing is queued
    response = webhook.call(raw, headers)
    assert_rejected_cleanly(response)
    assert stub.calls == []


@fuzz(200)
@given(webhook=hooks, data=st.data())
def test_unsigned_real_bodies_are_refused_with_401(
    stub: StubSqs, webhook: Webhook, data: st.DataObject
) -> None:
    count(f"webhook:{webhook.name}")
    raw = data.draw(st.sampled_from(webhook.sample_bytes()))
    response = webhook.call(raw, {"content-type": webhook.content_type})
    assert response["statusCode"] == 401
    assert assert_rejected_cleanly(response) == "invalid_signature"
    assert stub.calls == []


# ---------------------------------------------------------------- content types
WRONG_TYPES = [
    "text/plain",
    "application/xml",
    "multipart/form-data; boundary=x",
    "application/json-patch+json",
    "text/html; charset=utf-8",
    "application/octet-stream",
]


@fuzz(150)
@given(webhook=hooks, content_type=st.sampled_from([*WRONG_TYPES, "application/json"]), data=st.data())
def test_a_signed_real_body_declared_as_another_type_is_a_415(
    stub: StubSqs, webhook: Webhook, content_type: str, data: st.DataObject
) -> None:
    if content_type == webhook.content_type:
        content_type = "text/plain"
    raw = data.draw(st.sampled_from(webhook.sample_bytes()))
    assert signed(webhook, stub, raw, content_type) == 415


# ---------------------------------------------------------------- truncation
@fuzz(400)
@given(webhook=hooks, data=st.data())
def test_truncated_real_bodies_are_refused_or_still_valid(
    stub: StubSqs, webhook: Webhook, data: st.DataObject
) -> None:
    raw = data.draw(st.sampled_from(webhook.sample_bytes()))
    cut = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    status = signed(webhook, stub, raw[:cut])
    if webhook.content_type == "application/json":
        # A strict prefix of a JSON object is never a JSON object.
        assert status == 400


# ---------------------------------------------------------------- wrong types in every field
def _json_documents(webhook: Webhook) -> list[Any]:
    return [json.loads(raw) for raw in webhook.sample_bytes()]


@fuzz(900)
@given(webhook=json_hooks, data=st.data())
def test_wrong_json_types_in_any_field_of_a_real_body_never_break_the_webhook(
    stub: StubSqs, webhook: Webhook, data: st.DataObject
) -> None:
    # Given a real body with one branch or leaf replaced by a value of another type, or removed
    document = data.draw(st.sampled_from(_json_documents(webhook)))
    path = data.draw(st.sampled_from(list(paths(document))))
    mutation = data.draw(st.sampled_from([*WRONG_VALUES, *UNICODE_EDGES, "<removed>"]))
    mutated = removed(document, path) if mutation == "<removed>" else replaced(document, path, mutation)
    # When it is posted correctly signed, Then it is refused cleanly or accepted into valid messages
    signed(webhook, stub, json_bytes(mutated))


@fuzz(300)
@given(data=st.data())
def test_wrong_values_in_any_twilio_field_never_break_the_webhook(stub: StubSqs, data: st.DataObject) -> None:
    webhook = WEBHOOKS["twilio"]
    raw = data.draw(st.sampled_from(webhook.sample_bytes()))
    fields = parse_qsl(raw.decode(), keep_blank_values=True)
    index = data.draw(st.integers(min_value=0, max_value=len(fields) - 1))
    value = data.draw(
        st.one_of(
            st.sampled_from(["", "whatsapp:", "messenger:+1", " +1 415 555", "+" * 200, "%ZZ", "=&="]),
            st.sampled_from(UNICODE_EDGES),
            st.text(max_size=40),
        )
    )
    action = data.draw(st.sampled_from(["replace", "remove", "duplicate"]))
    name = fields[index][0]
    if action == "replace":
        fields[index] = (name, value)
    elif action == "remove":
        del fields[index]
    else:
        fields.append((name, value))
    encoded = urlencode([(k, v.encode("utf-8", "surrogatepass")) for k, v in fields]).encode()
    signed(webhook, stub, encoded)


# ---------------------------------------------------------------- unicode in bytes
RAW_EDGES = [
    b"\xef\xbb\xbf",  # a UTF-8 BOM
    b"\xc0\xaf",  # an overlong "/"
    b"\xed\xa0\x80",  # a surrogate encoded as UTF-8
    b"\xff",
    b"\x00",
]


@fuzz(250)
@given(webhook=hooks, edge=st.sampled_from(RAW_EDGES), data=st.data())
def test_invalid_utf8_anywhere_in_a_signed_body_never_breaks_the_webhook(
    stub: StubSqs, webhook: Webhook, edge: bytes, data: st.DataObject
) -> None:
    raw = data.draw(st.sampled_from(webhook.sample_bytes()))
    at = data.draw(st.integers(min_value=0, max_value=len(raw)))
    status = signed(webhook, stub, raw[:at] + edge + raw[at:])
    if webhook.content_type == "application/json" and edge not in (b"\x00", b"\xef\xbb\xbf"):
        assert status == 400  # not UTF-8, so not JSON


def test_an_escaped_lone_surrogate_in_a_message_is_kept_as_a_replacement_character(stub: StubSqs) -> None:
    # Given a signed Messenger text whose emoji was cut in half ("\ud83d" without its low half)
    raw = (
        b'{"object":"page","entry":[{"id":"1","time":1,"messaging":[{"sender":{"id":"2"},'
        b'"recipient":{"id":"1"},"timestamp":1763798400000,"message":{"mid":"m.1","text":"ok \\ud83d"}}]}]}'
    )
    # When it is posted, Then it is accepted and the text keeps everything but the broken half
    assert signed(WEBHOOKS["meta"], stub, raw) == 200
    (event,) = stub.events()
    (message,) = parse_queued(event)
    assert isinstance(message, MessageEvent)
    assert message.text == "ok \ufffd"


def test_a_noncharacter_sqs_refuses_is_queued_escaped(stub: StubSqs) -> None:
    raw = (
        b'{"update_id":7,"message":{"message_id":1,"chat":{"id":5},"date":1763798400,'
        b'"text":"a\\uffffb\\u0000c"}}'
    )
    assert signed(WEBHOOKS["telegram"], stub, raw) == 200
    (entry,) = sent_entries(stub)
    assert "\uffff" not in entry["MessageBody"]
    (message,) = parse_queued(QueuedEvent.model_validate_json(entry["MessageBody"]))
    assert isinstance(message, MessageEvent)
    assert message.text == "a\uffffb\x00c"


# ---------------------------------------------------------------- deep nesting
def _deep_bodies(webhook: Webhook, depth: int) -> list[bytes]:
    """The whole body nested, and a real body with its deepest field nested ``depth`` levels more."""
    document = json.loads(webhook.sample_bytes()[0])
    deepest = max(paths(document), key=len)
    nested = b"[" * depth + b"1" + b"]" * depth
    whole = b"[" * depth + b"]" * depth
    return [whole, json_bytes(replaced(document, deepest, "__deep__")).replace(b'"__deep__"', nested)]


@pytest.mark.parametrize("depth", [40, 1_000, 10_000, 100_000])
@pytest.mark.parametrize("webhook", JSON_HOOKS, ids=lambda w: w.name)
def test_deeply_nested_json_is_a_400_not_a_500(stub: StubSqs, webhook: Webhook, depth: int) -> None:
    for raw in _deep_bodies(webhook, depth):
        assert signed(webhook, stub, raw) == 400
        assert "error" in json.loads(webhook.post_signed(raw)["body"])
    assert stub.calls == []


def test_a_deeply_nested_form_is_just_text_to_twilio(stub: StubSqs) -> None:
    webhook = WEBHOOKS["twilio"]
    raw = webhook.sample_bytes()[0] + b"&Extra=" + b"%5B" * 10_000
    assert signed(webhook, stub, raw) == 200


# ---------------------------------------------------------------- base64
@fuzz(200)
@given(
    webhook=hooks,
    body=st.one_of(
        st.text(max_size=60).filter(lambda t: not _is_base64(t)),
        st.sampled_from(["!!!!", "abc", "YQ", "YQ=", "Y Q==", "\ud800", "====", "YWJj\n"]),
    ),
)
def test_a_body_flagged_base64_that_is_not_base64_is_a_400(
    stub: StubSqs, webhook: Webhook, body: str
) -> None:
    count(f"webhook:{webhook.name}")
    event = http_event("POST", webhook.path, b"", {"content-type": webhook.content_type})
    event.update(body=body, isBase64Encoded=True)
    response = webhook.call(None, {}, event=event)
    assert response["statusCode"] == 400
    assert assert_rejected_cleanly(response) == "malformed_body"
    assert stub.calls == []


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("webhook", ALL_HOOKS, ids=lambda w: w.name)
def test_a_real_body_sent_as_base64_is_accepted(stub: StubSqs, webhook: Webhook) -> None:
    raw = webhook.sample_bytes()[0]
    response = webhook.call(raw, webhook.headers(raw), base64_body=True)
    assert response["statusCode"] == 200
    assert stub.calls


# ---------------------------------------------------------------- the API Gateway event itself
@pytest.mark.parametrize("webhook", ALL_HOOKS, ids=lambda w: w.name)
@pytest.mark.parametrize(
    "change",
    [
        {"body": "{\ud800}"},
        {"body": 12345},
        {"body": ["a"]},
        {"headers": "x"},
        {"headers": None},
        {"queryStringParameters": "a=b"},
        {"requestContext": None},
        {"requestContext": {"http": "POST"}},
        {"isBase64Encoded": True, "body": 5},
    ],
    ids=lambda c: "-".join(f"{k}={type(v).__name__}" for k, v in c.items()),
)
def test_a_malformed_api_gateway_event_is_a_4xx(
    stub: StubSqs, webhook: Webhook, change: dict[str, Any]
) -> None:
    count(f"webhook:{webhook.name}")
    event = http_event("POST", webhook.path, b"{}", {"content-type": webhook.content_type})
    event.update(change)
    assert_rejected_cleanly(webhook.call(None, {}, event=event))
    assert stub.calls == []
