"""Every /api route refuses a request without an agent (defence in depth behind the JWT authorizer)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from carehooks.api.app import build_app
from tests.integration.agent_api_client import api_event, call
from tests.integration.conftest import Aws

SAMPLE_PARAMS = {
    "conversation_id": "01JZZZZZZZZZZZZZZZZZZZZZZZ",
    "channel": "messenger",
    "account_id": "112233445566778",
    "contact_id": "7318845612093471",
    "comment_id": "556677889900112_1029384756473829",
    "other_channel": "whatsapp",
    "other_account_id": "106540352242922",
    "other_contact_id": "16505551234",
    "note_id": "01JZZZZZZZZZZZZZZZZZZZZZZZ",
    "saved_reply_id": "01JZZZZZZZZZZZZZZZZZZZZZZZ",
}


def routes() -> list[tuple[str, str]]:
    """(METHOD, path) of every route the agent API serves, from its OpenAPI document."""
    document = json.loads(build_app().get_openapi_json_schema())
    found = []
    for template, operations in document["paths"].items():
        path = re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PARAMS[m.group(1)], template)
        found.extend((method.upper(), path) for method in operations)
    return sorted(found)


ROUTES = routes()
BODIES: list[Any] = [None, {}, {"text": "hi", "assignee": "me", "add": ["x"], "priority": "high"}, "not json"]


def test_the_route_list_is_not_empty() -> None:
    assert len(ROUTES) >= 12
    assert ("POST", "/api/rules/test") in ROUTES


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    "claims", [None, {}, {"sub": ""}, {"sub": "   "}, {"email": "x@example.com"}, {"sub": "a\x00b"}]
)
def test_every_route_rejects_a_request_without_an_agent(
    method: str, path: str, claims: dict[str, str] | None
) -> None:
    # No table here: the refusal comes before any read (a read would fail for lack of AWS and show).
    for body in BODIES:
        raw = body if isinstance(body, str) else None
        event = api_event(method, path, None if raw else body, claims=claims, raw=raw)
        if claims is not None:
            event["requestContext"]["authorizer"]["jwt"]["claims"] = claims
        answer = call(event)
        assert answer.status == 401, (method, path, body)
        assert answer.body == {
            "error": {"code": "unauthenticated", "message": "a valid agent token is required"}
        }


def test_an_unknown_api_path_without_an_agent_is_401_not_404() -> None:
    assert call(api_event("GET", "/api/whatever", claims=None)).status == 401


def test_an_authorizer_context_without_jwt_claims_is_401() -> None:
    event = api_event("GET", "/api/conversations")
    event["requestContext"]["authorizer"] = {"lambda": {"sub": "agent-ada"}}
    assert call(event).status == 401
    event["requestContext"]["authorizer"] = "agent-ada"
    assert call(event).status == 401


def test_the_same_request_with_an_agent_gets_through(aws: Aws) -> None:
    assert call(api_event("GET", "/api/conversations")).status == 200
