"""Routes: erasure and export of everything held about one person's identity (admin scope only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.request import Request
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from carehooks.api import contacts as use
from carehooks.api.auth import Agent, claims_of, current_agent
from carehooks.api.deps import Services, services
from carehooks.api.privacy_models import ErasureOut
from carehooks.api.routes import responses
from carehooks.api.routes.contacts import IDS, Account, Channel, ContactId
from carehooks.archive.objects import Archive, archive_from_env
from carehooks.archive.privacy import ErasureNotConfiguredError, erase_person, export_person
from carehooks.web.errors import NotAllowedError, ResourceNotFoundError, UnavailableError

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

ADMIN_SCOPE = "carehooks:admin"
TAGS = ["privacy"]
CONTACT = "/contacts/<channel>/<account_id>/<contact_id>"


def scopes_of(claims: Mapping[str, Any] | None) -> set[str]:
    """The token's scopes: the ``scope`` claim, space separated (OAuth 2.0), as API Gateway passes it
    (an array claim arrives as ``"[a b]"``), or a list."""
    value = (claims or {}).get("scope")
    if isinstance(value, list | tuple):
        return {str(v) for v in value}
    if isinstance(value, str):
        return set(value.strip().removeprefix("[").removesuffix("]").replace(",", " ").split())
    return set()


def admin_agent(request: Request, agent: Annotated[Agent, Depends(current_agent)]) -> Agent:
    """Route dependency: the acting agent, who must hold the admin scope (403 otherwise)."""
    if ADMIN_SCOPE not in scopes_of(claims_of(request.resolved_event.raw_event)):
        raise NotAllowedError(f"this needs the {ADMIN_SCOPE} scope in the token's scope claim")
    return agent


def archive() -> Archive | None:
    """Route dependency: the raw inbound archive (tests replace it)."""
    return archive_from_env()


Admin = Annotated[Agent, Depends(admin_agent)]
Deps = Annotated[Services, Depends(services)]
Archived = Annotated[Archive | None, Depends(archive)]
MISSING = "nothing is held about this identity (never known, or already erased)"


def _responses(*statuses: int) -> Any:
    out = responses(403, 404, *statuses)
    out[404] = {**out[404], "description": MISSING}
    return out


@router.delete(
    CONTACT,
    summary="Erase everything held about a person's identity (admin scope)",
    description=(
        f"{IDS} Removes the identity's conversations, messages, notes, attributes, contact item, links "
        "(taken off the linked identities too), claims, send logs, due markers and raw archived events, "
        "and keeps only a tombstone: the channel, the account and an HMAC-SHA256 digest of the contact "
        "id (not reversible without the deployment's key). A webhook redelivered later with a platform "
        "time before the erasure stores nothing; a new message after it starts afresh. Publishes "
        "`contact.erased` (its `detail.id` is `event_id`). Needs `carehooks:admin` in the token's "
        "`scope` claim (403 otherwise); 404 when nothing is held; 503 when no erasure key is configured."
    ),
    tags=TAGS,
    responses=_responses(503),
)
def delete_contact(
    channel: Channel, account_id: Account, contact_id: ContactId, agent: Admin, deps: Deps, held: Archived
) -> ErasureOut:
    try:
        erased = erase_person(deps.store, held, use.identity(channel, account_id, contact_id), deps.now())
    except ErasureNotConfiguredError as exc:
        raise UnavailableError("erasure is not configured: set ERASURE_KEY") from exc
    if erased is None:
        raise ResourceNotFoundError(MISSING)
    return ErasureOut(**erased.as_dict())


@router.get(
    f"{CONTACT}/export",
    summary="Everything held about a person's identity, as one JSON document (admin scope)",
    description=(
        f"{IDS} The contact, its notes and events, every conversation with its messages, events and "
        "internal notes, the send log, and the raw archived events (`archive`, as received; "
        "`archive_complete` is false when they exceed 4 MB: `carehooks contact export` has no cap). "
        "Needs `carehooks:admin` in the token's `scope` claim; 404 when nothing is held (after an "
        "erasure too)."
    ),
    tags=TAGS,
    responses=_responses(),
)
def get_contact_export(
    channel: Channel, account_id: Account, contact_id: ContactId, agent: Admin, deps: Deps, held: Archived
) -> dict[str, Any]:
    document = export_person(deps.store, held, use.identity(channel, account_id, contact_id), deps.now())
    if document is None:
        raise ResourceNotFoundError(MISSING)
    return document
