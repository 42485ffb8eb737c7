"""Routes: internal notes on a conversation (for agents; never sent to the customer)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from carehooks.api import contacts as use
from carehooks.api.auth import Agent, current_agent
from carehooks.api.contact_models import NoteList, NoteOut, NoteRequest
from carehooks.api.deps import Services, services
from carehooks.api.routes import BODY_ERRORS, responses

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

CurrentAgent = Annotated[Agent, Depends(current_agent)]
Deps = Annotated[Services, Depends(services)]
TAGS = ["conversations"]


@router.get(
    "/conversations/<conversation_id>/notes",
    summary="A conversation's internal notes, newest first",
    description="Notes are for agents: never sent to the customer.",
    tags=TAGS,
    responses=responses(404),
)
def get_conversation_notes(conversation_id: str, agent: CurrentAgent, deps: Deps) -> NoteList:
    return use.conversation_notes(deps, conversation_id)


@router.post(
    "/conversations/<conversation_id>/notes",
    summary="Add an internal note on a conversation",
    description=(
        "Never sent to the customer. Recorded as a `note_added` conversation event (with the note's id, "
        "not its text). At most 4,000 characters."
    ),
    tags=TAGS,
    status_code=201,
    responses=responses(*BODY_ERRORS, 404, ok=201, description="added"),
)
def post_conversation_note(
    conversation_id: str, body: NoteRequest, agent: CurrentAgent, deps: Deps
) -> NoteOut:
    return use.add_conversation_note(deps, agent, conversation_id, body.text)
