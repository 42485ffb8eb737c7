"""Saved replies: the team's library of answers, in the table (agents edit it without a deployment).

The library is one partition (``SAVEDREPLY``): a reply is ``REPLY#<id>``, and its shortcode's claim
``SHORTCODE#<shortcode>`` (carrying ``reply_id``) makes the shortcode unique. The claim is written,
moved (on a rename) and removed in the same transaction as the reply, so a shortcode is never taken by
two replies nor left claimed by none. These writes are rare (an agent editing the library), so a
transaction is fine here, and one partition is too.

Listing reads the whole library with one Query of its partition (a small projection: the fields a
filter looks at), filters and sorts it by shortcode, then reads the page's replies with one
BatchGetItem: O(library), which is hundreds of items for a team. Using a reply adds to its
``usage_count`` with one atomic update (``ADD``), after the send.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from carehooks.clock import iso, parse_iso
from carehooks.store import keys
from carehooks.store.errors import ConflictError, StoreError
from carehooks.store.queries import decode_cursor, encode_cursor
from carehooks.store.table import TableStore as Store

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

MAX_PAGE = 100
UNPROCESSED_RETRIES = 5
# What a filter looks at: read for the whole library, so kept small.
HEAD_FIELDS = ("id", "shortcode", "title", "channels", "languages")


class ShortcodeTakenError(ConflictError):
    """Another saved reply has this shortcode."""

    def __init__(self, shortcode: str) -> None:
        super().__init__(f"the shortcode {shortcode!r} is taken")
        self.shortcode = shortcode


class SavedReplyChangedError(ConflictError):
    """The saved reply changed (or was deleted) since it was read: read it again."""


@dataclass(frozen=True)
class SavedReply:
    """One answer of the library. ``channels`` and ``languages`` empty: meant for all of them."""

    id: str
    shortcode: str
    title: str
    text: str
    channels: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    usage_count: int = 0
    last_used_at: datetime | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None


@dataclass(frozen=True)
class SavedReplyFilter:
    """``q``: a case-insensitive prefix of the shortcode, of the title or of a word of the title;
    ``channel`` / ``language``: replies meant for it (those meant for all channels / languages too)."""

    q: str | None = None
    channel: str | None = None
    language: str | None = None

    def matches(self, head: dict[str, Any]) -> bool:
        """Whether a reply (its head: :data:`HEAD_FIELDS`) passes the filter."""
        if self.q:
            q = self.q.strip().casefold()
            title = str(head.get("title") or "").casefold()
            if not (
                str(head.get("shortcode") or "").startswith(q)
                or title.startswith(q)
                or any(word.startswith(q) for word in title.split())
            ):
                return False
        channels = [str(c) for c in head.get("channels") or []]
        if self.channel and channels and self.channel not in channels:
            return False
        languages = [str(x).casefold() for x in head.get("languages") or []]
        return not (self.language and languages and self.language.casefold() not in languages)

    def fingerprint(self) -> str:
        """Names the filter in a cursor, so a cursor of another list is refused."""
        raw = f"saved-replies|{self.q or ''}|{self.channel or ''}|{(self.language or '').casefold()}"
        return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SavedReplyPage:
    items: list[SavedReply]
    next: str | None


# -- items (shared with the in-memory store) ----------------------------------------------------------
def reply_item(reply: SavedReply) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": keys.SAVED_REPLY_PK,
        "sk": keys.saved_reply_sk(reply.id),
        "type": "saved_reply",
        "id": reply.id,
        "shortcode": reply.shortcode,
        "title": reply.title,
        "text": reply.text,
        "channels": list(reply.channels),
        "languages": list(reply.languages),
        "usage_count": reply.usage_count,
    }
    if reply.last_used_at is not None:
        item["last_used_at"] = iso(reply.last_used_at)
    if reply.updated_at is not None:
        item["updated_at"] = iso(reply.updated_at)
    if reply.updated_by:
        item["updated_by"] = reply.updated_by
    return item


def claim_item(reply: SavedReply) -> dict[str, Any]:
    return {
        "pk": keys.SAVED_REPLY_PK,
        "sk": keys.shortcode_sk(reply.shortcode),
        "type": "shortcode",
        "reply_id": reply.id,
    }


def reply_from_item(item: dict[str, Any]) -> SavedReply:
    return SavedReply(
        id=str(item["id"]),
        shortcode=str(item["shortcode"]),
        title=str(item["title"]),
        text=str(item["text"]),
        channels=tuple(str(c) for c in item.get("channels") or []),
        languages=tuple(str(x) for x in item.get("languages") or []),
        usage_count=int(item.get("usage_count") or 0),
        last_used_at=parse_iso(str(item["last_used_at"])) if item.get("last_used_at") else None,
        updated_at=parse_iso(str(item["updated_at"])) if item.get("updated_at") else None,
        updated_by=str(item["updated_by"]) if item.get("updated_by") else None,
    )


def select(
    heads: list[dict[str, Any]], flt: SavedReplyFilter, limit: int, cursor: str | None
) -> tuple[list[str], str | None]:
    """The ids of one page (by shortcode) of the heads ``flt`` selects, and the next page's cursor."""
    fingerprint = flt.fingerprint()
    after = decode_cursor(cursor, fingerprint) if cursor else ""
    found = sorted((h for h in heads if flt.matches(h)), key=lambda h: str(h["shortcode"]))
    remaining = [h for h in found if str(h["shortcode"]) > after]
    page = remaining[: max(1, min(limit, MAX_PAGE))]
    more = len(remaining) > len(page)
    return [str(h["id"]) for h in page], encode_cursor(
        str(page[-1]["shortcode"]), fingerprint
    ) if more else None


# -- the table --------------------------------------------------------------------------------------
def _reply_key(store: Store, reply_id: str) -> dict[str, Any]:
    return store.key(keys.SAVED_REPLY_PK, keys.saved_reply_sk(reply_id))


def _claim_key(store: Store, shortcode: str) -> dict[str, Any]:
    return store.key(keys.SAVED_REPLY_PK, keys.shortcode_sk(shortcode))


def create(store: Store, reply: SavedReply) -> SavedReply:
    """Store a new reply with its shortcode's claim; :class:`ShortcodeTakenError` when it is taken."""
    items: list[TransactWriteItemTypeDef] = [
        {
            "Put": {
                "TableName": store.table_name,
                "Item": store.marshal(reply_item(reply)),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "Put": {
                "TableName": store.table_name,
                "Item": store.marshal(claim_item(reply)),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
    ]
    failed = _transact(store, items)
    if failed == 1:
        raise ShortcodeTakenError(reply.shortcode)
    if failed is not None:
        raise SavedReplyChangedError(f"saved reply {reply.id} exists already")
    return reply


def get(store: Store, reply_id: str) -> SavedReply | None:
    got = store.client.get_item(
        TableName=store.table_name, Key=_reply_key(store, reply_id), ConsistentRead=True
    )
    item = got.get("Item")
    return reply_from_item(store.unmarshal(item)) if item else None


def update(store: Store, reply: SavedReply, previous: SavedReply) -> SavedReply:
    """Replace the editable fields of ``previous`` (as read) with those of ``reply``; usage is kept.

    :class:`ShortcodeTakenError` when the new shortcode is another reply's; :class:`SavedReplyChangedError`
    when the reply was renamed or deleted since ``previous`` was read.
    """
    values: dict[str, Any] = {
        ":shortcode": reply.shortcode,
        ":title": reply.title,
        ":text": reply.text,
        ":channels": list(reply.channels),
        ":languages": list(reply.languages),
        ":read": previous.shortcode,
    }
    sets = ["#shortcode = :shortcode", "#title = :title", "#text = :text"]
    sets += ["#channels = :channels", "#languages = :languages"]
    names = {f"#{n}": n for n in ("shortcode", "title", "text", "channels", "languages")}
    if reply.updated_at is not None:
        sets.append("updated_at = :updated_at")
        values[":updated_at"] = iso(reply.updated_at)
    if reply.updated_by:
        sets.append("updated_by = :updated_by")
        values[":updated_by"] = reply.updated_by
    items: list[TransactWriteItemTypeDef] = [
        {
            "Update": {
                "TableName": store.table_name,
                "Key": _reply_key(store, previous.id),
                "UpdateExpression": "SET " + ", ".join(sets),
                "ConditionExpression": "attribute_exists(pk) AND #shortcode = :read",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": store.marshal(values),
            }
        }
    ]
    if reply.shortcode != previous.shortcode:
        items.append(_claim_delete(store, previous))
        items.append(
            {
                "Put": {
                    "TableName": store.table_name,
                    "Item": store.marshal(claim_item(replace(reply, id=previous.id))),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
    failed = _transact(store, items)
    if failed == 2:
        raise ShortcodeTakenError(reply.shortcode)
    if failed is not None:
        raise SavedReplyChangedError(f"saved reply {previous.id} changed since it was read")
    return replace(
        reply, id=previous.id, usage_count=previous.usage_count, last_used_at=previous.last_used_at
    )


def delete(store: Store, previous: SavedReply) -> None:
    """Remove the reply and its shortcode's claim; :class:`SavedReplyChangedError` when it was renamed
    or deleted since ``previous`` was read."""
    items: list[TransactWriteItemTypeDef] = [
        {
            "Delete": {
                "TableName": store.table_name,
                "Key": _reply_key(store, previous.id),
                "ConditionExpression": "attribute_exists(pk) AND #shortcode = :read",
                "ExpressionAttributeNames": {"#shortcode": "shortcode"},
                "ExpressionAttributeValues": {":read": {"S": previous.shortcode}},
            }
        },
        _claim_delete(store, previous),
    ]
    if _transact(store, items) is not None:
        raise SavedReplyChangedError(f"saved reply {previous.id} changed since it was read")


def _claim_delete(store: Store, previous: SavedReply) -> TransactWriteItemTypeDef:
    return {
        "Delete": {
            "TableName": store.table_name,
            "Key": _claim_key(store, previous.shortcode),
            "ConditionExpression": "reply_id = :id",
            "ExpressionAttributeValues": {":id": {"S": previous.id}},
        }
    }


def _transact(store: Store, items: list[TransactWriteItemTypeDef]) -> int | None:
    """Write ``items`` in one transaction: None when done, else the index of the first failed condition."""
    try:
        store.client.transact_write_items(TransactItems=items)
    except store.client.exceptions.TransactionCanceledException as exc:
        codes = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        for index, code in enumerate(codes):
            if code == "ConditionalCheckFailed":
                return index
        if "TransactionConflict" in codes:
            raise ConflictError("the saved replies changed concurrently") from exc
        raise
    return None


def heads(store: Store) -> list[dict[str, Any]]:
    """The whole library, the fields a filter looks at: one Query of its partition (paged by DynamoDB)."""
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": store.table_name,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {
            ":pk": {"S": keys.SAVED_REPLY_PK},
            ":prefix": {"S": keys.SAVED_REPLY_PREFIX},
        },
        "ProjectionExpression": ", ".join(f"#{n}" for n in HEAD_FIELDS),
        "ExpressionAttributeNames": {f"#{n}": n for n in HEAD_FIELDS},
    }
    while True:
        response = store.client.query(**kwargs)
        out.extend(store.unmarshal(i) for i in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return out
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def list_page(store: Store, flt: SavedReplyFilter, limit: int, cursor: str | None) -> SavedReplyPage:
    """One page of the replies ``flt`` selects, by shortcode."""
    ids, next_cursor = select(heads(store), flt, limit, cursor)
    found = _batch_get(store, ids)
    return SavedReplyPage(items=[found[i] for i in ids if i in found], next=next_cursor)


def _batch_get(store: Store, ids: list[str]) -> dict[str, SavedReply]:
    out: dict[str, SavedReply] = {}
    if not ids:
        return out
    request: dict[str, Any] = {store.table_name: {"Keys": [_reply_key(store, i) for i in ids]}}
    for attempt in range(UNPROCESSED_RETRIES):
        response = store.client.batch_get_item(RequestItems=request)
        for raw in response.get("Responses", {}).get(store.table_name, []):
            reply = reply_from_item(store.unmarshal(raw))
            out[reply.id] = reply
        request = dict(response.get("UnprocessedKeys") or {})
        if not request:
            return out
        time.sleep(min(0.05 * 2**attempt, 1.0))
    raise StoreError("DynamoDB kept some saved replies unprocessed")


def record_use(store: Store, reply_id: str, at: datetime) -> None:
    """Count one use of a reply (atomic ``ADD``); nothing when it was deleted meanwhile."""
    try:
        store.client.update_item(
            TableName=store.table_name,
            Key=_reply_key(store, reply_id),
            UpdateExpression="ADD usage_count :one SET last_used_at = :at",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":one": {"N": "1"}, ":at": {"S": iso(at)}},
        )
    except store.client.exceptions.ConditionalCheckFailedException:
        return
