"""Agent use cases on saved replies: the library (list, read, create, replace, delete) and replying with one.

The library lives in the table (:mod:`carehooks.store.saved_replies`), so agents edit it without a
deployment. A reply with ``saved_reply_id`` is rendered (:func:`render_text`: pure) and then sent exactly
like a typed reply (:func:`carehooks.api.conversations.reply`: window-aware, stored, first response);
the outbound message records the saved reply's id, and the reply's use is counted after the send.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ulid import ULID

from carehooks.api import conversations
from carehooks.api.auth import Agent
from carehooks.api.deps import Services
from carehooks.api.models import MAX_REPLY_CHARS, ReplyResult
from carehooks.api.saved_reply_models import SavedReplyList, SavedReplyOut, SavedReplyRequest
from carehooks.clock import iso
from carehooks.domain import placeholders
from carehooks.domain.models import Conversation
from carehooks.observability import logger
from carehooks.store import Store
from carehooks.store.contacts import Identity
from carehooks.store.saved_replies import (
    SavedReply,
    SavedReplyChangedError,
    SavedReplyFilter,
    ShortcodeTakenError,
)
from carehooks.web.errors import InvalidInputError, ResourceNotFoundError, StateConflictError

MAX_ATTEMPTS = 3
# The attribute of the outbound message that names the saved reply it was rendered from.
SAVED_REPLY_ATTRIBUTE = "saved_reply_id"
_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


# -- the library ------------------------------------------------------------------------------------
def list_page(services: Services, flt: SavedReplyFilter, limit: int, cursor: str | None) -> SavedReplyList:
    page = services.store.list_saved_replies(flt, limit=limit, cursor=cursor)
    return SavedReplyList(items=[saved_reply_out(r) for r in page.items], next=page.next)


def load(store: Store, reply_id: str) -> SavedReply:
    """The saved reply, or 404 (an id that is not a ULID cannot exist, and is never looked up)."""
    found = store.get_saved_reply(reply_id) if _ID.match(reply_id) else None
    if found is None:
        raise ResourceNotFoundError(f"no saved reply {reply_id[:40]!r}")
    return found


def read(services: Services, reply_id: str) -> SavedReplyOut:
    return saved_reply_out(load(services.store, reply_id))


def create(services: Services, agent: Agent, body: SavedReplyRequest) -> SavedReplyOut:
    now = services.now()
    reply = _from_request(str(ULID.from_timestamp(now.timestamp())), body, agent, now)
    try:
        return saved_reply_out(services.store.create_saved_reply(reply))
    except ShortcodeTakenError as exc:
        raise _taken(exc) from exc


def replace_fields(services: Services, agent: Agent, reply_id: str, body: SavedReplyRequest) -> SavedReplyOut:
    """PUT: the editable fields become the body's; usage is kept. Renaming moves the shortcode's claim."""
    for _ in range(MAX_ATTEMPTS):
        previous = load(services.store, reply_id)
        now = services.now()
        try:
            updated = services.store.update_saved_reply(
                _from_request(previous.id, body, agent, now), previous
            )
        except ShortcodeTakenError as exc:
            raise _taken(exc) from exc
        except SavedReplyChangedError:
            continue  # renamed or deleted meanwhile: read it again (a deleted one is then a 404)
        return saved_reply_out(updated)
    raise StateConflictError("the saved reply kept changing; try again")


def delete(services: Services, reply_id: str) -> None:
    for _ in range(MAX_ATTEMPTS):
        previous = load(services.store, reply_id)
        try:
            services.store.delete_saved_reply(previous)
        except SavedReplyChangedError:
            continue
        return
    raise StateConflictError("the saved reply kept changing; try again")


def _from_request(reply_id: str, body: SavedReplyRequest, agent: Agent, now: datetime) -> SavedReply:
    return SavedReply(
        id=reply_id,
        shortcode=body.shortcode,
        title=body.title,
        text=body.text,
        channels=tuple(body.channels),
        languages=tuple(body.languages),
        updated_at=now,
        updated_by=agent.sub,
    )


def _taken(exc: ShortcodeTakenError) -> StateConflictError:
    return StateConflictError(
        f"the shortcode {exc.shortcode!r} is taken by another saved reply",
        [{"field": "body.shortcode", "reason": "taken by another saved reply"}],
    )


def saved_reply_out(reply: SavedReply) -> SavedReplyOut:
    return SavedReplyOut(
        id=reply.id,
        shortcode=reply.shortcode,
        title=reply.title,
        text=reply.text,
        channels=list(reply.channels),
        languages=list(reply.languages),
        usage_count=reply.usage_count,
        last_used_at=iso(reply.last_used_at) if reply.last_used_at is not None else None,
    )


# -- rendering (pure) -------------------------------------------------------------------------------
def placeholder_values(
    conv: Conversation,
    agent: Agent,
    attributes: Mapping[str, Any] | None = None,
    variables: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """What each placeholder is filled with: the conversation's contact name, the agent's name (their
    token's ``name``), the contact's attributes (``attributes.<key>``: text, numbers and booleans), and
    the request's ``variables``, which win over all of them."""
    values: dict[str, str] = {}
    if conv.contact_name:
        values[placeholders.CONTACT_NAME] = conv.contact_name
    if agent.name:
        values[placeholders.AGENT_NAME] = agent.name
    for key, value in (attributes or {}).items():
        text = _attribute_text(value)
        if text is not None:
            values[f"{placeholders.ATTRIBUTES_PREFIX}{key}"] = text
    values.update(variables or {})
    return values


def _attribute_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None  # objects and lists have no one way to be written in a sentence


def render_text(template: str, values: Mapping[str, str]) -> str:
    """``template`` filled from ``values``; 422 naming every placeholder it cannot fill."""
    rendered = placeholders.render(placeholders.parse(template), values)
    if rendered.unresolved:
        names = ", ".join("{" + name + "}" for name in rendered.unresolved)
        raise InvalidInputError(
            f"the saved reply has placeholders nothing fills: {names}; give them in `variables`",
            [
                {"field": f"body.variables.{name}", "reason": f"unresolved placeholder {{{name}}}"}
                for name in rendered.unresolved
            ],
        )
    if len(rendered.text) > MAX_REPLY_CHARS:
        raise InvalidInputError(
            f"the rendered reply has {len(rendered.text)} characters, more than {MAX_REPLY_CHARS}",
            [{"field": "body.variables", "reason": "the rendered text is too long"}],
        )
    return rendered.text


def contact_attributes(services: Services, conv: Conversation) -> Mapping[str, Any]:
    """What ``{attributes.<key>}`` reads: the attributes of the conversation's contact (none for a public
    comment thread, whose conversation is the thread's, not one person's)."""
    if conv.thread_id:
        return {}
    contact = services.store.get_contact(Identity(str(conv.channel), conv.account_id, conv.contact_id))
    return dict(contact.attributes) if contact is not None else {}


# -- replying ---------------------------------------------------------------------------------------
def reply_with(
    services: Services,
    agent: Agent,
    conversation_id: str,
    saved_reply_id: str,
    variables: Mapping[str, str] | None,
) -> ReplyResult:
    """Render the saved reply for this conversation and send it as the agent's reply; count its use."""
    conv = conversations.load(services.store, conversation_id)
    saved = load(services.store, saved_reply_id)
    if saved.channels and conv.channel not in saved.channels:
        raise InvalidInputError(
            f"the saved reply {saved.shortcode!r} is meant for {', '.join(saved.channels)}, not {conv.channel}",
            [{"field": "body.saved_reply_id", "reason": f"not meant for {conv.channel}"}],
        )
    values = placeholder_values(conv, agent, contact_attributes(services, conv), variables)
    text = render_text(saved.text, values)
    result = conversations.reply(
        services, agent, conversation_id, text, attributes={SAVED_REPLY_ATTRIBUTE: saved.id}
    )
    try:
        services.store.record_saved_reply_use(saved.id, services.now())
    except Exception:  # the reply went out: a missed count must not make the agent send it again
        logger.exception("saved reply sent but its use was not counted", extra={"saved_reply_id": saved.id})
    return result
