"""Agent lists: conversations by status, channel, tag, assignee, priority and SLA state, newest activity first.

Served by indexes, never by a scan (key formats in :mod:`carehooks.store.keys`):

- an agent's queue (``assignee``) reads the sparse ``ByAssignee`` index, one partition per status;
- every other list reads ``ByStatus``: :data:`carehooks.store.keys.STATUS_SHARDS` partitions per status
  (and the status's data model v1 partition, until ``carehooks migrate`` has run), merged.

Both indexes sort by ``gsi1sk`` = ``<turn ISO>#<id>`` (when the conversation last changed hands: a
customer's follow-up does not move it, see :func:`carehooks.domain.conversations.apply_message`) and project the attributes a filter needs
(``channel``, ``tags``, ``priority``, ``assignee``, ``sla_state``), so the remaining filters run inside the
index Query (a Query is billed by the bytes it reads: small projected items are cheap). Only the
conversations of the page are then read, with one BatchGetItem, and checked again against the filter
(the index lags the table by a moment).

Several partitions (the shards of a status; with no status filter, those of open, pending and resolved)
are merged by sort key; the first round reads them in parallel. The cursor is
the sort key up to which every partition has been read, so a page never skips or repeats a conversation
whose activity did not change meanwhile; one that moved (a new message) re-appears at the top, as in
any inbox. A request reads at most :data:`READ_BUDGET` index items: a rare filter may return a short
page with a ``next`` cursor, never a slow request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple, dataclass, field
from typing import Any, Literal

from carehooks.domain.models import Conversation
from carehooks.store import keys
from carehooks.store.errors import StoreError
from carehooks.store.items import conversation_from_item
from carehooks.store.table import TableStore as Store

STATUSES: tuple[str, ...] = ("open", "pending", "resolved")
READ_BUDGET = 1000
MAX_LIMIT = 100
PARALLEL_QUERIES = 16
SLA_STATE_ATTR = "sla_state"
_CURSOR_VERSION = 1
_MAX_CURSOR_CHARS = 1024

Order = Literal["desc", "asc"]


class CursorError(ValueError):
    """The cursor is not one this list returned (tampered, truncated, or from other filters)."""


@dataclass(frozen=True)
class ConversationFilter:
    """What a list asks for. Every field narrows it; ``None`` means "any"."""

    statuses: tuple[str, ...] = STATUSES
    channel: str | None = None
    tag: str | None = None
    assignee: str | None = None
    unassigned: bool = False
    priority: str | None = None
    sla_state: str | None = None

    def fingerprint(self, order: Order) -> str:
        """A short digest of the filter and order: a cursor only continues the list it came from."""
        data = json.dumps([*astuple(self), order])
        return hashlib.sha256(data.encode()).hexdigest()[:16]

    def matches(self, conv: Conversation) -> bool:
        """The same filter, on a conversation read from the table."""
        checks = (
            conv.status in self.statuses,
            self.channel is None or str(conv.channel) == self.channel,
            self.tag is None or self.tag in conv.tags,
            self.priority is None or conv.priority == self.priority,
            self.assignee is None or conv.assignee == self.assignee,
            not (self.unassigned and conv.assignee),
            self.sla_state is None or conv.sla_state == self.sla_state,
        )
        return all(checks)


@dataclass(frozen=True)
class Page:
    """One page of a list: the conversations, and the cursor of the next page (None: the end)."""

    items: list[Conversation]
    next: str | None


@dataclass
class _Partition:
    index: str
    key_attr: str
    key: str
    frontier: str | None  # the last sort key read (everything before it, in list order, is known)
    exhausted: bool = False
    found: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (sort key, table key)


def encode_cursor(boundary: str, fingerprint: str) -> str:
    raw = json.dumps({"v": _CURSOR_VERSION, "b": boundary, "f": fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str) -> str:
    """The boundary a cursor carries; :class:`CursorError` when it is not a cursor of this list."""
    if len(cursor) > _MAX_CURSOR_CHARS:
        raise CursorError("the cursor is too long")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise CursorError("the cursor is not one this API returned") from exc
    if not isinstance(data, dict) or data.get("v") != _CURSOR_VERSION or not isinstance(data.get("b"), str):
        raise CursorError("the cursor is not one this API returned")
    if data.get("f") != fingerprint:
        raise CursorError("the cursor belongs to a list with other filters or order")
    boundary: str = data["b"]
    if not boundary or len(boundary) > 512:
        raise CursorError("the cursor is not one this API returned")
    return boundary


def list_conversations(
    store: Store,
    flt: ConversationFilter,
    limit: int = 25,
    cursor: str | None = None,
    order: Order = "desc",
    read_budget: int = READ_BUDGET,
) -> Page:
    """One page of conversations matching ``flt``, by turn (``desc``: most recent first)."""
    limit = max(1, min(limit, MAX_LIMIT))
    fingerprint = flt.fingerprint(order)
    start = decode_cursor(cursor, fingerprint) if cursor else None
    newest_first = order == "desc"
    partitions = _partitions(flt, start)
    filter_expression, names, values = _filter_expression(flt)
    batch = limit + 1 if not filter_expression else max(2 * limit, 50)
    read = 0
    while True:
        lagging = _lagging(partitions, newest_first)
        for count in _in_parallel(
            [
                lambda part=part: _read(store, part, batch, newest_first, filter_expression, names, values)
                for part in lagging
            ]
        ):
            read += count
        safe = _safe_frontier(partitions, newest_first)
        ready = sorted(
            (hit for part in partitions for hit in part.found if _within(hit[0], safe, newest_first)),
            key=lambda hit: hit[0],
            reverse=newest_first,
        )
        if len(ready) >= limit:
            page = ready[:limit]
            more = len(ready) > limit or safe is not None
            next_boundary = page[-1][0] if more else None
            break
        if safe is None:  # every partition read to its end
            page, next_boundary = ready, None
            break
        if read >= read_budget:
            page, next_boundary = ready, safe
            break
    conversations = [c for c in batch_get(store, [key for _, key in page]) if flt.matches(c)]
    next_cursor = encode_cursor(next_boundary, fingerprint) if next_boundary else None
    return Page(items=conversations, next=next_cursor)


def _in_parallel(calls: list[Any]) -> list[int]:
    """Run index Queries of different partitions at once (one DynamoDB client serves threads)."""
    if len(calls) <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=min(PARALLEL_QUERIES, len(calls))) as pool:
        return list(pool.map(lambda call: int(call()), calls))


def _partitions(flt: ConversationFilter, start: str | None) -> list[_Partition]:
    if flt.assignee is not None:
        return [
            _Partition(
                keys.BY_ASSIGNEE_INDEX, keys.ASSIGNEE_PK_ATTR, keys.assignee_pk(s, flt.assignee), start
            )
            for s in flt.statuses
        ]
    return [
        _Partition(keys.BY_STATUS_INDEX, "gsi1pk", pk, start)
        for s in flt.statuses
        for pk in keys.status_partitions(s)
    ]


def _filter_expression(flt: ConversationFilter) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The FilterExpression run inside the index Query (only projected attributes)."""
    parts: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    equals = {"channel": flt.channel, "priority": flt.priority, SLA_STATE_ATTR: flt.sla_state}
    for i, (attribute, wanted) in enumerate(equals.items()):
        if wanted is not None:
            names[f"#f{i}"] = attribute
            values[f":f{i}"] = {"S": wanted}
            parts.append(f"#f{i} = :f{i}")
    if flt.tag is not None:
        names["#tags"] = "tags"
        values[":tag"] = {"S": flt.tag}
        parts.append("contains(#tags, :tag)")
    if flt.unassigned:
        names["#assignee"] = "assignee"
        parts.append("attribute_not_exists(#assignee)")
    return " AND ".join(parts), names, values


def _lagging(partitions: list[_Partition], newest_first: bool) -> list[_Partition]:
    """The unfinished partitions that hold the others back (all of them on the first round)."""
    live = [p for p in partitions if not p.exhausted]
    if any(p.frontier is None for p in live):
        return [p for p in live if p.frontier is None]
    safe = _safe_frontier(partitions, newest_first)
    return [p for p in live if p.frontier == safe]


def _safe_frontier(partitions: list[_Partition], newest_first: bool) -> str | None:
    """The sort key up to which every partition has been read (None: all read to the end)."""
    frontiers = [p.frontier or "" for p in partitions if not p.exhausted]
    if not frontiers:
        return None
    return max(frontiers) if newest_first else min(frontiers)


def _within(sort_key: str, safe: str | None, newest_first: bool) -> bool:
    if safe is None:
        return True
    return sort_key >= safe if newest_first else sort_key <= safe


def _read(
    store: Store,
    part: _Partition,
    batch: int,
    newest_first: bool,
    filter_expression: str,
    names: dict[str, str],
    values: dict[str, Any],
) -> int:
    """Read the next batch of one partition; returns how many index items were read."""
    condition = "#pk = :pk"
    query_names = {**names, "#pk": part.key_attr}
    query_values = {**values, ":pk": {"S": part.key}}
    if part.frontier is not None:
        condition += " AND #sk < :b" if newest_first else " AND #sk > :b"
        query_names["#sk"] = keys.LIST_SORT_ATTR
        query_values[":b"] = {"S": part.frontier}
    kwargs: dict[str, Any] = {
        "TableName": store.table_name,
        "IndexName": part.index,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": query_names,
        "ExpressionAttributeValues": query_values,
        "ScanIndexForward": not newest_first,
        "Limit": batch,
    }
    if filter_expression:
        kwargs["FilterExpression"] = filter_expression
    response = store.client.query(**kwargs)
    for item in response.get("Items", []):
        part.found.append((item[keys.LIST_SORT_ATTR]["S"], {"pk": item["pk"], "sk": item["sk"]}))
    last = response.get("LastEvaluatedKey")
    if last is None:
        part.exhausted = True
    else:
        part.frontier = last[keys.LIST_SORT_ATTR]["S"]
    return int(response.get("ScannedCount", len(response.get("Items", []))))


def batch_get(store: Store, table_keys: list[dict[str, Any]], attempts: int = 5) -> list[Conversation]:
    """The conversations at ``table_keys``, in that order (gone ones are left out).

    Raises :class:`StoreError` when DynamoDB keeps some keys unprocessed (throttling): a page must not
    silently lose conversations while its cursor moves past them.
    """
    if not table_keys:
        return []
    found: dict[tuple[str, str], Conversation] = {}
    pending: list[dict[str, Any]] = list(table_keys)
    for attempt in range(attempts):
        response = store.client.batch_get_item(RequestItems={store.table_name: {"Keys": pending}})
        for item in response.get("Responses", {}).get(store.table_name, []):
            found[(item["pk"]["S"], item["sk"]["S"])] = conversation_from_item(store.unmarshal(item))
        unprocessed = response.get("UnprocessedKeys") or {}
        pending = list(unprocessed[store.table_name]["Keys"]) if store.table_name in unprocessed else []
        if not pending:
            break
        if attempt < attempts - 1:
            time.sleep(min(0.05 * 2**attempt, 0.5))  # throttled: back off before asking for the rest
    if pending:
        raise StoreError("the table is throttling reads; try again")
    return [found[k] for k in ((key["pk"]["S"], key["sk"]["S"]) for key in table_keys) if k in found]
