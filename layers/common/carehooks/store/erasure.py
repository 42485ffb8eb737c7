"""Erasure and export of one platform identity (issue 18), and the tombstone that is all that is kept.

Everything carehooks holds about a customer sits in a few places, each found by key, never by a Scan:

- the customer's partition ``CT#<channel>#<account>#<contact>``: the contact item, notes and contact
  events, the conversations (their SLA, survey and list index attributes are attributes of the
  conversation item, so the due markers go with it), messages, conversation events and notes;
- per conversation: its send log ``SENDLOG#<conversation id>`` and its claims ``CLAIM#ack#<id>``,
  ``CLAIM#survey#<id>``, ``CLAIM#csat-alert#<id>``;
- per identity: the claims ``CLAIM#ack-contact#…``, ``CLAIM#survey-contact#…``, ``CLAIM#profile#…``;
- the identities linked to it: their contact items list it, and their link/unlink contact events name it.

:func:`erase` writes the tombstone first (so that a webhook redelivered while the erasure runs already
stores nothing), then deletes the items above, and removes the identity from the linked identities'
contact items and link events. Running it again finishes what an interrupted run left.

Not found by key, so not deleted here (documented in ``docs/privacy.md``): SLA alert claims
(``CLAIM#sla#<conversation id>#<metric>#<cycle>#<rung>``: ids only, they expire with their ``ttl``) and
dedupe markers of non-message events (ids only, ``ttl`` 8 days).

The tombstone: pk ``ERASED#<channel>#<account>#<digest>``, sk ``ERASED``, ``type: "tombstone"``,
``channel``, ``account_id``, ``digest`` (HMAC-SHA256 of the contact id under a deployment key, hex:
without the key it cannot be turned back into the id, even for a phone number), ``erased_at`` and
``event_id`` (a ULID: the ``contact.erased`` event's id, published from the table's stream).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from ulid import ULID

from carehooks.clock import iso, parse_iso
from carehooks.store import keys
from carehooks.store.contacts import Contact, Identity, identities_of
from carehooks.store.errors import ConflictError

if TYPE_CHECKING:
    from carehooks.store.table import TableStore

TOMBSTONE_TYPE = "tombstone"
CONVERSATION_CLAIMS = ("ack", "survey", "csat-alert")
CONTACT_CLAIMS = ("ack-contact", "survey-contact", keys.PROFILE_CLAIM_KIND)
BATCH_WRITE = 25
# Attributes that only place an item in the table or an index: not part of what is held about a person.
_PLACEMENT = {
    "pk",
    "sk",
    "gsi1pk",
    "gsi1sk",
    "lsi1sk",
    "created_pk",
    "assignee_pk",
    "sla_due_pk",
    "sla_due_at",
    "survey_due_pk",
    "survey_due_at",
    "day_pk",
    "day_sk",
    "conv_id",
    "ttl",
}


def contact_digest(contact_id: str, key: str) -> str:
    """The tombstone's digest of a contact id: HMAC-SHA256 under the deployment's erasure key, hex."""
    if not key:
        raise ValueError("no erasure key: a digest without one could be reversed by trying ids")
    return hmac.new(key.encode(), contact_id.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Tombstone:
    """All that is kept of an erased identity (no contact id: only its keyed digest)."""

    channel: str
    account_id: str
    digest: str
    erased_at: datetime
    event_id: str

    @classmethod
    def new(cls, identity: Identity, digest: str, at: datetime) -> Tombstone:
        event_id = str(ULID.from_timestamp(at.timestamp()))
        return cls(identity.channel, identity.account_id, digest, at, event_id)

    @property
    def pk(self) -> str:
        return keys.tombstone_pk(self.channel, self.account_id, self.digest)

    def item(self) -> dict[str, Any]:
        return {
            "pk": self.pk,
            "sk": keys.TOMBSTONE_SK,
            "type": TOMBSTONE_TYPE,
            "channel": self.channel,
            "account_id": self.account_id,
            "digest": self.digest,
            "erased_at": iso(self.erased_at),
            "event_id": self.event_id,
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Tombstone:
        return cls(
            channel=str(item["channel"]),
            account_id=str(item["account_id"]),
            digest=str(item["digest"]),
            erased_at=parse_iso(str(item["erased_at"])),
            event_id=str(item["event_id"]),
        )


@dataclass
class ErasureResult:
    """What one erasure removed (counts only: never what the items said)."""

    tombstone: Tombstone
    items_deleted: int = 0
    conversations: int = 0
    links_removed: int = 0
    conversation_ids: list[str] = field(default_factory=list)


class RawItems(Protocol):
    """The item access erasure needs; items in plain Python values (numbers as int/float/Decimal)."""

    def partition(self, pk: str, prefix: str = "") -> list[dict[str, Any]]: ...

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> dict[str, Any] | None: ...

    def delete(self, item_keys: Sequence[tuple[str, str]]) -> None: ...

    def put(self, item: dict[str, Any]) -> None: ...


class ContactWrites(Protocol):
    def get_contact(self, identity: Identity) -> Contact | None: ...

    def save_contacts(self, items: Sequence[Contact], events: Sequence[Any] = ()) -> list[Contact]: ...


def held_item_keys(
    raw: RawItems, identity: Identity
) -> tuple[list[tuple[str, str]], list[str], list[Identity]]:
    """(every key held about ``identity``, its conversation ids, the identities linked to it)."""
    partition = raw.partition(identity.pk)
    found: list[tuple[str, str]] = [(str(i["pk"]), str(i["sk"])) for i in partition]
    conversation_ids = [
        str(i["sk"])[len(keys.CONVERSATION_PREFIX) :]
        for i in partition
        if str(i["sk"]).startswith(keys.CONVERSATION_PREFIX)
    ]
    contact = next((i for i in partition if i["sk"] == keys.CONTACT_SK), None)
    linked = identities_of(contact) if contact else []
    for conversation_id in conversation_ids:
        found += [(str(i["pk"]), str(i["sk"])) for i in raw.partition(keys.send_log_pk(conversation_id))]
        for kind in CONVERSATION_CLAIMS:
            if raw.get(keys.claim_pk(kind, conversation_id), keys.CLAIM_SK) is not None:
                found.append((keys.claim_pk(kind, conversation_id), keys.CLAIM_SK))
    scope = f"{identity.channel}#{identity.account_id}#{identity.contact_id}"
    for kind in CONTACT_CLAIMS:
        if raw.get(keys.claim_pk(kind, scope), keys.CLAIM_SK) is not None:
            found.append((keys.claim_pk(kind, scope), keys.CLAIM_SK))
    return found, conversation_ids, linked


def get_tombstone(raw: RawItems, channel: str, account_id: str, digest: str) -> Tombstone | None:
    """The identity's tombstone. An eventually consistent read (0.5 read unit, on the processor's new
    conversation path): the tombstone is written before the erasure deletes anything, long before the
    redelivered webhook it stops, in practice."""
    item = raw.get(keys.tombstone_pk(channel, account_id, digest), keys.TOMBSTONE_SK, consistent=False)
    return Tombstone.from_item(item) if item is not None else None


def erase(raw: RawItems, contacts: ContactWrites, identity: Identity, tombstone: Tombstone) -> ErasureResult:
    """Remove everything held about ``identity`` (see the module), after writing ``tombstone``."""
    found, conversation_ids, linked = held_item_keys(raw, identity)
    raw.put(tombstone.item())
    result = ErasureResult(tombstone=tombstone, conversations=len(conversation_ids))
    result.conversation_ids = conversation_ids
    for other in linked:
        result.links_removed += _unlink(raw, contacts, other, identity)
    raw.delete(found)
    result.items_deleted = len(found)
    return result


def _unlink(raw: RawItems, contacts: ContactWrites, other: Identity, erased: Identity) -> int:
    """Take ``erased`` off ``other``'s contact and delete ``other``'s link events that name it."""
    removed = 0
    for _ in range(4):
        contact = contacts.get_contact(other)
        if contact is None or erased not in contact.identities:
            break
        try:
            kept = tuple(i for i in contact.identities if i != erased)
            contacts.save_contacts([replace(contact, identities=kept)])
            removed = 1
            break
        except ConflictError:  # a concurrent edit of that contact: read it again
            continue
    naming = [
        (str(i["pk"]), str(i["sk"]))
        for i in raw.partition(other.pk, keys.CONTACT_EVENT_PREFIX)
        if _names(i.get("details"), erased)
    ]
    raw.delete(naming)
    return removed


def _names(details: Any, identity: Identity) -> bool:
    return (
        isinstance(details, dict)
        and details.get("contact_id") == identity.contact_id
        and details.get("channel") == identity.channel
        and details.get("account_id") == identity.account_id
    )


def export(raw: RawItems, identity: Identity) -> dict[str, Any] | None:
    """Everything held about ``identity`` as one JSON-ready document; None when nothing is held."""
    partition = raw.partition(identity.pk)
    if not partition:
        return None
    by_kind: dict[str, list[dict[str, Any]]] = {
        "conversations": [],
        "messages": [],
        "conversation_events": [],
        "conversation_notes": [],
        "notes": [],
        "contact_events": [],
    }
    contact: dict[str, Any] | None = None
    prefixes = (
        (keys.CONVERSATION_PREFIX, "conversations"),
        (keys.MESSAGE_PREFIX, "messages"),
        (keys.EVENT_PREFIX, "conversation_events"),
        (keys.CONVERSATION_NOTE_PREFIX, "conversation_notes"),
        (keys.CONTACT_NOTE_PREFIX, "notes"),
        (keys.CONTACT_EVENT_PREFIX, "contact_events"),
    )
    for item in partition:
        sk = str(item["sk"])
        if sk == keys.CONTACT_SK:
            contact = plain(item)
            continue
        for prefix, kind in prefixes:
            if sk.startswith(prefix):
                entry = plain(item)
                if prefix == keys.CONVERSATION_PREFIX:
                    entry = {"id": sk[len(prefix) :], **entry}
                by_kind[kind].append(entry)
                break
    conversation_ids = [
        str(i["sk"])[len(keys.CONVERSATION_PREFIX) :]
        for i in partition
        if str(i["sk"]).startswith(keys.CONVERSATION_PREFIX)
    ]
    send_log = [plain(i) for c in conversation_ids for i in raw.partition(keys.send_log_pk(c))]
    return {"identity": identity.as_dict(), "contact": contact, **by_kind, "send_log": send_log}


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """An item as JSON values, without the attributes that only place it in the table or an index."""
    return {k: _json(v) for k, v in sorted(item.items()) if k not in _PLACEMENT}


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_json(v) for v in value)
    return value


class DynamoItems:
    """:class:`RawItems` on the table: Queries of one partition, GetItem, BatchWriteItem."""

    def __init__(self, store: TableStore) -> None:
        self.store = store

    def partition(self, pk: str, prefix: str = "") -> list[dict[str, Any]]:
        condition = "pk = :pk AND begins_with(sk, :prefix)" if prefix else "pk = :pk"
        values: dict[str, Any] = {":pk": {"S": pk}}
        if prefix:
            values[":prefix"] = {"S": prefix}
        found: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            request: dict[str, Any] = {
                "TableName": self.store.table_name,
                "KeyConditionExpression": condition,
                "ExpressionAttributeValues": values,
                "ConsistentRead": True,
            }
            if start:
                request["ExclusiveStartKey"] = start
            response = self.store.client.query(**request)
            found += [self.store.unmarshal(i) for i in response.get("Items", [])]
            start = response.get("LastEvaluatedKey")
            if not start:
                return found

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> dict[str, Any] | None:
        response = self.store.client.get_item(
            TableName=self.store.table_name, Key=self.store.key(pk, sk), ConsistentRead=consistent
        )
        item = response.get("Item")
        return self.store.unmarshal(item) if item else None

    def delete(self, item_keys: Sequence[tuple[str, str]]) -> None:
        unique = list(dict.fromkeys(item_keys))
        for start in range(0, len(unique), BATCH_WRITE):
            pending: list[Any] = [
                {"DeleteRequest": {"Key": self.store.key(pk, sk)}}
                for pk, sk in unique[start : start + BATCH_WRITE]
            ]
            for _ in range(8):
                response = self.store.client.batch_write_item(RequestItems={self.store.table_name: pending})
                pending = list(response.get("UnprocessedItems", {}).get(self.store.table_name, []))
                if not pending:
                    break
            else:
                raise RuntimeError(f"{len(pending)} item(s) not deleted after retries; run the erasure again")

    def put(self, item: dict[str, Any]) -> None:
        self.store.client.put_item(TableName=self.store.table_name, Item=self.store.marshal(item))
