"""DynamoDB access of the automation run (issue 17): due conversations by turn, cursors, claimed changes.

No new index: pending and open conversations are already in the ``ByStatus`` shards
(``STATUS#<status>#<0..31>``) sorted by turn (``gsi1sk`` = ``<turn ISO>#<id>``), and the index projects
``channel``, ``tags``, ``priority`` and ``assignee``. So "turned before now - after" is one Query per
shard bounded by the sort key, and which entry applies is decided on the index item itself: only the
conversations that are due are then read (BatchGetItem, consistent).

A cursor per (timer, status, ``after``) remembers, per shard, the sort key up to which every index item
was dealt with, so a run reads only what turned since the last run (plus a short margin, see
:mod:`carehooks.automation.due`): reads are O(due), not O(pending). The cursors are the items of one
partition (``AUTOCURSOR``), read with one Query per run.

Each action is claimed before it is done (``store.claim``), and its change is written with the
conversation event and the claim's final state in ONE transaction
(:func:`save_with_event_and_claim`): either the conversation changed, its event is recorded and the claim
says so, or none of it happened and the claim expires for a later run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from carehooks.clock import iso, parse_iso
from carehooks.domain.models import Conversation
from carehooks.store import keys
from carehooks.store.errors import ConflictError, ItemConditionError
from carehooks.store.events import ConversationEvent, _event_item
from carehooks.store.sla import ReadStats
from carehooks.store.table import TableStore as Store


@dataclass(frozen=True)
class StatusEntry:
    """One conversation as the ``ByStatus`` index shows it (keys and the projected attributes)."""

    table_key: dict[str, Any]  # opaque: handed back to ``get_conversations``
    list_sk: str  # ``<turn ISO>#<conversation id>``
    channel: str
    tags: tuple[str, ...]
    priority: str
    assignee: str | None

    @property
    def turn_at(self) -> datetime:
        return parse_iso(self.list_sk.split("#", 1)[0])

    @property
    def conversation_id(self) -> str:
        return self.list_sk.rsplit("#", 1)[-1]


def entry_from_index(item: dict[str, Any]) -> StatusEntry:
    """A ``StatusEntry`` from an unmarshalled index item (tolerant of absent projected attributes)."""
    tags = item.get("tags") or []
    assignee = item.get("assignee")
    return StatusEntry(
        table_key={"pk": {"S": str(item["pk"])}, "sk": {"S": str(item["sk"])}},
        list_sk=str(item[keys.LIST_SORT_ATTR]),
        channel=str(item.get("channel", "")),
        tags=tuple(str(t) for t in tags),
        priority=str(item.get("priority") or "normal"),
        assignee=str(assignee) if assignee else None,
    )


def status_entries(
    store: Store, partition: str, after: str | None, upto: str, stats: ReadStats
) -> list[StatusEntry]:
    """The index items of one ``ByStatus`` partition with ``after < gsi1sk <= upto``, oldest turn first."""
    if after is not None and after >= upto:
        return []
    values: dict[str, Any] = {":pk": {"S": partition}, ":hi": {"S": upto}}
    if after is None:
        condition = "gsi1pk = :pk AND gsi1sk <= :hi"
    else:
        # The smallest sort key greater than ``after``: sort keys never extend one another (ids are
        # 26 characters), so any greater key is at least ``after`` + a space.
        condition = "gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi"
        values[":lo"] = {"S": keys.after_list_key(after)}
    kwargs: dict[str, Any] = {
        "TableName": store.table_name,
        "IndexName": keys.BY_STATUS_INDEX,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
    }
    out: list[StatusEntry] = []
    while True:
        response = store.client.query(**kwargs)
        stats.queries += 1
        stats.index_items += int(response.get("ScannedCount", len(response.get("Items", []))))
        out.extend(entry_from_index(store.unmarshal(i)) for i in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return out
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def automation_cursors(store: Store, stats: ReadStats) -> dict[str, dict[str, str]]:
    """Every cursor (name → {partition → sort key dealt with}), one Query of their partition."""
    kwargs: dict[str, Any] = {
        "TableName": store.table_name,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": keys.AUTOMATION_CURSOR_PK}},
        "ConsistentRead": True,
    }
    out: dict[str, dict[str, str]] = {}
    while True:
        response = store.client.query(**kwargs)
        stats.queries += 1
        for raw in response.get("Items", []):
            item = store.unmarshal(raw)
            marks = item.get("marks") or {}
            out[str(item["sk"])] = {str(k): str(v) for k, v in marks.items()}
        stats.other_reads += len(response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return out
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def cursor_item(name: str, marks: dict[str, str], now: datetime) -> dict[str, Any]:
    return {
        "pk": keys.AUTOMATION_CURSOR_PK,
        "sk": name,
        "type": "automation-cursor",
        "marks": dict(marks),
        "updated_at": iso(now),
    }


def put_automation_cursor(store: Store, name: str, marks: dict[str, str], now: datetime) -> None:
    store.client.put_item(TableName=store.table_name, Item=store.marshal(cursor_item(name, marks, now)))


def done_claim_item(
    kind: str, scope: str, outcome: dict[str, str], keep: timedelta, now: datetime
) -> dict[str, Any]:
    """A claim in its final state (``done``), kept for ``keep``: what the claimed change wrote."""
    return {
        "pk": keys.claim_pk(kind, scope),
        "sk": keys.CLAIM_SK,
        "type": "claim",
        "state": "done",
        "claimed_at": iso(now),
        "owner": "automation",
        "ttl": int((now + keep).timestamp()),
        **outcome,
    }


def save_with_event_and_claim(
    store: Store,
    conv: Conversation,
    event: ConversationEvent,
    claim: tuple[str, str],
    outcome: dict[str, str],
    keep: timedelta,
) -> Conversation:
    """Write ``conv`` (read at ``conv.version``), its event and the claim's final state atomically.

    Raises :class:`ConflictError` when the conversation changed since it was read.
    """
    kind, scope = claim
    try:
        return store.write_conversation(
            conv,
            expected_version=conv.version,
            now=event.at,
            items=[
                store.new_item(_event_item(conv, event)),
                {
                    "Put": {
                        "TableName": store.table_name,
                        "Item": store.marshal(done_claim_item(kind, scope, outcome, keep, event.at)),
                    }
                },
            ],
        )
    except ItemConditionError as exc:
        raise ConflictError(f"conversation {conv.id} changed concurrently") from exc
