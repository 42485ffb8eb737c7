"""DynamoDB access for reports: conversations by creation day, never a scan.

Data model v2: the keys-only ``ByCreated`` index, :data:`carehooks.store.keys.DAY_SHARDS` partitions per
UTC day (one Query each), then the conversations with BatchGetItem. Until ``carehooks migrate`` has run,
the day's data model v1 partition of ``ByDay`` (whole items) is read too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from carehooks.clock import iso
from carehooks.domain.models import Conversation
from carehooks.store import keys
from carehooks.store.items import conversation_from_item
from carehooks.store.queries import batch_get
from carehooks.store.table import TableStore as Store

BATCH_GET_KEYS = 100


def conversations_created(store: Store, start: datetime, end: datetime) -> Iterator[Conversation]:
    """Conversations created in ``[start, end)``, day by day (UTC), each day by creation time."""
    if end <= start:
        return
    day = start.astimezone(UTC).date()
    last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
    while day <= last:
        found = {c.id: c for c in _legacy_day(store, day, start, end)}
        table_keys = [k for partition in keys.created_partitions(day) for k in _index_keys(store, partition)]
        for offset in range(0, len(table_keys), BATCH_GET_KEYS):
            for conv in batch_get(store, table_keys[offset : offset + BATCH_GET_KEYS]):
                found[conv.id] = conv
        yield from sorted(
            (c for c in found.values() if start <= c.created_at < end), key=lambda c: (c.created_at, c.id)
        )
        day += timedelta(days=1)


def _index_keys(store: Store, partition: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": store.table_name,
        "IndexName": keys.BY_CREATED_INDEX,
        "KeyConditionExpression": "#p = :p",
        "ExpressionAttributeNames": {"#p": keys.CREATED_PK_ATTR},
        "ExpressionAttributeValues": {":p": {"S": partition}},
    }
    while True:
        response = store.client.query(**kwargs)
        out.extend({"pk": i["pk"], "sk": i["sk"]} for i in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return out
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _legacy_day(store: Store, day: date, start: datetime, end: datetime) -> Iterator[Conversation]:
    """The day's conversations not yet migrated (data model v1 ``ByDay``: whole items)."""
    kwargs: dict[str, Any] = {
        "TableName": store.table_name,
        "IndexName": keys.BY_DAY_INDEX,
        "KeyConditionExpression": "#p = :p AND #s BETWEEN :lo AND :hi",
        "ExpressionAttributeNames": {"#p": keys.DAY_PK_ATTR, "#s": keys.DAY_SK_ATTR},
        "ExpressionAttributeValues": {
            ":p": {"S": keys.legacy_day_pk(day)},
            ":lo": {"S": iso(start)},
            ":hi": {"S": iso(end)},
        },
    }
    while True:
        response = store.client.query(**kwargs)
        for item in response.get("Items", []):
            yield conversation_from_item(store.unmarshal(item))
        if "LastEvaluatedKey" not in response:
            return
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
