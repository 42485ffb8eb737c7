"""Routes: public conversations (comment threads): private replies, hiding comments, linked conversations."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from carehooks.api import public as use
from carehooks.api.auth import Agent, current_agent
from carehooks.api.deps import Services, services
from carehooks.api.models import ConversationOut, ModerationResult, PrivateReplyRequest, PrivateReplyResult
from carehooks.api.routes import BODY_ERRORS, responses
from carehooks.api.routes.contacts import PlatformId

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

CurrentAgent = Annotated[Agent, Depends(current_agent)]
Deps = Annotated[Services, Depends(services)]
TAGS = ["public conversations"]


@router.post(
    "/conversations/<conversation_id>/private-reply",
    summary="Answer a comment privately: a direct message to its author",
    description=(
        "Public conversations only. A public reply is `POST /conversations/{id}/reply` (posted in the "
        "thread). Meta allows one private reply per comment, within 7 days of it; the direct message "
        "continues in the author's private conversation, linked both ways (`linked_conversation_id`). "
        "409 `conflict`: not a comment thread; `private_reply_used`: the comment was already answered "
        "privately; `send_skipped`: more than 7 days after the comment; `send_refused`: the platform "
        "refused. 503: the platform is unreachable (nothing was sent)."
    ),
    tags=TAGS,
    status_code=201,
    responses=responses(*BODY_ERRORS, 404, 409, 503, ok=201, description="sent, stored and linked"),
)
def post_private_reply(
    conversation_id: str, body: PrivateReplyRequest, agent: CurrentAgent, deps: Deps
) -> PrivateReplyResult:
    return use.reply_privately(deps, agent, conversation_id, body.text, body.comment_id)


@router.post(
    "/conversations/<conversation_id>/comments/<comment_id>/hide",
    summary="Hide a customer's comment (its author and their friends still see it)",
    description="Reversible with `/unhide`. Recorded on the comment and as a `comment_hidden` event.",
    tags=TAGS,
    responses=responses(*BODY_ERRORS, 404, 409, 503),
)
def post_hide(
    conversation_id: str, comment_id: Annotated[PlatformId, Path()], agent: CurrentAgent, deps: Deps
) -> ModerationResult:
    return use.moderate(deps, agent, conversation_id, comment_id, hidden=True)


@router.post(
    "/conversations/<conversation_id>/comments/<comment_id>/unhide",
    summary="Show a hidden comment again",
    description="Recorded on the comment and as a `comment_unhidden` event.",
    tags=TAGS,
    responses=responses(*BODY_ERRORS, 404, 409, 503),
)
def post_unhide(
    conversation_id: str, comment_id: Annotated[PlatformId, Path()], agent: CurrentAgent, deps: Deps
) -> ModerationResult:
    return use.moderate(deps, agent, conversation_id, comment_id, hidden=False)


@router.get(
    "/conversations/<conversation_id>/linked",
    summary="The linked conversation: a public thread's private one, or the public thread a private one continues",
    tags=TAGS,
    responses=responses(404),
)
def get_linked(conversation_id: str, agent: CurrentAgent, deps: Deps) -> ConversationOut:
    return use.linked(deps, conversation_id)
