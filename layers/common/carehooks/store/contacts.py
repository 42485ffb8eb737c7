"""Contacts and notes: who a customer is (one item per platform identity), the identities linked to it,
and the private notes agents keep on a person or a conversation.

Items (key formats in :mod:`carehooks.store.keys`), all in the customer's partition
``CT#<channel>#<account>#<contact>`` so that none of them is ever read by the conversation queries
(which read ``begins_with(sk, "CONV#")``):

- the contact: ``CONTACT``; versioned (``version``), written when the platform's profile is fetched
  and by agents (``PATCH``, links), never on a customer's message;
- a private note on the person: ``NOTE#<ULID>``;
- a contact event (a note added or deleted, a link, an edit): ``CEVT#<at ISO>#<ULID>``, written in the
  same transaction as what it records.

An internal note on a conversation lives in the conversation's partition, ``CNOTE#<conversation
id>#<ULID>``, and is recorded as a conversation event (``EVT#…``, :mod:`carehooks.store.events`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ulid import ULID

from carehooks.clock import iso, parse_iso
from carehooks.domain.models import Conversation
from carehooks.store import keys
from carehooks.store.errors import ConflictError, StoreError
from carehooks.store.items import from_dynamo, to_dynamo

if TYPE_CHECKING:
    from carehooks.store.table import TableStore

NAME_SYNC_ATTEMPTS = 4


@dataclass(frozen=True, order=True)
class Identity:
    """One platform identity of a person: a customer id on one channel and business account."""

    channel: str
    account_id: str
    contact_id: str

    @property
    def pk(self) -> str:
        return keys.contact_pk(self.channel, self.account_id, self.contact_id)

    def as_dict(self) -> dict[str, str]:
        return {"channel": self.channel, "account_id": self.account_id, "contact_id": self.contact_id}


@dataclass(frozen=True)
class Contact:
    """What carehooks knows about one platform identity.

    ``name`` is the platform's (webhook or profile API); ``name_override`` an agent's, which wins.
    ``version`` is the version read (0: not stored yet); every write is conditional on it.
    """

    identity: Identity
    created_at: datetime
    last_seen_at: datetime | None = None
    name: str | None = None
    name_override: str | None = None
    username: str | None = None
    avatar_url: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    identities: tuple[Identity, ...] = ()
    profile_fetched_at: datetime | None = None
    version: int = 0

    @property
    def display_name(self) -> str | None:
        """The name to show: the agent's override, else the platform's."""
        return self.name_override or self.name


@dataclass(frozen=True)
class Note:
    """A private note: on a person (``conversation_id`` None) or on one conversation. ``pk`` and ``sk``
    say where it is stored."""

    id: str
    text: str
    author: str
    created_at: datetime
    pk: str
    sk: str
    author_email: str | None = None
    author_name: str | None = None
    conversation_id: str | None = None


@dataclass(frozen=True)
class ContactEvent:
    """One change to a contact: ``note_added``, ``note_deleted``, ``linked``, ``unlinked``, ``updated``."""

    identity: Identity
    action: str
    at: datetime
    actor: str
    details: dict[str, Any] = field(default_factory=dict)


def new_note_id(at: datetime) -> str:
    return str(ULID.from_timestamp(at.timestamp()))


def contact_note(identity: Identity, text: str, author: str, at: datetime, **who: str | None) -> Note:
    """A new note on the person ``identity`` names."""
    note_id = new_note_id(at)
    return Note(
        id=note_id,
        text=text,
        author=author,
        created_at=at,
        pk=identity.pk,
        sk=keys.contact_note_sk(note_id),
        author_email=who.get("author_email"),
        author_name=who.get("author_name"),
    )


def conversation_note(conv: Conversation, text: str, author: str, at: datetime, **who: str | None) -> Note:
    """A new internal note on ``conv``."""
    note_id = new_note_id(at)
    return Note(
        id=note_id,
        text=text,
        author=author,
        created_at=at,
        pk=keys.conversation_pk(conv.channel, conv.account_id, conv.contact_id, conv.thread_id),
        sk=keys.conversation_note_sk(conv.id, note_id),
        author_email=who.get("author_email"),
        author_name=who.get("author_name"),
        conversation_id=conv.id,
    )


# -- items ------------------------------------------------------------------------------------------
def contact_item(contact: Contact) -> dict[str, Any]:
    """The item of a contact (plain attributes), at its current ``version``."""
    ident = contact.identity
    item: dict[str, Any] = {
        "pk": ident.pk,
        "sk": keys.CONTACT_SK,
        "type": "contact",
        **ident.as_dict(),
        "created_at": iso(contact.created_at),
        "attributes": to_dynamo(dict(contact.attributes)),
        "identities": [i.as_dict() for i in contact.identities],
        "version": contact.version,
    }
    optional = {
        "last_seen_at": iso(contact.last_seen_at) if contact.last_seen_at else None,
        "name": contact.name,
        "name_override": contact.name_override,
        "username": contact.username,
        "avatar_url": contact.avatar_url,
        "profile_fetched_at": iso(contact.profile_fetched_at) if contact.profile_fetched_at else None,
    }
    item.update({k: v for k, v in optional.items() if v is not None})
    return item


def contact_from_item(item: dict[str, Any]) -> Contact:
    data = from_dynamo(item)

    def time_of(name: str) -> datetime | None:
        return parse_iso(str(data[name])) if data.get(name) else None

    return Contact(
        identity=Identity(str(data["channel"]), str(data["account_id"]), str(data["contact_id"])),
        created_at=parse_iso(str(data["created_at"])),
        last_seen_at=time_of("last_seen_at"),
        name=data.get("name"),
        name_override=data.get("name_override"),
        username=data.get("username"),
        avatar_url=data.get("avatar_url"),
        attributes=dict(data.get("attributes") or {}),
        identities=tuple(identities_of(data)),
        profile_fetched_at=time_of("profile_fetched_at"),
        version=int(data.get("version") or 0),
    )


def identities_of(data: dict[str, Any]) -> list[Identity]:
    """The linked identities an item (or its projection) lists."""
    return [
        Identity(str(i["channel"]), str(i["account_id"]), str(i["contact_id"]))
        for i in data.get("identities") or []
        if isinstance(i, dict)
    ]


def note_item(note: Note) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": note.pk,
        "sk": note.sk,
        "type": "note",
        "note_id": note.id,
        "text": note.text,
        "author": note.author,
        "created_at": iso(note.created_at),
    }
    optional = {
        "author_email": note.author_email,
        "author_name": note.author_name,
        "conversation_id": note.conversation_id,
    }
    item.update({k: v for k, v in optional.items() if v is not None})
    return item


def note_from_item(item: dict[str, Any]) -> Note:
    data = from_dynamo(item)
    return Note(
        id=str(data["note_id"]),
        text=str(data["text"]),
        author=str(data["author"]),
        created_at=parse_iso(str(data["created_at"])),
        pk=str(data["pk"]),
        sk=str(data["sk"]),
        author_email=data.get("author_email"),
        author_name=data.get("author_name"),
        conversation_id=data.get("conversation_id"),
    )


def contact_event_item(event: ContactEvent) -> dict[str, Any]:
    unique = str(ULID.from_timestamp(event.at.timestamp()))
    item: dict[str, Any] = {
        "pk": event.identity.pk,
        "sk": keys.contact_event_sk(event.at, unique),
        "type": "contact_event",
        "action": event.action,
        "at": iso(event.at),
        "actor": event.actor,
        "details": to_dynamo(dict(event.details)),
    }
    return item


def contact_event_from_item(item: dict[str, Any]) -> ContactEvent:
    data = from_dynamo(item)
    channel, account_id, contact_id = str(data["pk"]).removeprefix(keys.CONTACT_PREFIX).split("#", 2)
    return ContactEvent(
        identity=Identity(channel, account_id, contact_id),
        action=str(data["action"]),
        at=parse_iso(str(data["at"])),
        actor=str(data["actor"]),
        details=dict(data.get("details") or {}),
    )


def stored_version(contact: Contact) -> Contact:
    """``contact`` as it is once written: its version moved on by one."""
    return replace(contact, version=contact.version + 1)


# -- DynamoDB ---------------------------------------------------------------------------------------
def get_contact(store: TableStore, identity: Identity) -> Contact | None:
    """The contact item of one identity (consistent read), or None."""
    got = store.client.get_item(
        TableName=store.table_name, Key=store.key(identity.pk, keys.CONTACT_SK), ConsistentRead=True
    )
    item = got.get("Item")
    return contact_from_item(store.unmarshal(item)) if item else None


def linked_identities(store: TableStore, identity: Identity) -> list[Identity]:
    """The identities linked to ``identity``: one small read (only that attribute is returned)."""
    got = store.client.get_item(
        TableName=store.table_name,
        Key=store.key(identity.pk, keys.CONTACT_SK),
        ProjectionExpression="identities",
    )
    item = got.get("Item")
    return identities_of(store.unmarshal(item)) if item else []


def _contact_put(store: TableStore, contact: Contact) -> dict[str, Any]:
    put: dict[str, Any] = {
        "TableName": store.table_name,
        "Item": store.marshal(contact_item(stored_version(contact))),
    }
    if contact.version == 0:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        put["ConditionExpression"] = "version = :v"
        put["ExpressionAttributeValues"] = {":v": {"N": str(contact.version)}}
    return put


def save_contacts(
    store: TableStore, contacts: Sequence[Contact], events: Sequence[ContactEvent] = ()
) -> list[Contact]:
    """Write ``contacts`` (each conditional on the version it was read at) and ``events``, all or nothing.

    Raises :class:`ConflictError` when one of them changed since it was read (or, read as absent, now
    exists): the caller re-reads and decides again.
    """
    puts = [_contact_put(store, c) for c in contacts]
    if len(puts) == 1 and not events:
        try:
            store.client.put_item(**puts[0])
        except store.client.exceptions.ConditionalCheckFailedException as exc:
            raise ConflictError("the contact changed concurrently") from exc
        return [stored_version(contacts[0])]
    transact: list[Any] = [{"Put": p} for p in puts]
    transact += [store.new_item(contact_event_item(e)) for e in events]
    try:
        store.client.transact_write_items(TransactItems=transact)
    except store.client.exceptions.TransactionCanceledException as exc:
        raise ConflictError("a contact changed concurrently") from exc
    return [stored_version(c) for c in contacts]


def add_note(store: TableStore, note: Note, event_item: dict[str, Any]) -> None:
    """Write a note and the event recording it (a contact or conversation event item), atomically."""
    store.client.transact_write_items(
        TransactItems=[store.new_item(note_item(note)), store.new_item(event_item)]
    )


def delete_note(store: TableStore, note: Note, event_item: dict[str, Any]) -> bool:
    """Delete a note and record it (``event_item``); False when it was already gone."""
    try:
        store.client.transact_write_items(
            TransactItems=[
                {
                    "Delete": {
                        "TableName": store.table_name,
                        "Key": store.key(note.pk, note.sk),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
                store.new_item(event_item),
            ]
        )
    except store.client.exceptions.TransactionCanceledException:
        return False
    return True


def _query_prefix(store: TableStore, pk: str, prefix: str, limit: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": store.table_name,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": prefix}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    while len(out) < limit:
        response = store.client.query(**kwargs)
        out.extend(store.unmarshal(i) for i in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            break
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return out[:limit]


def notes(store: TableStore, pk: str, prefix: str, limit: int) -> list[Note]:
    """The notes of one partition under ``prefix``, newest first (one Query per page)."""
    return [note_from_item(i) for i in _query_prefix(store, pk, prefix, limit)]


def contact_events(store: TableStore, identity: Identity, limit: int) -> list[ContactEvent]:
    """An identity's contact events, newest first."""
    found = _query_prefix(store, identity.pk, keys.CONTACT_EVENT_PREFIX, limit)
    return [contact_event_from_item(i) for i in found]


# -- the conversation's name ------------------------------------------------------------------------
class ConversationWrites(Protocol):
    def latest_conversation(
        self, channel: str, account_id: str, contact_id: str, thread_id: str | None = None
    ) -> Conversation | None: ...

    def save_conversation(self, conv: Conversation) -> Conversation: ...


def show_name_on_latest(store: ConversationWrites, identity: Identity, name: str) -> Conversation | None:
    """Write ``name`` as the ``contact_name`` of the customer's current (latest) conversation, so lists,
    emails and acknowledgement texts show it; retried on a concurrent change. None when there is no
    conversation or it already shows the name."""
    for attempt in range(NAME_SYNC_ATTEMPTS):
        conv = store.latest_conversation(identity.channel, identity.account_id, identity.contact_id)
        if conv is None or conv.contact_name == name:
            return None
        try:
            return store.save_conversation(replace(conv, contact_name=name))
        except ConflictError:
            time.sleep(0.02 * (attempt + 1))
    raise StoreError(f"the conversation name of {identity.channel} {identity.contact_id} kept changing")
