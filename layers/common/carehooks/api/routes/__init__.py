"""The agent API's routes, one module per topic, all under ``/api``.

To add a topic: create ``carehooks/api/routes/<topic>.py`` defining ``router = APIGatewayHttpRouter()``
with its routes (paths relative to ``/api``; take the agent and the services as dependencies, see
``conversations.py``), and add ``"<topic>"`` to :data:`ROUTE_MODULES`. Then run ``make openapi`` and
commit ``docs/openapi.json`` (the drift test fails until you do). Raise the errors of
:mod:`carehooks.web.errors`; never build error bodies by hand.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from carehooks.api.models import ErrorBody

ROUTE_MODULES: tuple[str, ...] = ("conversations", "contacts", "rules", "reports", "comments")

_DESCRIPTIONS = {
    400: "malformed request (bad JSON, bad cursor)",
    401: "no valid agent token",
    404: "no such conversation",
    409: "conflicts with the conversation's state or version, or the channel did not take the message",
    422: "invalid input: each field and why",
    503: "a dependency is busy or unreachable; retry later",
}


def responses(*statuses: int, ok: int = 200, description: str = "success") -> dict[int, OpenAPIResponse]:
    """OpenAPI ``responses`` of a route: its success (the return model) and the errors it can answer.

    401 and 422 are always possible.
    """
    out: dict[int, OpenAPIResponse] = {ok: {"description": description}}
    for status in sorted({401, 422, *statuses}):
        out[status] = {
            "description": _DESCRIPTIONS[status],
            "content": {"application/json": {"model": ErrorBody}},
        }
    return out
