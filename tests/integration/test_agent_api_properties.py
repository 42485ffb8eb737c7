"""Properties: no body, query or bytes a caller can send makes the agent API answer 5xx.

Bodies are arbitrary JSON (biased towards the real field names, with lone surrogates, huge numbers,
NaN, deep nesting), arbitrary bytes (also base64-flagged), and arbitrary query strings. Every answer is
below 500, and every error has the one error shape.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carehooks import clock
from carehooks.domain.models import Conversation
from carehooks.wiring.store import make_store
from tests.integration.agent_api_client import T0, FakeDeliver, api_event, call, inbound, install
from tests.integration.conftest import TABLE, Aws

FIELDS = [
    "text",
    "assignee",
    "add",
    "remove",
    "priority",
    "version",
    "channel",
    "at",
    "contact_id",
    "account_id",
    "tags",
    "kind",
    "attachments",
    "read_history",
    "name",
]
ACTIONS = ["reply", "assign", "unassign", "tags", "priority", "resolve", "reopen"]
LIST_PARAMS = ["status", "channel", "tag", "assignee", "priority", "sla", "order", "limit", "cursor"]
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text including lone surrogates (valid in JSON as \\udxxx escapes, never encodable as UTF-8).
texts = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40) | st.sampled_from(
    ["", " ", "me", "none", "high", "urgent", "messenger", "\ud800", "x" * 5000, "2026-03-02T09:00:00Z"]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | texts
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.sampled_from(FIELDS) | texts, inner, max_size=5)
    ),
    max_leaves=20,
)
bodies = st.dictionaries(st.sampled_from(FIELDS) | texts, json_values, max_size=6) | json_values


@pytest.fixture
def conv(aws: Aws) -> Iterator[Conversation]:
    store = make_store(TABLE)
    with clock.frozen(T0 + timedelta(minutes=5)):
        created = inbound(store, "prop-1", "hello", T0)
        gen = install(store, FakeDeliver(), clock.now)
        next(gen)
        try:
            yield created
        finally:
            gen.close()


def assert_no_5xx(event: dict[str, Any]) -> None:
    answer = call(event)
    assert answer.status < 500, (event.get("body"), answer.body)
    if answer.status >= 400:
        assert set(answer.body) == {"error"}
        assert {"code", "message"} <= set(answer.body["error"])


@SETTINGS
@given(action=st.sampled_from(ACTIONS), body=bodies)
def test_arbitrary_json_bodies_never_cause_a_5xx(conv: Conversation, action: str, body: Any) -> None:
    raw = json.dumps(body, allow_nan=True)
    assert_no_5xx(api_event("POST", f"/api/conversations/{conv.id}/{action}", raw=raw))


@SETTINGS
@given(body=bodies)
def test_arbitrary_json_never_breaks_the_rules_dry_run(conv: Conversation, body: Any) -> None:
    assert_no_5xx(api_event("POST", "/api/rules/test", raw=json.dumps(body, allow_nan=True)))


@SETTINGS
@given(
    action=st.sampled_from([*ACTIONS, "../rules/test"]), raw=st.binary(max_size=200), flagged=st.booleans()
)
def test_arbitrary_bytes_never_cause_a_5xx(
    conv: Conversation, action: str, raw: bytes, flagged: bool
) -> None:
    event = api_event("POST", f"/api/conversations/{conv.id}/{action}", raw="")
    event["body"] = base64.b64encode(raw).decode() if flagged else raw.decode("latin-1")
    event["isBase64Encoded"] = flagged
    assert_no_5xx(event)


@SETTINGS
@given(query=st.dictionaries(st.sampled_from(LIST_PARAMS) | texts, texts, max_size=5))
def test_arbitrary_list_queries_never_cause_a_5xx(conv: Conversation, query: dict[str, str]) -> None:
    event = api_event("GET", "/api/conversations")
    # Set directly: the helper's urlencode cannot encode lone surrogates, the resolver must still cope.
    event["queryStringParameters"] = query or None
    assert_no_5xx(event)


@SETTINGS
@given(segment=texts)
def test_arbitrary_ids_in_paths_never_cause_a_5xx(conv: Conversation, segment: str) -> None:
    quoted = segment.replace("/", "%2F") or "x"
    assert_no_5xx(api_event("GET", f"/api/conversations/{quoted}"))
    assert_no_5xx(api_event("GET", f"/api/conversations/{quoted}/history"))
    assert_no_5xx(api_event("GET", f"/api/contacts/messenger/{quoted}/{quoted}/conversations"))
