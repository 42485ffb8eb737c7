"""The signature matrix (tests/hostile_support.py): every channel, every forgery, refused, nothing queued.

Channels: Messenger, Instagram, WhatsApp (one Meta callback), X, Telegram, Twilio SMS and Twilio
WhatsApp. Forgeries: missing or empty header, the wrong scheme (``sha1=``, no prefix, hex for base64,
SHA-256 for Twilio's SHA-1), a tampered body byte (not Telegram: its token does not cover the body), a
tampered header character, another channel's
secret, an empty secret configured (fail closed: 500 ``not_configured``, never accepted), and for Twilio
a signature over another URL (host, path, scheme, query). X's CRC answer cannot be used to sign a POST.
"""

from __future__ import annotations

import json

import pytest

from carehooks.channels.x.signature import crc_response_token
from tests.channel_support import X_SECRET, StubSqs, error_code
from tests.helpers import FakeContext, http_event, load_handler
from tests.hostile_support import MATRIX, Request, SignedChannel, count, install_quiet_stub


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> StubSqs:
    return install_quiet_stub(monkeypatch)


@pytest.mark.parametrize(
    ("channel", "request_", "status"),
    [(c, r, s) for c, _, r, s in MATRIX],
    ids=[f"{c.name}-{case}" for c, case, _, _ in MATRIX],
)
def test_every_forgery_on_every_channel_is_refused_and_queues_nothing(
    sqs: StubSqs, monkeypatch: pytest.MonkeyPatch, channel: SignedChannel, request_: Request, status: int
) -> None:
    count(f"signature:{channel.name}")
    for name, value in request_.env.items():
        monkeypatch.setenv(name, value)
    response = load_handler(channel.function).handler(request_.event(channel), FakeContext())
    assert response["statusCode"] == status
    assert error_code(response) == ("not_configured" if status == 500 else "invalid_signature")
    assert sqs.calls == []


def test_the_matrix_covers_every_channel_and_case() -> None:
    channels = {c.name for c, _, _, _ in MATRIX}
    assert channels == {"messenger", "instagram", "whatsapp", "x", "telegram", "sms", "twilio_whatsapp"}
    assert len(MATRIX) >= 7 * 11


def _crc(token: str | None) -> dict[str, object]:
    query = {} if token is None else {"crc_token": token}
    result: dict[str, object] = load_handler("x_webhook").handler(
        http_event("GET", "/webhooks/x", None, {}, query=query), FakeContext()
    )
    return result


def test_a_crc_answer_cannot_be_used_as_the_signature_of_a_post(sqs: StubSqs) -> None:
    # Given an attacker who asks the CRC endpoint to "answer" a token that is an event body
    body = '{"for_user_id":"835740314006511618","direct_message_events":[]}'
    response = _crc(body)
    # Then it is refused: no HMAC of a would-be body is ever handed out
    assert response["statusCode"] == 400
    assert "response_token" not in str(response["body"])
    # And an answer to a genuine token does not sign a POST of that token either
    token = "9b4507b3-9040-4669-9ca3-6b94edb50553"
    answer = json.loads(str(_crc(token)["body"]))["response_token"]
    assert answer == crc_response_token(token, X_SECRET)
    post = load_handler("x_webhook").handler(
        http_event(
            "POST",
            "/webhooks/x",
            token,
            {"content-type": "application/json", "x-twitter-webhooks-signature": answer},
        ),
        FakeContext(),
    )
    assert post["statusCode"] == 400  # signed, but a token is not an Account Activity body
    assert sqs.calls == []


@pytest.mark.parametrize(
    "token", [None, "", " ", "{}", '{"a":1}', "a b", "x" * 257, "tok\n", '"quoted"', "\u202etoken"]
)
def test_a_crc_with_a_missing_or_odd_token_is_refused(sqs: StubSqs, token: str | None) -> None:
    count("signature:x")
    response = _crc(token)
    assert response["statusCode"] == 400
    assert "response_token" not in str(response["body"])
