"""DynamoDB access for surveys: the due-marker query and reading claims back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from carehooks.store import keys
from carehooks.store.table import TableStore as Store


def due_survey_keys(store: Store, now: datetime, limit: int = 100) -> list[tuple[str, str]]:
    """Table keys (pk, sk) of conversations whose survey is due at ``now``, oldest due first (every shard)."""
    found = [m for p in keys.survey_due_partitions() for m in due_survey_markers(store, p, now, limit)]
    return [(pk, sk) for _, pk, sk in sorted(found)[:limit]]


def due_survey_markers(store: Store, partition: str, now: datetime, limit: int) -> list[tuple[str, str, str]]:
    """(due sort key, pk, sk) of at most ``limit`` surveys due at ``now`` in one shard, oldest due first.

    One Query on the sparse BySurveyDue index: the cost follows the surveys due, not the table.
    """
    out: list[tuple[str, str, str]] = []
    kwargs: dict[str, Any] = {
        "TableName": store.table_name,
        "IndexName": keys.BY_SURVEY_DUE_INDEX,
        "KeyConditionExpression": "#p = :p AND #s <= :now",
        "ExpressionAttributeNames": {"#p": keys.SURVEY_DUE_PK_ATTR, "#s": keys.SURVEY_DUE_SK_ATTR},
        "ExpressionAttributeValues": {
            ":p": {"S": partition},
            ":now": {"S": keys.survey_due_upper_bound(now)},
        },
        "Limit": limit,
    }
    while len(out) < limit:
        response = store.client.query(**kwargs)
        out.extend(
            (i[keys.SURVEY_DUE_SK_ATTR]["S"], i["pk"]["S"], i["sk"]["S"]) for i in response.get("Items", [])
        )
        if "LastEvaluatedKey" not in response:
            break
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return out[:limit]


def get_claim(store: Store, kind: str, scope: str) -> dict[str, Any] | None:
    """A side-effect claim with the outcome recorded on it (``mark_claim``), or None."""
    got = store.client.get_item(
        TableName=store.table_name,
        Key=store.key(keys.claim_pk(kind, scope), keys.CLAIM_SK),
        ConsistentRead=True,
    )
    item = got.get("Item")
    return store.unmarshal(item) if item else None
