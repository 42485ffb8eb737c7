"""Routes: saved replies, the team's library of answers (list and search, read, create, replace, delete)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from carehooks.api import saved_replies as use
from carehooks.api.auth import Agent, current_agent
from carehooks.api.deps import Services, services
from carehooks.api.models import ChannelName, Name
from carehooks.api.routes import BODY_ERRORS, responses
from carehooks.api.saved_reply_models import (
    LANGUAGE_PATTERN,
    SavedReplyList,
    SavedReplyOut,
    SavedReplyRequest,
)
from carehooks.store.saved_replies import SavedReplyFilter

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

CurrentAgent = Annotated[Agent, Depends(current_agent)]
Deps = Annotated[Services, Depends(services)]
TAGS = ["saved replies"]
_NOT_FOUND = "no such saved reply"
_TAKEN = "the shortcode is taken by another saved reply (`conflict`, `fields`: `body.shortcode`)"
_TEXT = (
    "Checked when saved: a brace that is not a placeholder is refused, and the text must fit, as written, "
    "every channel the reply is meant for (all of them when `channels` is empty), counted the way each "
    "platform counts: the 422 names the channel and its limit. On X a reply to a customer's post goes "
    "out as a public post (280 weighted characters)."
)


def _responses(*statuses: int, ok: int = 200, description: str = "success") -> dict[int, OpenAPIResponse]:
    out = responses(*statuses, ok=ok, description=description)
    if 404 in out:
        out[404] = {**out[404], "description": _NOT_FOUND}
    if 409 in out:
        out[409] = {**out[409], "description": _TAKEN}
    if ok == 204:
        out[204] = {"description": description, "content": {}}  # no body
    return out


@router.get(
    "/saved-replies",
    summary="List and search the saved replies, by shortcode",
    description=(
        "`q`: a case-insensitive prefix of the shortcode, of the title or of a word of the title. "
        "`channel`, `language`: replies meant for it, and those meant for all channels or languages."
    ),
    tags=TAGS,
    responses=_responses(400),
)
def list_saved_replies(
    agent: CurrentAgent,
    deps: Deps,
    q: Annotated[Name | None, Query(max_length=100, description="shortcode or title prefix")] = None,
    channel: Annotated[ChannelName | None, Query()] = None,
    language: Annotated[
        str | None, Query(pattern=LANGUAGE_PATTERN, max_length=35, description="a BCP 47 tag: en, pt-BR")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=1024, description="`next` of the previous page")] = None,
) -> SavedReplyList:
    return use.list_page(deps, SavedReplyFilter(q=q, channel=channel, language=language), limit, cursor)


@router.post(
    "/saved-replies",
    summary="Save a reply to the library",
    description=_TEXT,
    tags=TAGS,
    status_code=201,
    responses=_responses(*BODY_ERRORS, 409, ok=201, description="saved"),
)
def post_saved_reply(body: SavedReplyRequest, agent: CurrentAgent, deps: Deps) -> SavedReplyOut:
    return use.create(deps, agent, body)


@router.get(
    "/saved-replies/<saved_reply_id>",
    summary="One saved reply",
    tags=TAGS,
    responses=_responses(404),
)
def get_saved_reply(saved_reply_id: str, agent: CurrentAgent, deps: Deps) -> SavedReplyOut:
    return use.read(deps, saved_reply_id)


@router.put(
    "/saved-replies/<saved_reply_id>",
    summary="Replace a saved reply's shortcode, title, text, channels and languages (its usage is kept)",
    description=_TEXT,
    tags=TAGS,
    responses=_responses(*BODY_ERRORS, 404, 409),
)
def put_saved_reply(
    saved_reply_id: str, body: SavedReplyRequest, agent: CurrentAgent, deps: Deps
) -> SavedReplyOut:
    return use.replace_fields(deps, agent, saved_reply_id, body)


@router.delete(
    "/saved-replies/<saved_reply_id>",
    summary="Delete a saved reply (its shortcode is free again)",
    tags=TAGS,
    responses=_responses(404, ok=204, description="deleted"),
)
def delete_saved_reply(saved_reply_id: str, agent: CurrentAgent, deps: Deps) -> Response[str]:
    use.delete(deps, saved_reply_id)
    return Response(status_code=204, content_type=content_types.APPLICATION_JSON, body="")
