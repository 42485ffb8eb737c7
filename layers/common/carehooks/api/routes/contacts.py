"""Routes: a customer's conversation history, by their id on a channel and business account."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import StringConstraints

from carehooks.api import conversations as use
from carehooks.api.auth import Agent, current_agent
from carehooks.api.deps import Services, services
from carehooks.api.models import ChannelName, ConversationList, Name
from carehooks.api.routes import responses

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

# Ids are one component of a key: a ``#`` would make it another customer's key.
PlatformId = Annotated[Name, StringConstraints(pattern=r"^[^#]+$")]


@router.get(
    "/contacts/<channel>/<account_id>/<contact_id>/conversations",
    summary="A customer's conversations on one channel and business account, newest first",
    description=(
        "Ids as the platform writes them, percent-encoded or not (`%2B15005550006` is `+15005550006`). "
        "Twilio WhatsApp numbers with or without their `whatsapp:` prefix."
    ),
    tags=["contacts"],
    responses=responses(),
)
def get_contact_conversations(
    channel: Annotated[ChannelName, Path()],
    account_id: Annotated[PlatformId, Path()],
    contact_id: Annotated[PlatformId, Path()],
    agent: Annotated[Agent, Depends(current_agent)],
    deps: Annotated[Services, Depends(services)],
) -> ConversationList:
    return use.contact_history(deps, channel, account_id, contact_id)
