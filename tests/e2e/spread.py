"""How many conversations each partition key of a table and of each of its indexes holds.

Used by the black-box check ``test_index_spread_stack.py`` (which reads the local stack's DynamoDB Local
table) and by its unit check on items built by the key builders. Indexes are found by describing the
table, never named here: a new index is checked the day it is added.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

CONVERSATION_SK_PREFIX = "CONV#"  # a conversation item's sort key (store/keys.py)


@dataclass(frozen=True)
class Index:
    name: str
    hash_key: str
    local: bool


def indexes_of(description: Mapping[str, Any]) -> list[Index]:
    """Every GSI and LSI of a ``DescribeTable`` answer's ``Table`` (or of CreateTable arguments)."""
    found: list[Index] = []
    for kind, local in (("GlobalSecondaryIndexes", False), ("LocalSecondaryIndexes", True)):
        for index in description.get(kind) or []:
            hash_key = next(k["AttributeName"] for k in index["KeySchema"] if k["KeyType"] == "HASH")
            found.append(Index(index["IndexName"], hash_key, local))
    return found


def table_hash_key(description: Mapping[str, Any]) -> str:
    return str(next(k["AttributeName"] for k in description["KeySchema"] if k["KeyType"] == "HASH"))


def value_of(attribute: Any) -> str:
    """A key attribute's value, from a low-level (``{"S": ...}``) or a plain item."""
    if isinstance(attribute, Mapping):
        (value,) = attribute.values()
        return str(value)
    return str(attribute)


def partition_counts(items: Iterable[Mapping[str, Any]], hash_key: str) -> Counter[str]:
    """Items per partition key (items without the key, as in a sparse index, are not counted)."""
    return Counter(value_of(item[hash_key]) for item in items if hash_key in item)


def conversation_items(items: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [item for item in items if value_of(item.get("sk", "")).startswith(CONVERSATION_SK_PREFIX)]


def over_share(counts: Counter[str], conversations: int, share: float = 1 / 8) -> dict[str, int]:
    """The partition keys holding more than ``share`` of ``conversations`` items."""
    if conversations <= 0:
        raise ValueError("no conversations to share out")
    return {key: n for key, n in counts.items() if n > conversations * share}


def scan(client: Any, table: str, index: str | None = None) -> Iterator[dict[str, Any]]:
    """Every item of a table or one of its indexes (a test's Scan, paginated)."""
    kwargs: dict[str, Any] = {"TableName": table}
    if index is not None:
        kwargs["IndexName"] = index
    while True:
        page = client.scan(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
