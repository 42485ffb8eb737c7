"""The agent API's routes, one module per topic, all under ``/api``.

To add a topic: create ``carehooks/api/routes/<topic>.py`` defining ``router = APIGatewayHttpRouter()``
with its routes (paths relative to ``/api``; take the agent and the services as dependencies, see
``conversations.py``), and add ``"<topic>"`` to :data:`ROUTE_MODULES`. Then run ``make openapi`` and
commit ``docs/openapi.json`` (the drift test fails until you do). Raise the errors of
:mod:`carehooks.web.errors`; never build error bodies by hand. A POST route documents
:data:`BODY_ERRORS`: every request body is checked the same way before routing (carehooks.api.body).
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from carehooks.api.models import ErrorBody, GatewayOrErrorBody

ROUTE_MODULES: tuple[str, ...] = (
    "conversations",
    "contacts",
    "rules",
    "reports",
    "comments",
    "saved_replies",
    "notes",
    "team_reports",
    "privacy",
)

# What a request body can be refused with, on every route that is sent one.
BODY_ERRORS = (400, 413, 415)

_DESCRIPTIONS = {
    400: "malformed request: the body is not JSON, or is nested deeper than 32 levels (`invalid_json`); "
    "it cannot be read as UTF-8 text (`invalid_body`); a bad cursor (`invalid_cursor`)",
    401: 'no valid agent token. API Gateway\'s JWT authorizer answers `{"message": "Unauthorized"}`; a '
    'request that reaches the function without the authorizer\'s claims gets `{"error": {"code": '
    '"unauthenticated", …}}`',
    404: "no such conversation",
    409: "conflicts with the conversation's state or version, or the channel did not take the message",
    413: "the body is larger than 1 MiB (`payload_too_large`); over 10 MB, API Gateway answers "
    '`{"message": "Request Entity Too Large"}` itself',
    415: "the body is not sent as `Content-Type: application/json` (`unsupported_media_type`)",
    422: "invalid input: each field and why; a body that is not one JSON object (`null`, an array), or "
    "an integer longer than 1,000 digits",
    503: "a dependency is busy or unreachable; retry later",
    403: "authenticated, but not allowed (`forbidden`): e.g. deleting another agent's note",
}
# Refusals API Gateway can also give itself, with its own body.
_GATEWAY_TOO = {401, 413}


def responses(*statuses: int, ok: int = 200, description: str = "success") -> dict[int, OpenAPIResponse]:
    """OpenAPI ``responses`` of a route: its success (the return model) and the errors it can answer.

    401 and 422 are always possible. 401 and 413 may come from API Gateway itself, with its own body.
    """
    out: dict[int, OpenAPIResponse] = {ok: {"description": description}}
    for status in sorted({401, 422, *statuses}):
        model = GatewayOrErrorBody if status in _GATEWAY_TOO else ErrorBody
        out[status] = {
            "description": _DESCRIPTIONS[status],
            "content": {"application/json": {"model": model}},
        }
    return out
