"""Hostile-input helpers: the four webhooks as targets, body mutations, and the case counter.

Every fuzz example calls :func:`count` with its target, and ``tests/conftest.py`` prints the total at
the end of the run ("hostile input: N cases across M targets"), so the figure shows in ``make test``.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from carehooks.domain.models import QueuedEvent
from tests.channel_support import (
    PUBLIC_BASE_URL,
    TELEGRAM_SECRET,
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
