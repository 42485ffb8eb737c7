"""``POST /api/rules/test`` answers what ``carehooks rules test --json`` prints, and has no side effects."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from infra.cli.rules import run_test

from carehooks import clock
from carehooks.store import Store
from carehooks.wiring.store import make_store
from tests.integration.agent_api_client import ADA, PAGE, T0, FakeDeliver, api_event, call, inbound, install
from tests.integration.conftest import TABLE, Aws

SATURDAY_NIGHT = "2026-03-07T23:00:00Z"
ALICE = {"sub": "alice", "email": "alice@example.com", "name": "Alice"}


@pytest.fixture
def store(aws: Aws) -> Iterator[Store]:
    table = make_store(TABLE)
    with clock.frozen(T0):
        gen = install(table, FakeDeliver(), clock.now)
        next(gen)
        try:
            yield table
        finally:
            gen.close()


def cli_answer(store: Store, capsys: pytest.CaptureFixture[str], **flags: Any) -> dict[str, Any]:
    args = argparse.Namespace(
        channel=flags["channel"],
        text=flags["text"],
        at=flags.get("at"),
        contact=flags.get("contact"),
        account=flags.get("account", "dry-run-account"),
        name=flags.get("name"),
        kind=flags.get("kind", "text"),
        attachment=flags.get("attachment", []),
        tag=flags.get("tag", []),
        assignee=flags.get("assignee"),
        config=None,
        no_store=flags.get("no_store", False),
        json=True,
    )
    capsys.readouterr()
    assert run_test(args, store=store) == 0
    printed: dict[str, Any] = json.loads(capsys.readouterr().out)
    return printed


def api_answer(body: dict[str, Any]) -> dict[str, Any]:
    answer = call(api_event("POST", "/api/rules/test", body, claims=ADA))
    assert answer.status == 200, answer.body
    # The CLI leaves out what is absent; the API answers null.
    return {k: v for k, v in answer.body.items() if v is not None}


@pytest.mark.parametrize(
    ("body", "flags"),
    [
        (
            {"channel": "messenger", "text": "where is my order? #1234", "at": SATURDAY_NIGHT},
            {"channel": "messenger", "text": "where is my order? #1234", "at": SATURDAY_NIGHT},
        ),
        (
            {"channel": "sms", "text": "REFUND NOW", "at": "2026-03-03T10:00:00Z", "tags": ["vip"]},
            {"channel": "sms", "text": "REFUND NOW", "at": "2026-03-03T10:00:00Z", "tag": ["vip"]},
        ),
        (
            {
                "channel": "whatsapp",
                "text": "",
                "kind": "image",
                "attachments": ["image"],
                "at": SATURDAY_NIGHT,
            },
            {
                "channel": "whatsapp",
                "text": "",
                "kind": "image",
                "attachment": ["image"],
                "at": SATURDAY_NIGHT,
            },
        ),
    ],
)
def test_the_api_answers_what_the_cli_prints(
    store: Store, capsys: pytest.CaptureFixture[str], body: dict[str, Any], flags: dict[str, Any]
) -> None:
    assert api_answer(body) == cli_answer(store, capsys, **flags)


def test_a_known_customer_is_evaluated_with_their_history_like_the_cli(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a returning customer whose earlier conversation Alice (an agent of the configuration) answered
    earlier = inbound(store, "known-1", "my parcel?", T0 - timedelta(days=3))
    reply = api_event("POST", f"/api/conversations/{earlier.id}/reply", {"text": "on its way"}, claims=ALICE)
    assert call(reply).status == 201
    assert call(api_event("POST", f"/api/conversations/{earlier.id}/resolve")).status == 200
    body = {
        "channel": "messenger",
        "text": "where is my order? #99",
        "at": SATURDAY_NIGHT,
        "contact_id": "known-1",
        "account_id": PAGE,
    }
    flags = {
        "channel": "messenger",
        "text": "where is my order? #99",
        "at": SATURDAY_NIGHT,
        "contact": "known-1",
        "account": PAGE,
    }
    before = store.contact_conversations("messenger", PAGE, "known-1")
    answer = api_answer(body)
    assert answer == cli_answer(store, capsys, **flags)
    # the last agent rule saw the history
    assert answer["decision"]["assignment"]["agent"] == "alice"
    # and nothing was written
    assert store.contact_conversations("messenger", PAGE, "known-1") == before


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "fax", "text": "hi"},
        {"text": "hi"},
        {"channel": "messenger"},
        {"channel": "messenger", "text": "hi", "at": "yesterday"},
        {"channel": "messenger", "text": "hi", "at": "2026-03-07T23:00:00"},
        {"channel": "messenger", "text": "hi", "config": "/etc/passwd"},
    ],
)
def test_invalid_dry_run_input_is_422(store: Store, body: dict[str, Any]) -> None:
    answer = call(api_event("POST", "/api/rules/test", body))
    assert answer.status == 422
    assert answer.error["fields"]
