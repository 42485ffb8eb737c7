"""Hostile-input helpers: the four webhooks as targets, body mutations, the signature matrix, and the
case counter.

Every fuzz example calls :func:`count` with its target, and ``tests/conftest.py`` prints the total at
the end of the run ("hostile input: N cases across M targets"), so the figure shows in ``make test``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from carehooks.domain.models import QueuedEvent
from tests.channel_support import (
    PUBLIC_BASE_URL,
    TELEGRAM_SECRET,
    TWILIO_TOKEN,
    X_SECRET,
    StubSqs,
    install_stub_sqs,
    twilio_signature,
    x_signature,
)
from tests.helpers import (
    EVENTS,
    META_SECRET,
    META_VERIFY_TOKEN,
    FakeContext,
    event_bytes,
    http_event,
    load_handler,
    meta_signature,
)

CASES: Counter[str] = Counter()


def count(target: str) -> None:
    """One hostile case run against ``target`` (a webhook, an adapter, the processor)."""
    CASES[target] += 1


def summary() -> str | None:
    if not CASES:
        return None
    return f"hostile input: {sum(CASES.values())} cases across {len(CASES)} targets"


class QuietStubSqs(StubSqs):
    """A :class:`StubSqs` whose repr stays short in hypothesis' failure reports."""

    def __repr__(self) -> str:
        return f"StubSqs({len(self.calls)} calls)"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def install_quiet_stub(monkeypatch: pytest.MonkeyPatch) -> StubSqs:
    """:func:`install_stub_sqs` (every channel secret set, Meta's too) with a :class:`QuietStubSqs`."""
    stub = install_stub_sqs(monkeypatch)
    stub.__class__ = QuietStubSqs
    monkeypatch.setenv("META_APP_SECRET", META_SECRET)
    monkeypatch.setenv("META_VERIFY_TOKEN", META_VERIFY_TOKEN)
    return stub


def fuzz(max_examples: int) -> settings:
    """Deterministic, database-free hypothesis settings for the hostile tests."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


# ---------------------------------------------------------------- values that do not belong
HUGE_INT = 10**40
WRONG_VALUES: list[Any] = [
    None,
    0,
    -1,
    True,
    HUGE_INT,
    1.5,
    "",
    "NaN",
    "-Infinity",
    "1e999",
    "not-a-number",
    [],
    [None],
    {},
    {"id": None},
]
# Text edge cases: lone surrogates, NUL, RTL override, emoji (a surrogate pair in JSON), BOM,
# noncharacters SQS refuses, combining marks.
UNICODE_EDGES: list[str] = [
    "\ud800",
    "x\udfffy",
    "\x00",
    "a\x00b\x1f",
    "\u202e\u200fdlrow",
    "\U0001f600\U0001f4a9",
    "\ufeffbom",
    "\uffff\ufffe",
    "e\u0301\u0301\u0301",
    "\u2028\u2029",
]


def paths(document: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every branch and leaf of a JSON document, as key/index paths (the root excluded)."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield (*prefix, index)
            yield from paths(value, (*prefix, index))


def replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A deep copy of ``document`` with the node at ``path`` replaced by ``value``."""
    out = copy.deepcopy(document)
    node = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


def removed(document: Any, path: tuple[Any, ...]) -> Any:
    """A deep copy of ``document`` without the node at ``path``."""
    out = copy.deepcopy(document)
    node = out
    for step in path[:-1]:
        node = node[step]
    del node[path[-1]]
    return out


def json_bytes(document: Any) -> bytes:
    """As a platform would send it: compact, non-ASCII escaped (lone surrogates survive as escapes)."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=True).encode()


# ---------------------------------------------------------------- the webhooks
@dataclass(frozen=True)
class Webhook:
    name: str
    function: str
    path: str
    content_type: str
    sign: Callable[[bytes], dict[str, str]]
    samples: tuple[str, ...]  # paths under events/

    def sample_bytes(self) -> list[bytes]:
        return [event_bytes(s) for s in self.samples]

    def headers(self, raw: bytes, content_type: str | None = None) -> dict[str, str]:
        return {"content-type": content_type or self.content_type, **self.sign(raw)}

    def call(
        self,
        raw: bytes | None,
        headers: dict[str, str],
        base64_body: bool = False,
        event: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        if raw is not None and not base64_body:
            # API Gateway base64-encodes any body that is not UTF-8 text.
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                base64_body = True
        request = event or http_event("POST", self.path, raw, headers, base64_body=base64_body)
        response: dict[str, Any] = load_handler(self.function).handler(request, FakeContext())
        return response

    def post_signed(self, raw: bytes, content_type: str | None = None) -> dict[str, Any]:
        return self.call(raw, self.headers(raw, content_type))


def _samples(folder: str, suffix: str) -> tuple[str, ...]:
    return tuple(f"{folder}/{p.name}" for p in sorted((EVENTS / folder).glob(f"*{suffix}")))


WEBHOOKS: dict[str, Webhook] = {
    "meta": Webhook(
        "meta",
        "meta_webhook",
        "/webhooks/meta",
        "application/json",
        lambda raw: {"x-hub-signature-256": meta_signature(raw)},
        _samples("meta", ".json"),
    ),
    "x": Webhook(
        "x",
        "x_webhook",
        "/webhooks/x",
        "application/json",
        lambda raw: {"x-twitter-webhooks-signature": x_signature(raw)},
        _samples("x", ".json"),
    ),
    "telegram": Webhook(
        "telegram",
        "telegram_webhook",
        "/webhooks/telegram",
        "application/json",
        lambda raw: {"x-telegram-bot-api-secret-token": TELEGRAM_SECRET},
        _samples("telegram", ".json"),
    ),
    "twilio": Webhook(
        "twilio",
        "twilio_webhook",
        "/webhooks/twilio",
        "application/x-www-form-urlencoded",
        lambda raw: {"x-twilio-signature": twilio_signature(raw, url=PUBLIC_BASE_URL + "/webhooks/twilio")},
        _samples("twilio", ".txt"),
    ),
}

# What SQS accepts (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
SQS_BODY_CHARS = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
SQS_GROUP_ID = re.compile("[!-~]{1,128}")
SQS_MAX_BYTES = 262_144


def sent_entries(stub: StubSqs, since: int = 0) -> list[dict[str, Any]]:
    return [e for call in stub.calls[since:] for e in call["Entries"]]


def assert_sqs_would_accept(entries: list[dict[str, Any]]) -> list[QueuedEvent]:
    """Every entry is a message real SQS takes (characters, sizes, group id); their events."""
    batch_bytes = 0
    events = []
    for entry in entries:
        body = entry["MessageBody"]
        assert SQS_BODY_CHARS.fullmatch(body), "a character SQS refuses is in a message body"
        assert len(body.encode()) <= SQS_MAX_BYTES
        assert SQS_GROUP_ID.fullmatch(entry["MessageGroupId"]), entry["MessageGroupId"]
        assert re.fullmatch("[!-~]{1,128}", entry["MessageDeduplicationId"])
        batch_bytes += len(body.encode())
        events.append(QueuedEvent.model_validate_json(body))
    return events


def assert_rejected_cleanly(response: dict[str, Any]) -> str:
    """A 4xx with the one error shape ``{"error": {"code", "message"}}``; returns the code."""
    assert 400 <= response["statusCode"] < 500, response
    assert response["headers"]["Content-Type"] == "application/json"
    error = json.loads(response["body"])["error"]
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert error["message"]
    return str(error["code"])


def event_paths(folder: str) -> list[Path]:
    return sorted((EVENTS / folder).iterdir())


# ---------------------------------------------------------------- the signature matrix
# For every channel, every way a request can be unauthentic, in one table: each forgery is built from
# a real body of its channel and must be refused with the status given, queueing (and storing) nothing.
@dataclass(frozen=True)
class SignedChannel:
    name: str
    function: str
    path: str
    sample: str
    header: str
    content_type: str
    secret_env: str
    sign: Callable[[bytes], str]
    sign_with: Callable[[bytes, str], str]  # the same scheme keyed with another secret


def _sha1_hex(raw: bytes, secret: str) -> str:
    return "sha1=" + hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()


def _sha1_b64(raw: bytes, secret: str) -> str:
    return "sha1=" + base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha1).digest()).decode()


TWILIO_URL = PUBLIC_BASE_URL + "/webhooks/twilio"

_meta = {
    "function": "meta_webhook",
    "path": "/webhooks/meta",
    "header": "x-hub-signature-256",
    "content_type": "application/json",
    "secret_env": "META_APP_SECRET",
    "sign": meta_signature,
    "sign_with": meta_signature,
}
_twilio = {
    "function": "twilio_webhook",
    "path": "/webhooks/twilio",
    "header": "x-twilio-signature",
    "content_type": "application/x-www-form-urlencoded",
    "secret_env": "TWILIO_AUTH_TOKEN",
    "sign": twilio_signature,
    "sign_with": lambda raw, secret: twilio_signature(raw, token=secret),
}
CHANNELS = [
    SignedChannel("messenger", sample="meta/messenger_text.json", **_meta),  # type: ignore[arg-type]
    SignedChannel("instagram", sample="meta/instagram_text.json", **_meta),  # type: ignore[arg-type]
    SignedChannel("whatsapp", sample="meta/whatsapp_text.json", **_meta),  # type: ignore[arg-type]
    SignedChannel(
        "x",
        "x_webhook",
        "/webhooks/x",
        "x/direct_message.json",
        "x-twitter-webhooks-signature",
        "application/json",
        "X_CONSUMER_SECRET",
        x_signature,
        x_signature,
    ),
    SignedChannel(
        "telegram",
        "telegram_webhook",
        "/webhooks/telegram",
        "telegram/message.json",
        "x-telegram-bot-api-secret-token",
        "application/json",
        "TELEGRAM_SECRET_TOKEN",
        lambda raw: TELEGRAM_SECRET,
        lambda raw, secret: secret,
    ),
    SignedChannel("sms", sample="twilio/sms.txt", **_twilio),  # type: ignore[arg-type]
    SignedChannel("twilio_whatsapp", sample="twilio/whatsapp_text.txt", **_twilio),  # type: ignore[arg-type]
]
# Another channel's secret, for each scheme.
OTHER_SECRET = {
    "META_APP_SECRET": X_SECRET,
    "X_CONSUMER_SECRET": META_SECRET,
    "TELEGRAM_SECRET_TOKEN": TWILIO_TOKEN,
    "TWILIO_AUTH_TOKEN": META_SECRET,
}


@dataclass
class Request:
    raw: bytes
    headers: dict[str, str]
    method: str = "POST"
    query: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def event(self, channel: SignedChannel) -> dict[str, Any]:
        return http_event(self.method, channel.path, self.raw, self.headers, query=self.query or None)


def _flip(text: str, at: int) -> str:
    """``text`` with one character changed (hex stays hex, base64 stays base64)."""
    char = text[at]
    replacement = "0" if char != "0" else "1"
    return text[:at] + replacement + text[at + 1 :]


def _tampered_body(raw: bytes) -> bytes:
    at = len(raw) // 2
    return raw[:at] + bytes([raw[at] ^ 0x01]) + raw[at + 1 :]


def _wrong_prefix(channel: SignedChannel, raw: bytes) -> list[tuple[str, str]]:
    if channel.secret_env == "META_APP_SECRET":
        secret = META_SECRET
        return [
            ("sha1-prefix", _sha1_hex(raw, secret)),
            ("no-prefix", channel.sign(raw).removeprefix("sha256=")),
            ("uppercase-prefix", "SHA256=" + channel.sign(raw).removeprefix("sha256=")),
        ]
    if channel.secret_env == "X_CONSUMER_SECRET":
        return [
            ("sha1-prefix", _sha1_b64(raw, X_SECRET)),
            ("no-prefix", channel.sign(raw).removeprefix("sha256=")),
            (
                "hex-instead-of-base64",
                "sha256=" + hmac.new(X_SECRET.encode(), raw, hashlib.sha256).hexdigest(),
            ),
        ]
    if channel.secret_env == "TELEGRAM_SECRET_TOKEN":
        return [
            ("sha256-prefix", "sha256=" + TELEGRAM_SECRET),
            (
                "hmac-of-body",
                base64.b64encode(hmac.new(TELEGRAM_SECRET.encode(), raw, "sha256").digest()).decode(),
            ),
            ("padded", " " + TELEGRAM_SECRET + " x"),
        ]
    sha256 = base64.b64encode(
        hmac.new(TWILIO_TOKEN.encode(), TWILIO_URL.encode() + raw, hashlib.sha256).digest()
    ).decode()
    return [("sha256-instead-of-sha1", sha256), ("sha1-prefix", "sha1=" + channel.sign(raw))]


def forgeries(channel: SignedChannel) -> list[tuple[str, Request, int]]:
    """(case, request, expected status) for one channel."""
    raw = event_bytes(channel.sample)
    ct = {"content-type": channel.content_type}
    good = channel.sign(raw)
    cases: list[tuple[str, Request, int]] = [
        ("missing-header", Request(raw, dict(ct)), 401),
        ("empty-header", Request(raw, {**ct, channel.header: ""}), 401),
        ("tampered-header-first", Request(raw, {**ct, channel.header: _flip(good, len(good) - 10)}), 401),
        ("tampered-header-last", Request(raw, {**ct, channel.header: _flip(good, len(good) - 2)}), 401),
        ("truncated-header", Request(raw, {**ct, channel.header: good[:-1]}), 401),
        (
            "other-channels-secret",
            Request(raw, {**ct, channel.header: channel.sign_with(raw, OTHER_SECRET[channel.secret_env])}),
            401,
        ),
        ("empty-secret", Request(raw, {**ct, channel.header: good}, env={channel.secret_env: ""}), 500),
        (
            "blank-secret-list",
            Request(raw, {**ct, channel.header: good}, env={channel.secret_env: " , "}),
            500,
        ),
    ]
    if channel.secret_env != "TELEGRAM_SECRET_TOKEN":
        # Telegram's secret token does not cover the body (no HMAC): only TLS protects it.
        cases.append(("tampered-body", Request(_tampered_body(raw), {**ct, channel.header: good}), 401))
    cases += [
        (f"wrong-scheme-{name}", Request(raw, {**ct, channel.header: value}), 401)
        for name, value in _wrong_prefix(channel, raw)
    ]
    if channel.secret_env == "TWILIO_AUTH_TOKEN":
        for name, url in (
            ("other-host", "https://evil.example.com/webhooks/twilio"),
            ("other-path", PUBLIC_BASE_URL + "/webhooks/twilio2"),
            ("http-not-https", TWILIO_URL.replace("https://", "http://")),
            ("extra-query", TWILIO_URL + "?extra=1"),
        ):
            cases.append(
                (f"url-{name}", Request(raw, {**ct, channel.header: twilio_signature(raw, url=url)}), 401)
            )
        cases.append(
            (
                "url-query-not-signed",
                Request(raw, {**ct, channel.header: good}, query={"extra": "1"}),
                401,
            )
        )
        cases.append(
            (
                "no-public-base-url",
                Request(raw, {**ct, channel.header: good}, env={"PUBLIC_BASE_URL": ""}),
                500,
            )
        )
    return cases


MATRIX = [
    (channel, case, request, status) for channel in CHANNELS for case, request, status in forgeries(channel)
]
