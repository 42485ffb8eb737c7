"""DynamoDB access of spike alerts (issue 17): volume counters, spike states, sample conversations.

Counters (see :mod:`carehooks.store.keys`): one item per (5-minute bucket, shard, channel account),
``VOL#<bucket>#<shard>`` / ``<channel>#<account>``, updated with ONE ``UpdateItem``
``ADD n :n, #t0 :t0, …`` per message (or per run of one conversation's messages: they share it), so a
message costs one write unit whatever its tags. ``ADD`` is atomic: concurrent writers never lose a count.

Reads, never a scan: the groups of a bucket are one Query per shard partition (O(groups active in the
bucket)); a group's past buckets (its baseline) are one BatchGetItem of (bucket, shard) keys; the active
spikes are one Query of the ``SPIKES`` partition. Samples are read from the ``ByStatus`` index (open
conversations whose turn falls in the bucket, filtered by channel and account: O(the spike's
conversations)), then the few conversations by key.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from carehooks.clock import iso
from carehooks.store import keys
from carehooks.store.sla import BATCH_GET_LIMIT, UNPROCESSED_RETRIES
from carehooks.store.table import TableStore as Store
from carehooks.store.table import with_retries

COUNTER_TTL = timedelta(days=30)  # longer than the longest baseline (28 days) and the day being counted
SPIKE_STATE_TTL = timedelta(days=7)  # a spike state never outlives a week, whatever happens to its run


@dataclass(frozen=True)
class VolumeIncrement:
    """What one UpdateItem adds to one counter."""

    bucket: str
    shard: int
    group: str  # keys.volume_group(channel, account)
    count: int
    tags: Mapping[str, int] = field(default_factory=dict)


@dataclass
class VolumeCount:
    """A group's messages in one bucket (its shards summed), and per tag."""

    count: int = 0
    tags: dict[str, int] = field(default_factory=dict)

    def add(self, count: int, tags: Mapping[str, int]) -> None:
        self.count += count
        for tag, n in tags.items():
            self.tags[tag] = self.tags.get(tag, 0) + n


def counter_from_item(item: Mapping[str, Any]) -> tuple[int, dict[str, int]]:
    """(messages, per tag) of a counter item (unmarshalled)."""
    tags = {
        str(name).removeprefix(keys.VOLUME_TAG_PREFIX): int(value)
        for name, value in item.items()
        if str(name).startswith(keys.VOLUME_TAG_PREFIX)
    }
    return int(item.get("n", 0)), tags


def add_volume(store: Store, increment: VolumeIncrement) -> None:
    """One atomic ADD on the counter (created by the first one). Retried on throttling."""
    names = {"#n": "n", "#type": "type", "#ttl": "ttl"}
    values: dict[str, Any] = {
        ":n": {"N": str(increment.count)},
        ":type": {"S": "volume"},
        ":ttl": {"N": str(int((keys.volume_bucket_start(increment.bucket) + COUNTER_TTL).timestamp()))},
    }
    adds = ["#n :n"]
    for index, (tag, n) in enumerate(sorted(increment.tags.items())):
        names[f"#t{index}"] = f"{keys.VOLUME_TAG_PREFIX}{tag}"
        values[f":t{index}"] = {"N": str(n)}
        adds.append(f"#t{index} :t{index}")
    with_retries(
        lambda: store.client.update_item(
            TableName=store.table_name,
            Key=store.key(keys.volume_pk(increment.bucket, increment.shard), increment.group),
            UpdateExpression=f"ADD {', '.join(adds)} SET #type = :type, #ttl = :ttl",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    )


def bucket_volumes(store: Store, bucket: str) -> dict[str, VolumeCount]:
    """Every group counted in ``bucket``: one Query per shard partition."""
    out: dict[str, VolumeCount] = {}
    for shard in range(keys.VOLUME_SHARDS):
        kwargs: dict[str, Any] = {
            "TableName": store.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": keys.volume_pk(bucket, shard)}},
        }
        while True:
            response = store.client.query(**kwargs)
            for raw in response.get("Items", []):
                item = store.unmarshal(raw)
                out.setdefault(str(item["sk"]), VolumeCount()).add(*counter_from_item(item))
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return out


def group_volumes(store: Store, group: str, buckets: Sequence[str]) -> dict[str, VolumeCount]:
    """One group's counts in each of ``buckets`` (absent = 0): BatchGetItem of every (bucket, shard)."""
    out = {bucket: VolumeCount() for bucket in buckets}
    wanted = [
        store.key(keys.volume_pk(bucket, shard), group)
        for bucket in buckets
        for shard in range(keys.VOLUME_SHARDS)
    ]
    for start in range(0, len(wanted), BATCH_GET_LIMIT):
        request: dict[str, Any] = {store.table_name: {"Keys": wanted[start : start + BATCH_GET_LIMIT]}}
        for attempt in range(UNPROCESSED_RETRIES):
            response = store.client.batch_get_item(RequestItems=request)
            for raw in response.get("Responses", {}).get(store.table_name, []):
                item = store.unmarshal(raw)
                bucket = str(item["pk"]).removeprefix(keys.VOLUME_PREFIX).rsplit("#", 1)[0]
                out[bucket].add(*counter_from_item(item))
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))
    return out


# -- spike states ---------------------------------------------------------------------------------------
def active_spikes(store: Store) -> list[dict[str, Any]]:
    """Every spike state (the spikes not yet ended): one Query of their partition."""
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": store.table_name,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": keys.SPIKES_PK}},
        "ConsistentRead": True,
    }
    while True:
        response = store.client.query(**kwargs)
        out.extend(store.unmarshal(i) for i in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return out
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def claim_spike(store: Store, group: str, attributes: Mapping[str, str], now: datetime) -> bool:
    """Start a spike of ``group`` (state ``sending``): True for exactly one caller until it ends."""
    item: dict[str, Any] = {
        **{name: {"S": value} for name, value in attributes.items()},
        "pk": {"S": keys.SPIKES_PK},
        "sk": {"S": group},
        "type": {"S": "spike"},
        "state": {"S": "sending"},
        "started_at": {"S": iso(now)},
        "ttl": {"N": str(int((now + SPIKE_STATE_TTL).timestamp()))},
    }
    try:
        store.client.put_item(
            TableName=store.table_name,
            Item=item,
            ConditionExpression="attribute_not_exists(pk) OR #ttl < :now",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))}},
        )
    except store.client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def mark_spike(store: Store, group: str, **attributes: str) -> None:
    """Record on the spike's state (e.g. ``state=sent``, the email's message id)."""
    names = {f"#a{i}": name for i, name in enumerate(attributes)}
    values = {f":v{i}": {"S": value} for i, value in enumerate(attributes.values())}
    with_retries(
        lambda: store.client.update_item(
            TableName=store.table_name,
            Key=store.key(keys.SPIKES_PK, group),
            UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(attributes))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    )


def drop_spike(store: Store, group: str) -> None:
    """The spike ended (or its email failed and is to be retried): remove its state."""
    with_retries(
        lambda: store.client.delete_item(TableName=store.table_name, Key=store.key(keys.SPIKES_PK, group))
    )


# -- samples --------------------------------------------------------------------------------------------
def recent_conversation_keys(
    store: Store, channel: str, account_id: str, start: datetime, end: datetime, limit: int
) -> list[dict[str, Any]]:
    """Table keys of the latest open conversations of a channel account whose turn falls in
    [start, end), newest first (ByStatus, one Query per shard, filtered on the partition key)."""
    found: list[tuple[str, dict[str, Any]]] = []
    prefix = keys.contact_pk(channel, account_id, "")
    for partition in keys.status_partitions("open"):
        kwargs: dict[str, Any] = {
            "TableName": store.table_name,
            "IndexName": keys.BY_STATUS_INDEX,
            "KeyConditionExpression": "gsi1pk = :p AND gsi1sk BETWEEN :low AND :high",
            "FilterExpression": "begins_with(pk, :prefix)",
            "ExpressionAttributeValues": {
                ":p": {"S": partition},
                ":low": {"S": iso(start)},
                ":high": {"S": iso(end)},
                ":prefix": {"S": prefix},
            },
            "ScanIndexForward": False,
        }
        taken = 0
        while taken < limit:
            response = store.client.query(**kwargs)
            for item in response.get("Items", [])[: limit - taken]:
                found.append((item["gsi1sk"]["S"], {"pk": item["pk"], "sk": item["sk"]}))
                taken += 1
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [key for _, key in found[:limit]]
