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
            for code, response in responses.items():
                if code.startswith("4") or code.startswith("5"):
                    error = response["content"]["application/json"]["schema"]
                    expected = "GatewayOrErrorBody" if code in {"401", "413"} else "ErrorBody"
                    assert error == {"$ref": f"#/components/schemas/{expected}"}, (method, path, code)


def test_the_401_documents_the_authorizers_own_body_and_the_functions() -> None:
    # API Gateway's JWT authorizer answers {"message": "Unauthorized"} (HTTP APIs cannot change it);
    # the function's own refusal, without the authorizer's claims, is the API's error body.
    schemas = json.loads(openapi_document())["components"]["schemas"]
    assert schemas["GatewayOrErrorBody"]["anyOf"] == [
        {"$ref": "#/components/schemas/GatewayMessage"},
        {"$ref": "#/components/schemas/ErrorBody"},
    ]
    assert schemas["GatewayMessage"]["required"] == ["message"]


def test_every_post_operation_documents_how_a_body_is_refused() -> None:
    document = json.loads(openapi_document())
    posts = [(path, ops["post"]) for path, ops in document["paths"].items() if "post" in ops]
    assert len(posts) >= 11
    for path, operation in posts:
        assert {"400", "413", "415", "422"} <= operation["responses"].keys(), path
    descriptions = posts[0][1]["responses"]
    assert "invalid_json" in descriptions["400"]["description"]
    assert "invalid_body" in descriptions["400"]["description"]


def test_an_optional_body_is_documented_as_an_object_never_null() -> None:
    # POST …/resolve with no body at all is fine; a body, when sent, is an object (null is a 422).
    document = json.loads(openapi_document())
    for action in ("resolve", "reopen", "unassign"):
        body = document["paths"][f"/api/conversations/{{conversation_id}}/{action}"]["post"]["requestBody"]
        assert body.get("required", False) is False
        assert body["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/VersionedRequest"
        }


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
