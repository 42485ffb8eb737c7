"""The agent API resolver: routes under ``/api``, one error module, OpenAPI from the models.

:func:`handle` is what ``functions/agent_api/app.py`` calls. It refuses a request without JWT claims
with 401 before routing or validating anything, so no route (present or future, found or not) answers
an unauthenticated caller, whatever its body; then a body that is not one JSON object
(:mod:`carehooks.api.body`), the same way on every route.

Path parameters are percent-decoded, as API Gateway decodes ``pathParameters``: the resolver matches
routes on ``rawPath`` (as sent: ``%2B15005550006``), and :class:`AgentApiResolver` decodes each matched
segment, so ``%2B15005550006`` and ``+15005550006`` name the same customer, and an encoded ``/``
(``%2F``) stays inside its segment.
"""

from __future__ import annotations

import importlib
import re
from functools import cache
from re import Match
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from carehooks.api import errors
from carehooks.api.auth import agent_of
from carehooks.api.body import body_problem
from carehooks.api.routes import ROUTE_MODULES
from carehooks.web.errors import HttpError, InvalidInputError, UnauthenticatedError, error_response

PREFIX = "/api"
TITLE = "carehooks agent API"
VERSION = "1.0.0"
SECURITY_SCHEME = "agentJwt"


class AgentApiResolver(APIGatewayHttpResolver):
    """Powertools' HTTP API resolver, with path parameters percent-decoded as API Gateway decodes them."""

    def _convert_matches_into_route_keys(self, match: Match[str]) -> dict[str, str]:
        return {name: unquote(value) for name, value in match.groupdict().items()}


def build_app() -> APIGatewayHttpResolver:
    """A resolver with every routes module of :data:`ROUTE_MODULES` mounted under ``/api``."""
    app = AgentApiResolver(enable_validation=True)
    for name in ROUTE_MODULES:
        module = importlib.import_module(f"carehooks.api.routes.{name}")
        app.include_router(module.router, prefix=PREFIX)
    errors.register(app)
    app.configure_openapi(
        title=TITLE,
        version=VERSION,
        description=(
            "Conversations for agents and their tools. Every route needs a JWT (Authorization: Bearer) "
            'that the HTTP API\'s authorizer accepts. Errors answer {"error": {"code", "message", '
            '"fields"?}}, except the refusals API Gateway gives itself before the function runs: '
            '{"message": "Unauthorized"} (401) and {"message": "Request Entity Too Large"} (413). A '
            "request body is one JSON object sent as Content-Type: application/json (415 otherwise; 400 "
            "invalid_json when it is not JSON; 422 when it is not an object), at most 1 MiB (413). Path "
            "parameters are percent-decoded: %2B15005550006 and +15005550006 are the same number."
        ),
        security_schemes={SECURITY_SCHEME: HTTPBearer(bearerFormat="JWT")},
        security=[{SECURITY_SCHEME: []}],
    )
    return app


@cache
def app() -> APIGatewayHttpResolver:
    """The process's resolver (built on first use)."""
    return build_app()


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer one API Gateway (payload v2) event."""
    if agent_of(event) is None:
        return error_response(UnauthenticatedError())
    problem = body_problem(event) or query_problem(event)
    if problem is not None:
        return error_response(problem)
    return app().resolve(event, context)


def query_problem(event: dict[str, Any]) -> HttpError | None:
    """422 naming each query parameter the matched route does not declare (a typo is never ignored)."""
    query = event.get("queryStringParameters")
    if not isinstance(query, dict) or not query:
        return None
    method = str((event.get("requestContext") or {}).get("http", {}).get("method", "")).lower()
    path = str(event.get("rawPath") or "")
    for pattern, declared in query_parameters().get(method, ()):
        if pattern.fullmatch(path):
            unknown = sorted(str(name) for name in query if name not in declared)
            if not unknown:
                return None
            fields = [{"field": f"query.{name[:64]}", "reason": "unknown parameter"} for name in unknown[:10]]
            return InvalidInputError("the request has query parameters this route does not take", fields)
    return None


@cache
def query_parameters() -> dict[str, list[tuple[re.Pattern[str], frozenset[str]]]]:
    """Per method, each route's path pattern and the query parameters it declares (from its OpenAPI)."""
    routes: dict[str, list[tuple[re.Pattern[str], frozenset[str]]]] = {}
    for path, operations in (app().get_openapi_schema().paths or {}).items():
        pattern = re.compile(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)))
        for method in ("get", "post", "put", "patch", "delete"):
            operation = getattr(operations, method, None)
            if operation is None:
                continue
            names = frozenset(p.name for p in operation.parameters or () if str(p.in_.value) == "query")
            routes.setdefault(method, []).append((pattern, names))
    return routes


def openapi_document() -> str:
    """The OpenAPI document of the API, as committed in docs/openapi.json (stable key order)."""
    import json

    document = json.loads(build_app().get_openapi_json_schema())
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(openapi_document())
