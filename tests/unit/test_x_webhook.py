"""XWebhookFunction in-process: CRC, signature (platforms.md §5.1 vectors), failure paths, splitting."""

from __future__ import annotations

import json
import logging

import pytest

from carehooks.channels.x import signature
from carehooks.channels.x.ingress import split
from carehooks.domain.models import Channel
from tests.channel_support import X_SECRET, StubSqs, error_code, install_stub_sqs, post, x_signature
from tests.helpers import META_SECRET, event_bytes, meta_signature

NOW_ISO = "2024-06-10T14:05:00+00:00"
VECTOR_SECRET = "z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu"


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> StubSqs:
    return install_stub_sqs(monkeypatch)


def post_x(
    raw: bytes, sig: str | None = "auto", content_type: str = "application/json", **kwargs: object
) -> dict[str, object]:
    headers = {"Content-Type": content_type} if content_type else {}
    if sig == "auto":
        headers["x-twitter-webhooks-signature"] = x_signature(raw)
    elif sig is not None:
        headers["x-twitter-webhooks-signature"] = sig
    return post("x_webhook", "/webhooks/x", raw, headers, **kwargs)  # type: ignore[arg-type]


# -- platforms.md §5.1 vectors ---------------------------------------------------------------------
def test_crc_vector_from_the_reference() -> None:
    token = signature.crc_response_token("9b4507b3-9040-4669-9ca3-6b94edb50553", VECTOR_SECRET)
    assert token == "sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8="


def test_body_signature_vector_from_the_reference() -> None:
    raw = b'{"for_user_id":"835740314006511618","direct_message_events":[]}'
    header = "sha256=XlqrgwkVvUc5AnxND33uEdjOrsXQiV+hxXAtx0YUZMY="
    assert signature.sign(raw, VECTOR_SECRET) == header
    assert signature.verify(raw, header, [VECTOR_SECRET])


def test_signature_over_reserialised_json_fails() -> None:
    raw = b'{"for_user_id": "835740314006511618", "direct_message_events": []}'
    header = "sha256=XlqrgwkVvUc5AnxND33uEdjOrsXQiV+hxXAtx0YUZMY="
    assert not signature.verify(raw, header, [VECTOR_SECRET])


def test_an_empty_secret_never_verifies() -> None:
    raw = b"{}"
    assert not signature.verify(raw, signature.sign(raw, ""), [""])
    assert not signature.verify(raw, signature.sign(raw, ""), [])


# -- CRC over HTTP ---------------------------------------------------------------------------------
def test_crc_get_answers_the_response_token(sqs: StubSqs) -> None:
    response = post_x(b"", sig=None, method="GET", query={"crc_token": "abc-123"})
    assert response["statusCode"] == 200
    assert json.loads(str(response["body"])) == {
        "response_token": signature.crc_response_token("abc-123", X_SECRET)
    }


def test_crc_without_token_is_400(sqs: StubSqs) -> None:
    response = post_x(b"", sig=None, method="GET")
    assert response["statusCode"] == 400
    assert error_code(response) == "bad_request"


def test_crc_without_consumer_secret_is_500_and_logged(
    sqs: StubSqs, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("X_CONSUMER_SECRET")
    with caplog.at_level(logging.ERROR):
        response = post_x(b"", sig=None, method="GET", query={"crc_token": "abc"})
    assert response["statusCode"] == 500
    assert error_code(response) == "not_configured"
    assert "not configured" in caplog.text


# -- events ----------------------------------------------------------------------------------------
def test_a_signed_direct_message_is_enqueued(sqs: StubSqs) -> None:
    response = post_x(event_bytes("x/direct_message.json"))
    assert response["statusCode"] == 200
    assert json.loads(str(response["body"])) == {"ok": True, "events": 1}
    (event,) = sqs.events()
    assert event.channel is Channel.X
    assert (event.account_id, event.contact_id) == ("835740314006511618", "272953809")
    assert event.event_id == "dm:958501034212564996"


def test_a_base64_encoded_body_is_verified_on_its_decoded_bytes(sqs: StubSqs) -> None:
    raw = event_bytes("x/direct_message.json")
    assert post_x(raw, base64_body=True)["statusCode"] == 200
    assert len(sqs.events()) == 1


@pytest.mark.parametrize(
    ("sig", "why"),
    [
        (None, "missing header"),
        ("sha256=AAAA", "wrong signature"),
        ("", "empty header"),
        ("auto-meta", "signed with Meta's secret"),
    ],
)
def test_unsigned_or_forged_posts_are_401_and_nothing_is_queued(
    sqs: StubSqs, sig: str | None, why: str
) -> None:
    raw = event_bytes("x/direct_message.json")
    header = meta_signature(raw, META_SECRET) if sig == "auto-meta" else sig
    response = post_x(raw, sig=header)
    assert response["statusCode"] == 401, why
    assert error_code(response) == "invalid_signature"
    assert sqs.calls == []


def test_signed_with_another_secret_is_401(sqs: StubSqs) -> None:
    raw = event_bytes("x/direct_message.json")
    assert post_x(raw, sig=x_signature(raw, "someone-else"))["statusCode"] == 401
    assert sqs.calls == []


@pytest.mark.parametrize("configured", ["", None])
def test_post_without_consumer_secret_is_500(
    sqs: StubSqs, monkeypatch: pytest.MonkeyPatch, configured: str | None
) -> None:
    if configured is None:
        monkeypatch.delenv("X_CONSUMER_SECRET")
    else:
        monkeypatch.setenv("X_CONSUMER_SECRET", configured)
    raw = event_bytes("x/direct_message.json")
    response = post_x(raw, sig=x_signature(raw, ""))
    assert response["statusCode"] == 500
    assert sqs.calls == []


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'{"direct_message_events": []}',
        b'{"for_user_id": "1", "tweet_create_events": {}}',
    ],
)
def test_signed_malformed_bodies_are_400(sqs: StubSqs, raw: bytes) -> None:
    response = post_x(raw)
    assert response["statusCode"] == 400
    assert error_code(response) == "malformed_body"
    assert sqs.calls == []


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain"])
def test_a_body_declared_as_something_other_than_json_is_415(sqs: StubSqs, content_type: str) -> None:
    response = post_x(event_bytes("x/direct_message.json"), content_type=content_type)
    assert response["statusCode"] == 415
    assert error_code(response) == "unsupported_media_type"
    assert sqs.calls == []


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", ""])
def test_json_with_a_charset_or_no_declaration_is_accepted(sqs: StubSqs, content_type: str) -> None:
    assert post_x(event_bytes("x/direct_message.json"), content_type=content_type)["statusCode"] == 200


def test_other_activity_is_accepted_but_not_queued(sqs: StubSqs) -> None:
    response = post_x(event_bytes("x/favorite.json"))
    assert response["statusCode"] == 200
    assert json.loads(str(response["body"]))["events"] == 0
    assert sqs.calls == []


# -- split (pure) ----------------------------------------------------------------------------------
def test_own_dm_is_keyed_by_the_customer_it_was_sent_to() -> None:
    from datetime import datetime

    (event,) = split(event_bytes("x/direct_message_echo.json"), datetime.fromisoformat(NOW_ISO))
    assert event.contact_id == "272953809"


def test_a_mention_is_keyed_by_its_author_and_tweet_id() -> None:
    from datetime import datetime

    (event,) = split(event_bytes("x/mention.json"), datetime.fromisoformat(NOW_ISO))
    assert (event.account_id, event.contact_id, event.event_id) == (
        "2244994945",
        "272953809",
        "tweet:1800166866023854157",
    )


def test_own_reply_is_keyed_by_the_customer_replied_to() -> None:
    from datetime import datetime

    (event,) = split(event_bytes("x/reply_echo.json"), datetime.fromisoformat(NOW_ISO))
    assert event.contact_id == "272953809"
