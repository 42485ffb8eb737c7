"""DynamoDB access of the SLA monitor: due conversations, alert claims, the policy marker.

Reads only what is due: one Query per shard of the sparse ``BySlaDue`` index (keys only, ``sla_due_at <=
now``), then one consistent BatchGetItem per 100 due conversations. Every function reports what it read in
a :class:`ReadStats`, so the monitor can log it and the benchmark can check it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from carehooks.clock import iso
from carehooks.domain.models import Conversation
from carehooks.store import keys
from carehooks.store.errors import StoreError
from carehooks.store.items import conversation_from_item
from carehooks.store.table import TableStore as Store
from carehooks.store.table import with_retries

BATCH_GET_LIMIT = 100
UNPROCESSED_RETRIES = 8


@dataclass
class ReadStats:
    """What a monitor run read: requests, items examined by DynamoDB, and read capacity units."""

    queries: int = 0
    index_items: int = 0  # ScannedCount of the index queries
    batch_gets: int = 0
    items: int = 0  # conversations fetched
    other_reads: int = 0  # single-item reads (claims, the policy marker)

    @property
    def total_items(self) -> int:
        return self.index_items + self.items + self.other_reads


def due_conversation_keys(store: Store, shard: int, now: datetime, stats: ReadStats) -> list[dict[str, Any]]:
    """Table keys of the conversations of one shard whose next SLA rung is due at ``now``."""
    kwargs: dict[str, Any] = {
        "TableName": store.table_name,
        "IndexName": keys.BY_SLA_DUE_INDEX,
        "KeyConditionExpression": "#pk = :pk AND #due <= :now",
        "ExpressionAttributeNames": {"#pk": keys.SLA_DUE_PK_ATTR, "#due": keys.SLA_DUE_SK_ATTR},
        "ExpressionAttributeValues": {
            ":pk": {"S": keys.sla_due_pk(shard)},
            ":now": {"S": keys.sla_due_sk(now)},
        },
    }
    out: list[dict[str, Any]] = []
    while True:
        response = store.client.query(**kwargs)
        stats.queries += 1
        stats.index_items += int(response.get("ScannedCount", len(response.get("Items", []))))
        out.extend({"pk": i["pk"], "sk": i["sk"]} for i in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return out
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def get_conversations(store: Store, item_keys: list[dict[str, Any]], stats: ReadStats) -> list[Conversation]:
    """The conversations at these keys, read consistently (index entries may lag the table)."""
    out: list[Conversation] = []
    unique = list({(k["pk"]["S"], k["sk"]["S"]): k for k in item_keys}.values())
    for start in range(0, len(unique), BATCH_GET_LIMIT):
        request: dict[str, Any] = {
            store.table_name: {"Keys": unique[start : start + BATCH_GET_LIMIT], "ConsistentRead": True}
        }
        for attempt in range(UNPROCESSED_RETRIES):
            response = store.client.batch_get_item(RequestItems=request)
            stats.batch_gets += 1
            items = response.get("Responses", {}).get(store.table_name, [])
            stats.items += len(items)
            out.extend(conversation_from_item(store.unmarshal(i)) for i in items)
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))
        else:
            raise StoreError("DynamoDB kept some due conversations unprocessed")
    return out


def alert_was_sent(store: Store, scope: str, stats: ReadStats) -> bool:
    """True when the claim of this alert records a sent email (a previous run sent it)."""
    got = store.client.get_item(
        TableName=store.table_name,
        Key=store.key(keys.claim_pk(keys.SLA_CLAIM_KIND, scope), keys.CLAIM_SK),
        ConsistentRead=True,
        ProjectionExpression="sent_at",
    )
    stats.other_reads += 1
    return "sent_at" in got.get("Item", {})


def mark_alert_sent(store: Store, scope: str, message_id: str, now: datetime, keep: timedelta) -> None:
    """Record on the alert's claim that its email went out, and keep the claim for ``keep``.

    Retried on throttling: an email that went out but is not recorded here is sent again once its claim
    expires.
    """
    with_retries(
        lambda: store.client.update_item(
            TableName=store.table_name,
            Key=store.key(keys.claim_pk(keys.SLA_CLAIM_KIND, scope), keys.CLAIM_SK),
            UpdateExpression="SET sent_at = :at, message_id = :id, #ttl = :ttl",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues={
                ":at": {"S": iso(now)},
                ":id": {"S": message_id},
                ":ttl": {"N": str(int((now + keep).timestamp()))},
            },
        )
    )


@dataclass(frozen=True)
class PolicyMarker:
    """Which SLA policies the open conversations were derived with, and how far a re-derivation got."""

    fingerprint: str
    status: str | None = None  # the ByStatus partition being walked, None when done
    cursor: dict[str, Any] | None = None


def get_policy_marker(store: Store, stats: ReadStats) -> PolicyMarker | None:
    got = store.client.get_item(
        TableName=store.table_name,
        Key=store.key(keys.SLA_POLICY_KEY, keys.SLA_POLICY_KEY),
        ConsistentRead=True,
    )
    stats.other_reads += 1
    item = got.get("Item")
    if not item:
        return None
    data = store.unmarshal(item)
    return PolicyMarker(
        fingerprint=str(data.get("fingerprint", "")),
        status=data.get("walk_status"),
        cursor=_json_or_none(data.get("walk_cursor")),
    )


def put_policy_marker(store: Store, marker: PolicyMarker, now: datetime) -> None:
    store.client.put_item(TableName=store.table_name, Item=store.marshal(policy_marker_item(marker, now)))


def policy_marker_item(marker: PolicyMarker, now: datetime) -> dict[str, Any]:
    """The item of the SLA policy marker (one per table)."""
    item: dict[str, Any] = {
        "pk": keys.SLA_POLICY_KEY,
        "sk": keys.SLA_POLICY_KEY,
        "type": "sla-policy",
        "fingerprint": marker.fingerprint,
        "updated_at": iso(now),
    }
    if marker.status is not None:
        item["walk_status"] = marker.status
    if marker.cursor is not None:
        item["walk_cursor"] = json.dumps(marker.cursor)
    return item


def _json_or_none(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, str):
        return None
    loaded = json.loads(value)
    return loaded if isinstance(loaded, dict) else None


def status_page(
    store: Store, status: str, cursor: dict[str, Any] | None, limit: int, stats: ReadStats
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One page of conversation keys with this status (ByStatus) and the cursor to the next.

    The status's shards are walked one after another: the cursor names the shard (``p``, an index into
    :func:`carehooks.store.keys.status_partitions`) and the last key read in it (``k``).
    """
    partitions = keys.status_partitions(status)
    index = int((cursor or {}).get("p", 0))
    start = (cursor or {}).get("k")
    found: list[dict[str, Any]] = []
    while index < len(partitions) and len(found) < limit:
        kwargs: dict[str, Any] = {
            "TableName": store.table_name,
            "IndexName": keys.BY_STATUS_INDEX,
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partitions[index]}},
            "Limit": limit - len(found),
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        response = store.client.query(**kwargs)
        stats.queries += 1
        stats.index_items += int(response.get("ScannedCount", 0))
        found.extend({"pk": i["pk"], "sk": i["sk"]} for i in response.get("Items", []))
        start = response.get("LastEvaluatedKey")
        if start is None:
            index += 1
    if index >= len(partitions):
        return found, None
    return found, {"p": index, "k": start}
