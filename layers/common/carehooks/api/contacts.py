"""Agent use cases on contacts: read, edit (name override, attributes), link identities, the contact's
history across linked identities, and private notes (on the person and on a conversation).

A contact is one platform identity (``channel``, ``account_id``, ``contact_id``). It is known when its
contact item exists (written when a conversation starts) or, for customers who wrote before contacts
existed, when it has a conversation; the first change writes its item. Links are made by agents only,
both ways at once (each identity lists the other), and span one step: the history and notes of a contact
are its own and those of the identities it lists.

Notes never reach the customer: they are stored apart from messages, sent nowhere, and never logged.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from carehooks.api.auth import Agent
from carehooks.api.contact_models import (
    MAX_ATTRIBUTES,
    MAX_ATTRIBUTES_BYTES,
    ContactOut,
    ContactPatch,
    IdentityIn,
    IdentityOut,
    NoteList,
    NoteOut,
    attributes_size,
)
from carehooks.api.conversations import HISTORY_LIMIT, conversation_out, load
from carehooks.api.deps import Services
from carehooks.api.models import ConversationList
from carehooks.channels.twilio.ingress import address
from carehooks.clock import iso
from carehooks.domain.models import Channel, Conversation
from carehooks.store import ConflictError, Store, keys
from carehooks.store.contacts import (
    Contact,
    ContactEvent,
    Identity,
    Note,
    contact_note,
    conversation_note,
    show_name_on_latest,
)
from carehooks.store.events import ConversationEvent
from carehooks.web.errors import (
    InvalidInputError,
    NotAllowedError,
    ResourceNotFoundError,
    VersionConflictError,
)

MAX_ATTEMPTS = 4
MAX_LINKS = 20
NOTES_LIMIT = 200
_NOTE_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def identity(channel: str, account_id: str, contact_id: str) -> Identity:
    """The identity the path names; Twilio WhatsApp addresses as Twilio writes them (``whatsapp:+1…``)
    name the bare number the store keys them by."""
    if channel == Channel.TWILIO_WHATSAPP:
        account_id, contact_id = _bare(account_id), _bare(contact_id)
    return Identity(channel, account_id, contact_id)


def _bare(whatsapp_address: str) -> str:
    scheme, bare = address(whatsapp_address)
    return bare if scheme == "whatsapp" else whatsapp_address


# -- reading ----------------------------------------------------------------------------------------
def known(store: Store, who: Identity) -> Contact:
    """The contact, as stored or (a customer who wrote before contacts were kept) made from their
    conversations; 404 when carehooks never heard of it."""
    contact = store.get_contact(who)
    if contact is not None:
        return contact
    found = store.contact_conversations(who.channel, who.account_id, who.contact_id, limit=HISTORY_LIMIT)
    if not found:
        raise ResourceNotFoundError(
            f"no contact {who.contact_id[:40]!r} on {who.channel} {who.account_id[:40]!r}"
        )
    return Contact(
        identity=who,
        created_at=min(c.created_at for c in found),
        last_seen_at=max((c.last_inbound_at for c in found if c.last_inbound_at), default=None),
        name=next((c.contact_name for c in found if c.contact_name), None),
    )


def get(services: Services, who: Identity) -> ContactOut:
    return contact_out(services.store, known(services.store, who))


def contact_out(store: Store, contact: Contact) -> ContactOut:
    """The contact resource: ``last_seen_at`` is the later of the contact's and its latest conversation's
    last customer message (the contact item is not written on every message)."""
    who = contact.identity
    latest = store.latest_conversation(who.channel, who.account_id, who.contact_id)
    seen = [t for t in (contact.last_seen_at, latest.last_inbound_at if latest else None) if t]
    return ContactOut(
        channel=who.channel,
        account_id=who.account_id,
        contact_id=who.contact_id,
        name=contact.display_name or (latest.contact_name if latest else None),
        username=contact.username,
        avatar_url=contact.avatar_url,
        attributes=dict(contact.attributes),
        identities=[IdentityOut(**i.as_dict()) for i in contact.identities],
        created_at=iso(contact.created_at),
        last_seen_at=iso(max(seen)) if seen else None,
    )


def history(services: Services, who: Identity) -> ConversationList:
    """The person's conversations on this identity and the identities linked to it, newest first."""
    store = services.store
    identities = [who, *store.linked_identities(who.channel, who.account_id, who.contact_id)]
    found: list[Conversation] = []
    for one in identities:
        found += store.contact_conversations(one.channel, one.account_id, one.contact_id, limit=HISTORY_LIMIT)
    found.sort(key=lambda c: (c.created_at, c.id), reverse=True)
    return ConversationList(items=[conversation_out(c) for c in found[:HISTORY_LIMIT]], next=None)


# -- changing ---------------------------------------------------------------------------------------
def patch(services: Services, agent: Agent, who: Identity, body: ContactPatch) -> ContactOut:
    """Set or remove the agent's name for the person; merge attributes (``null`` removes a key)."""
    store = services.store
    for _ in range(MAX_ATTEMPTS):
        contact = known(store, who)
        changed = contact
        if "name" in body.model_fields_set:
            changed = replace(changed, name_override=body.name)
        if body.attributes:
            changed = replace(changed, attributes=merged(contact.attributes, body.attributes))
        if changed == contact:
            return contact_out(store, contact)  # nothing changes: nothing written, no event
        event = ContactEvent(
            identity=who,
            action="updated",
            at=services.now(),
            actor=agent.sub,
            details={"fields": sorted(body.model_fields_set & {"name", "attributes"})},
        )
        try:
            saved = store.save_contacts([changed], [event])[0]
        except ConflictError:
            continue
        if saved.display_name and saved.display_name != contact.display_name:
            show_name_on_latest(store, who, saved.display_name)
        return contact_out(store, saved)
    raise VersionConflictError("the contact kept changing; read it again and retry")


def merged(current: dict[str, Any], patch_: dict[str, Any]) -> dict[str, Any]:
    """JSON merge of attributes: each key of ``patch_`` set, or removed when ``None``; within the limits."""
    out = dict(current)
    for key, value in patch_.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    if len(out) > MAX_ATTRIBUTES:
        raise InvalidInputError(
            fields=[{"field": "attributes", "reason": f"a contact holds at most {MAX_ATTRIBUTES} attributes"}]
        )
    if attributes_size(out) > MAX_ATTRIBUTES_BYTES:
        raise InvalidInputError(
            fields=[
                {
                    "field": "attributes",
                    "reason": f"a contact's attributes take at most {MAX_ATTRIBUTES_BYTES} bytes (as compact JSON)",
                }
            ]
        )
    return out


def link(services: Services, agent: Agent, who: Identity, body: IdentityIn) -> ContactOut:
    """Link another identity of the same person, both ways (idempotent)."""
    other = identity(body.channel, body.account_id, body.contact_id)
    if other == who:
        raise InvalidInputError(
            fields=[{"field": "contact_id", "reason": "an identity cannot be linked to itself"}]
        )
    return _relink(services, agent, who, other, linking=True)


def unlink(services: Services, agent: Agent, who: Identity, other: Identity) -> ContactOut:
    """Remove the link between two identities, both ways; 404 when they are not linked."""
    return _relink(services, agent, who, other, linking=False)


def _relink(services: Services, agent: Agent, who: Identity, other: Identity, *, linking: bool) -> ContactOut:
    store = services.store
    for _ in range(MAX_ATTEMPTS):
        mine = known(store, who)
        theirs = known(store, other)
        linked = other in mine.identities
        if not linking and not linked:
            raise ResourceNotFoundError(
                f"{other.channel} {other.contact_id[:40]!r} is not linked to this contact"
            )
        if linking and linked and who in theirs.identities:
            return contact_out(store, mine)
        if linking and (len(mine.identities) >= MAX_LINKS or len(theirs.identities) >= MAX_LINKS):
            raise InvalidInputError(
                fields=[{"field": "contact_id", "reason": f"a contact links at most {MAX_LINKS} identities"}]
            )
        now = services.now()
        action = "linked" if linking else "unlinked"
        changed = [
            replace(mine, identities=_with(mine.identities, other, linking)),
            replace(theirs, identities=_with(theirs.identities, who, linking)),
        ]
        events = [
            ContactEvent(identity=who, action=action, at=now, actor=agent.sub, details=other.as_dict()),
            ContactEvent(identity=other, action=action, at=now, actor=agent.sub, details=who.as_dict()),
        ]
        try:
            saved = store.save_contacts(changed, events)
        except ConflictError:
            continue
        return contact_out(store, saved[0])
    raise VersionConflictError("the contacts kept changing; read them again and retry")


def _with(identities: tuple[Identity, ...], one: Identity, present: bool) -> tuple[Identity, ...]:
    rest = tuple(i for i in identities if i != one)
    return (*rest, one) if present else rest


# -- notes ------------------------------------------------------------------------------------------
def contact_notes(services: Services, who: Identity) -> NoteList:
    """The person's notes, on this identity and the identities linked to it, newest first."""
    store = services.store
    contact = known(store, who)
    return NoteList(items=[note_out(n) for n in _person_notes(store, contact)], next=None)


def _person_notes(store: Store, contact: Contact) -> list[Note]:
    found: list[Note] = []
    for one in (contact.identity, *contact.identities):
        found += store.contact_notes(one, limit=NOTES_LIMIT)
    found.sort(key=lambda n: n.id, reverse=True)
    return found[:NOTES_LIMIT]


def add_contact_note(services: Services, agent: Agent, who: Identity, text: str) -> NoteOut:
    store = services.store
    known(store, who)
    now = services.now()
    note = contact_note(who, text, agent.sub, now, author_email=agent.email, author_name=agent.name)
    event = ContactEvent(
        identity=who, action="note_added", at=now, actor=agent.sub, details={"note_id": note.id}
    )
    store.add_contact_note(note, event)
    return note_out(note)


def delete_contact_note(services: Services, agent: Agent, who: Identity, note_id: str) -> None:
    """Delete a note on the person (on this identity or a linked one); only its author may."""
    store = services.store
    contact = known(store, who)
    note = (
        next((n for n in _person_notes(store, contact) if n.id == note_id), None)
        if _NOTE_ID.match(note_id)
        else None
    )
    if note is None:
        raise ResourceNotFoundError(f"no note {note_id[:40]!r} on this contact")
    if note.author != agent.sub:
        raise NotAllowedError("only the author of a note may delete it")
    owner = next(i for i in (contact.identity, *contact.identities) if i.pk == note.pk)
    event = ContactEvent(
        identity=owner,
        action="note_deleted",
        at=services.now(),
        actor=agent.sub,
        details={"note_id": note.id},
    )
    if not store.delete_contact_note(note, event):
        raise ResourceNotFoundError(f"no note {note_id[:40]!r} on this contact")


def conversation_notes(services: Services, conversation_id: str) -> NoteList:
    conv = load(services.store, conversation_id)
    return NoteList(
        items=[note_out(n) for n in services.store.conversation_notes(conv, limit=NOTES_LIMIT)], next=None
    )


def add_conversation_note(services: Services, agent: Agent, conversation_id: str, text: str) -> NoteOut:
    """An internal note on a conversation, recorded as a ``note_added`` conversation event."""
    conv = load(services.store, conversation_id)
    now = services.now()
    note = conversation_note(conv, text, agent.sub, now, author_email=agent.email, author_name=agent.name)
    event = ConversationEvent(
        conversation_id=conv.id,
        action="note_added",
        at=now,
        actor=agent.sub,
        actor_email=agent.email,
        actor_name=agent.name,
        details={"note_id": note.id},
    )
    services.store.add_conversation_note(conv, note, event)
    return note_out(note)


def note_out(note: Note) -> NoteOut:
    contact = None
    if note.conversation_id is None:
        channel, account_id, contact_id = note.pk.removeprefix(keys.CONTACT_PREFIX).split("#", 2)
        contact = IdentityOut(channel=channel, account_id=account_id, contact_id=contact_id)
    return NoteOut(
        id=note.id,
        text=note.text,
        author=note.author,
        author_name=note.author_name,
        created_at=iso(note.created_at),
        conversation_id=note.conversation_id,
        contact=contact,
    )
