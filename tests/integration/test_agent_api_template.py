"""template.yaml: the JWT authorizer guards /api and only /api; issuer and audience are parameters."""

from __future__ import annotations

from typing import Any

from infra.template import resources, template

FUNCTION = "AWS::Serverless::Function"


def http_events() -> list[tuple[str, str, dict[str, Any]]]:
    """(function, path, event properties) of every HttpApi event of the template."""
    found = []
    for name, resource in resources(FUNCTION).items():
        for event in (resource["Properties"].get("Events") or {}).values():
            if event["Type"] == "HttpApi":
                found.append((name, event["Properties"]["Path"], event["Properties"]))
    return found


def test_the_agent_api_function_serves_every_api_route_behind_the_jwt_authorizer() -> None:
    function = resources(FUNCTION)["AgentApiFunction"]["Properties"]
    assert function["CodeUri"] == "functions/agent_api/"
    assert function["Handler"] == "app.handler"
    events = [(path, props) for name, path, props in http_events() if name == "AgentApiFunction"]
    assert events == [
        (
            "/api/{proxy+}",
            {
                "ApiId": {"Ref": "HttpApi"},
                "Method": "ANY",
                "Path": "/api/{proxy+}",
                "Auth": {"Authorizer": "AgentJwt"},
            },
        )
    ]


def test_no_default_authorizer_so_webhooks_and_survey_links_stay_open() -> None:
    auth = resources()["HttpApi"]["Properties"]["Auth"]
    assert "DefaultAuthorizer" not in auth
    globals_api = (template().get("Globals") or {}).get("HttpApi") or {}
    assert "DefaultAuthorizer" not in (globals_api.get("Auth") or {})
    for name, path, props in http_events():
        if path.startswith("/webhooks/") or path.startswith("/survey"):
            assert "Auth" not in props, (name, path)
        if path.startswith("/api"):
            assert props.get("Auth") == {"Authorizer": "AgentJwt"}, (name, path)


def test_the_authorizer_takes_issuer_and_audience_from_parameters_or_the_user_pool() -> None:
    jwt = resources()["HttpApi"]["Properties"]["Auth"]["Authorizers"]["AgentJwt"]
    assert jwt["IdentitySource"] == "$request.header.Authorization"
    issuer = jwt["JwtConfiguration"]["issuer"]["Fn::If"]
    audience = jwt["JwtConfiguration"]["audience"]["Fn::If"]
    assert issuer[0] == audience[0] == "CreateAgentUserPool"
    assert issuer[2] == {"Ref": "AgentJwtIssuer"}
    assert audience[2] == {"Fn::Split": [",", {"Ref": "AgentJwtAudience"}]}
    assert "${AgentUserPool}" in issuer[1]["Fn::Sub"]
    parameters = template()["Parameters"]
    assert {"AgentJwtIssuer", "AgentJwtAudience", "CreateAgentUserPool"} <= parameters.keys()
    for pool in ("AgentUserPool", "AgentUserPoolClient"):
        assert resources()[pool]["Condition"] == "CreateAgentUserPool"
    # A deployment without a pool must name the identity provider (a Rule refuses it otherwise)
    rule = template()["Rules"]["AgentTokensConfigured"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "CreateAgentUserPool"}, "false"]}


def test_the_agent_api_may_not_scan_the_table() -> None:
    statements = [
        statement
        for policy in resources(FUNCTION)["AgentApiFunction"]["Properties"]["Policies"]
        for statement in policy.get("Statement", [])
    ]
    # Conditional statements (!If) count with both branches
    for conditional in [s["Fn::If"] for s in statements if "Fn::If" in s]:
        statements += [
            branch for branch in conditional[1:] if isinstance(branch, dict) and "Action" in branch
        ]
    actions = {
        action for statement in statements if "Action" in statement for action in _list(statement["Action"])
    }
    assert "dynamodb:Scan" not in actions
    assert {"dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:PutItem"} <= actions


def test_the_list_indexes_project_what_lists_filter_on() -> None:
    indexes = {i["IndexName"]: i for i in resources()["Table"]["Properties"]["GlobalSecondaryIndexes"]}
    for name in ("ByStatus", "ByAssignee"):
        projection = indexes[name]["Projection"]
        assert projection["ProjectionType"] == "INCLUDE"
        assert {"channel", "tags", "priority", "assignee", "sla_state"} <= set(projection["NonKeyAttributes"])
    assert [k["AttributeName"] for k in indexes["ByAssignee"]["KeySchema"]] == ["assignee_pk", "gsi1sk"]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
