"""The acting agent, from the JWT claims API Gateway's authorizer passed on.

In AWS the HTTP API's JWT authorizer checks the token (signature, issuer, audience, expiry) before the
function runs and puts its claims at ``requestContext.authorizer.jwt.claims``; the local stack does the
same. The function still refuses a request that arrives without claims (a route deployed without the
authorizer, a direct invocation): defence in depth, answered 401 before anything else is looked at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler.request import Request

from carehooks.web.errors import UnauthenticatedError

MAX_SUB_CHARS = 200


@dataclass(frozen=True)
class Agent:
    """Who is acting: the token's subject, and its e-mail and name when the token has them."""

    sub: str
    email: str | None = None
    name: str | None = None


def claims_of(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The authorizer's JWT claims of an HTTP API (payload v2) event, or None when there are none."""
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    jwt = authorizer.get("jwt") if isinstance(authorizer, Mapping) else None
    claims = jwt.get("claims") if isinstance(jwt, Mapping) else None
    return dict(claims) if isinstance(claims, Mapping) and claims else None


def agent_of(event: Mapping[str, Any]) -> Agent | None:
    """The agent of a request, or None when the claims are missing or carry no usable subject."""
    claims = claims_of(event)
    if claims is None:
        return None
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip() or len(sub) > MAX_SUB_CHARS or not sub.isprintable():
        return None
    return Agent(sub=sub.strip(), email=_text(claims.get("email")), name=_text(claims.get("name")))


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.isprintable():
        return None
    return value.strip()[:320] or None


def current_agent(request: Request) -> Agent:
    """Route dependency: the acting agent (401 when the request carries none)."""
    agent = agent_of(request.resolved_event.raw_event)
    if agent is None:
        raise UnauthenticatedError("a valid agent token is required")
    return agent
