"""docs/openapi.json is the agent API's OpenAPI document as the code generates it (run `make openapi`)."""

from __future__ import annotations

import json

from carehooks.api.app import openapi_document
from tests.helpers import ROOT

COMMITTED = ROOT / "docs" / "openapi.json"


def test_the_committed_openapi_document_matches_the_code() -> None:
    generated = openapi_document()
    committed = COMMITTED.read_text(encoding="utf-8")
    assert committed == generated, "docs/openapi.json is stale: run `make openapi` and commit it"


def test_every_operation_needs_the_agent_token_and_documents_its_errors() -> None:
    document = json.loads(openapi_document())
    assert document["security"] == [{"agentJwt": []}]
    assert document["components"]["securitySchemes"]["agentJwt"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        assert path.startswith("/api/")
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"401", "422"} <= responses.keys(), (method, path)
            successes = [code for code in responses if code.startswith("2")]
            assert len(successes) == 1, (method, path)
            error = responses["401"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorBody"}


def test_the_conversation_resource_has_the_contract_fields() -> None:
    schemas = json.loads(openapi_document())["components"]["schemas"]
    conversation = schemas["ConversationOut"]["properties"]
    assert {
        "id",
        "channel",
        "account_id",
        "contact_id",
        "status",
        "tags",
        "priority",
        "assignee",
        "created_at",
        "first_response_at",
        "csat",
    } <= conversation.keys()
    message = schemas["MessageOut"]["properties"]
    assert {"id", "direction", "text", "platform_message_id", "sent_at"} <= message.keys()
    assert set(schemas["ConversationList"]["properties"]) == {"items", "next"}
