"""Routes: contacts (who a customer is, on one channel and business account), their linked identities,
their conversation history across those identities, and private notes on the person."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import StringConstraints

from carehooks.api import contacts as use
from carehooks.api.auth import Agent, current_agent
from carehooks.api.contact_models import ContactOut, ContactPatch, IdentityIn, NoteList, NoteOut, NoteRequest
from carehooks.api.deps import Services, services
from carehooks.api.models import ChannelName, ConversationList, Name
from carehooks.api.routes import BODY_ERRORS, responses

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

# Ids are one component of a key: a ``#`` would make it another customer's key.
PlatformId = Annotated[Name, StringConstraints(pattern=r"^[^#]+$")]
CurrentAgent = Annotated[Agent, Depends(current_agent)]
Deps = Annotated[Services, Depends(services)]
Channel = Annotated[ChannelName, Path()]
Account = Annotated[PlatformId, Path()]
ContactId = Annotated[PlatformId, Path()]
TAGS = ["contacts"]
CONTACT = "/contacts/<channel>/<account_id>/<contact_id>"
IDS = (
    "Ids as the platform writes them, percent-encoded or not (`%2B15005550006` is `+15005550006`). "
    "Twilio WhatsApp numbers with or without their `whatsapp:` prefix."
)


def _responses(
    *statuses: int, ok: int = 200, description: str = "success", missing: str = "no such contact"
) -> dict[int, OpenAPIResponse]:
    out = responses(*statuses, ok=ok, description=description)
    if 404 in out:
        out[404] = {**out[404], "description": missing}
    return out


@router.get(
    f"{CONTACT}/conversations",
    summary="A customer's conversations, on this identity and the identities linked to it, newest first",
    description=IDS,
    tags=TAGS,
    responses=responses(),
)
def get_contact_conversations(
    channel: Channel, account_id: Account, contact_id: ContactId, agent: CurrentAgent, deps: Deps
) -> ConversationList:
    return use.history(deps, use.identity(channel, account_id, contact_id))


@router.get(
    CONTACT,
    summary="A contact: names, attributes, linked identities, first and last seen",
    description=(
        f"{IDS} `name` is the agent's name for the person when set (PATCH), else the platform's (the "
        "webhook's, or Messenger's and Instagram's profile API, fetched at most once a day). 404: "
        "carehooks never received a message from this identity."
    ),
    tags=TAGS,
    responses=_responses(404),
)
def get_contact(
    channel: Channel, account_id: Account, contact_id: ContactId, agent: CurrentAgent, deps: Deps
) -> ContactOut:
    return use.get(deps, use.identity(channel, account_id, contact_id))


@router.patch(
    CONTACT,
    summary="Change a contact: the agent's name for the person, attributes (JSON merge)",
    description=(
        "`name` wins over the platform's name everywhere (lists, emails, `{contact_name}`); `null` "
        "removes it. `attributes` are merged: a key set to `null` is removed, keys not named stay. "
        "Limits: 50 keys named `^[A-Za-z][A-Za-z0-9_.-]{0,63}$`; values strings of at most 1,000 "
        "characters, finite numbers or booleans; 8,192 bytes of attributes in all (compact JSON). "
        "Recorded as an `updated` contact event."
    ),
    tags=TAGS,
    responses=_responses(*BODY_ERRORS, 404, 409),
)
def patch_contact(
    channel: Channel,
    account_id: Account,
    contact_id: ContactId,
    body: ContactPatch,
    agent: CurrentAgent,
    deps: Deps,
) -> ContactOut:
    return use.patch(deps, agent, use.identity(channel, account_id, contact_id), body)


@router.post(
    f"{CONTACT}/links",
    summary="Link another identity of the same person (both ways)",
    description=(
        "Never automatic. Both identities must be known (404 names the one that is not); linking an "
        "identity to itself is a 422; linking again changes nothing. The contact's history and notes, "
        "and last-agent routing, then span the linked identities. At most 20 links per identity."
    ),
    tags=TAGS,
    responses=_responses(*BODY_ERRORS, 404, 409),
)
def post_link(
    channel: Channel,
    account_id: Account,
    contact_id: ContactId,
    body: IdentityIn,
    agent: CurrentAgent,
    deps: Deps,
) -> ContactOut:
    return use.link(deps, agent, use.identity(channel, account_id, contact_id), body)


@router.delete(
    f"{CONTACT}/links/<other_channel>/<other_account_id>/<other_contact_id>",
    summary="Unlink two identities (both ways)",
    tags=TAGS,
    responses=_responses(404, 409, missing="no such contact, or the identities are not linked"),
)
def delete_link(
    channel: Channel,
    account_id: Account,
    contact_id: ContactId,
    other_channel: Channel,
    other_account_id: Account,
    other_contact_id: ContactId,
    agent: CurrentAgent,
    deps: Deps,
) -> ContactOut:
    other = use.identity(other_channel, other_account_id, other_contact_id)
    return use.unlink(deps, agent, use.identity(channel, account_id, contact_id), other)


@router.get(
    f"{CONTACT}/notes",
    summary="Private notes on the person (this identity and the linked ones), newest first",
    description="Notes are for agents: never sent to the customer.",
    tags=TAGS,
    responses=_responses(404),
)
def get_contact_notes(
    channel: Channel, account_id: Account, contact_id: ContactId, agent: CurrentAgent, deps: Deps
) -> NoteList:
    return use.contact_notes(deps, use.identity(channel, account_id, contact_id))


@router.post(
    f"{CONTACT}/notes",
    summary="Add a private note on the person",
    description="Never sent to the customer. Recorded as a `note_added` contact event. At most 4,000 characters.",
    tags=TAGS,
    status_code=201,
    responses=_responses(*BODY_ERRORS, 404, ok=201, description="added"),
)
def post_contact_note(
    channel: Channel,
    account_id: Account,
    contact_id: ContactId,
    body: NoteRequest,
    agent: CurrentAgent,
    deps: Deps,
) -> NoteOut:
    return use.add_contact_note(deps, agent, use.identity(channel, account_id, contact_id), body.text)


@router.delete(
    f"{CONTACT}/notes/<note_id>",
    summary="Delete a private note (its author only)",
    description="403 when the note is another agent's. Recorded as a `note_deleted` contact event.",
    tags=TAGS,
    status_code=204,
    responses=_responses(403, 404, ok=204, description="deleted", missing="no such contact or note"),
)
def delete_contact_note(
    channel: Channel,
    account_id: Account,
    contact_id: ContactId,
    note_id: Annotated[PlatformId, Path()],
    agent: CurrentAgent,
    deps: Deps,
) -> None:
    use.delete_contact_note(deps, agent, use.identity(channel, account_id, contact_id), note_id)
