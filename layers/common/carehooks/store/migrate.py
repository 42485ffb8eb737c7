"""``carehooks migrate``: rewrite a deployed table's data model v1 items as data model v2.

What changes (``store/keys.py``, ``store/items.py``):

- a **conversation** item loses ``id``, ``type``, ``day_pk`` and ``day_sk`` (v1 ``ByDay``, whole items),
  gains ``created_pk`` (``ByCreated``, keys only), and moves to the sharded ``ByStatus`` partition
  (``STATUS#<status>#<shard>``) and, when a survey is due, the sharded ``SURVEYDUE#<shard>``; a running
  SLA clock's due marker moves to its shard of 32 (16 before);
- a **message** item loses ``type``, and its rules decision ``rules`` (a map holding its parts) becomes the
  compressed binary record with ``rules_ack`` / ``rules_hide`` / ``rules_private_reply`` beside it.

The upgraded item is the round trip through the readers and writers of :mod:`carehooks.store.items`
(which read both versions and write v2), keeping the same ``version``: :func:`plan` is pure. It is also
checked: only the attributes above may change, anything else the round trip would alter makes the item
*refused* (reported, left as it is) rather than silently rewritten.

Each upgrade is one ``UpdateItem`` that sets only what changed and removes only what v2 drops, on the
condition that every one of those attributes still holds the value read (and, for a conversation, that
its ``version`` is the one read). A live write that lands between the read and the write therefore fails
the condition instead of being overwritten: the item is read again (consistently) and planned again, or
skipped when the live write already made it v2. Attributes the migration does not touch (a message's
delivery status, a hidden flag) may change concurrently without conflict.

Enumerating the table takes a paginated **Scan**. That is deliberate: the "no scan" rule of the design is
about lists, reports and sweeps that run all the time; this is a one-off pass over a table whose items
must all be visited once. The pass is

- **resumable**: after every page the scan's ``LastEvaluatedKey`` and the counts are saved in the table
  (pk ``MIGRATION#v2``, sk ``MIGRATION``); a run resumes from there (``restart=True`` ignores it). A
  finished pass clears the position, so the next run verifies the whole table again;
- **idempotent**: a v2 item is left alone, and a re-run upgrades nothing;
- **rate-limited**: a token bucket of ``max_wcu`` write units a second, charged with each write's
  ``ConsumedCapacity`` (it sleeps; it never spins);
- **dry-runnable**: ``dry_run=True`` counts what would change, per kind, and writes nothing (not even the
  checkpoint; it scans from the start).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from carehooks.clock import iso, now
from carehooks.store import keys
from carehooks.store.items import (
    DECISION_ATTRIBUTE,
    DECISION_PARTS,
    conversation_from_item,
    conversation_item,
    decision_part_attribute,
    from_dynamo,
    message_from_item,
    message_item,
)

CHECKPOINT_PK = "MIGRATION#v2"
CHECKPOINT_SK = "MIGRATION"
DEFAULT_MAX_WCU = 100.0
DEFAULT_PAGE_SIZE = 200
MAX_ATTEMPTS = 5
SAVED_KEYS = 100  # refused / gave-up keys kept in the checkpoint (all are printed)

# What data model v1 had and v2 drops.
V1_CONVERSATION_ATTRIBUTES = ("id", "type", keys.DAY_PK_ATTR, keys.DAY_SK_ATTR)
V1_MESSAGE_ATTRIBUTES = ("type",)
# What the round trip may change. Anything else that differs refuses the item.
CONVERSATION_MAY_CHANGE = frozenset(
    {
        *V1_CONVERSATION_ATTRIBUTES,
        "gsi1pk",
        "gsi1sk",
        keys.CREATED_PK_ATTR,
        keys.SURVEY_DUE_PK_ATTR,
        keys.SURVEY_DUE_SK_ATTR,
        keys.SLA_DUE_PK_ATTR,  # 16 SLA due shards became 32 (readers read them all either way)
    }
)
MESSAGE_MAY_CHANGE = frozenset(
    {*V1_MESSAGE_ATTRIBUTES, DECISION_ATTRIBUTE, *(decision_part_attribute(p) for p in DECISION_PARTS)}
)


class MigrationError(Exception):
    """The round trip of an item would change more than the data model: the item is left as it is."""


# -- the plan (pure) -------------------------------------------------------------------------------------
def kind_of(item: dict[str, Any]) -> str | None:
    """``conversation``, ``message`` or None (items the migration does not concern) by the sort key."""
    sk = str(item.get("sk", ""))
    if sk.startswith(keys.CONVERSATION_PREFIX):
        return "conversation"
    if sk.startswith(keys.MESSAGE_PREFIX):
        return "message"
    return None


def is_v1(item: dict[str, Any]) -> bool:
    """Whether a conversation or message item (plain attributes) is still in data model v1 shape."""
    kind = kind_of(item)
    if kind == "conversation":
        status_pk = str(item.get("gsi1pk", ""))
        return (
            any(name in item for name in V1_CONVERSATION_ATTRIBUTES)
            or keys.CREATED_PK_ATTR not in item
            or (bool(status_pk) and status_pk.count("#") < 2)  # STATUS#<status>: no shard
            or item.get(keys.SURVEY_DUE_PK_ATTR) == keys.SURVEY_DUE_PARTITION
        )
    if kind == "message":
        return "type" in item or isinstance(item.get(DECISION_ATTRIBUTE), dict)
    return False


def plan(item: dict[str, Any]) -> dict[str, Any] | None:
    """The v2 item of a v1 conversation or message item (plain attributes, as ``TypeDeserializer`` gives
    them); None when the item needs nothing. Raises :class:`MigrationError` when the round trip would
    change an attribute the data model does not change."""
    if not is_v1(item):
        return None
    if kind_of(item) == "conversation":
        upgraded = conversation_item(conversation_from_item(item))
        may_change = CONVERSATION_MAY_CHANGE
    else:
        upgraded = message_item(message_from_item(item))
        may_change = MESSAGE_MAY_CHANGE
    changed, removed = changes(item, upgraded)
    unexpected = sorted(name for name in changed | removed if name not in may_change)
    if unexpected:
        raise MigrationError(
            f"{item.get('pk')} / {item.get('sk')}: the upgrade would change {', '.join(unexpected)}"
        )
    return upgraded


def changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(attributes set or changed, attributes removed) from ``old`` to ``new``, comparing values as
    plain Python (a number stored as ``1.0`` equals ``1``)."""
    changed = {name for name, value in new.items() if name not in old or _plain(old[name]) != _plain(value)}
    removed = {name for name in old if name not in new}
    return changed, removed


def _plain(value: Any) -> Any:
    if hasattr(value, "value") and isinstance(value.value, bytes):  # boto3's Binary
        return bytes(value.value)
    return from_dynamo(value)


# -- the pass --------------------------------------------------------------------------------------------
@dataclass
class Counts:
    """What a pass saw and did (``dry_run``: what it would do)."""

    scanned: int = 0
    conversations: int = 0  # upgraded (or, dry, to upgrade)
    messages: int = 0
    already_v2: int = 0  # conversation and message items that needed nothing
    other: int = 0  # items the migration does not concern (claims, events, dedupe markers ...)
    conflicts: int = 0  # writes refused by a concurrent change, then re-read and planned again
    gone: int = 0  # deleted between the scan and the write
    refused: list[str] = field(default_factory=list)  # keys of items the round trip would alter
    gave_up: list[str] = field(default_factory=list)  # keys still changing after MAX_ATTEMPTS
    pages: int = 0

    def summary(self, dry_run: bool) -> str:
        verb = "would upgrade" if dry_run else "upgraded"
        line = (
            f"scanned {self.scanned} item(s) in {self.pages} page(s); {verb} {self.conversations} "
            f"conversation(s) and {self.messages} message(s); already v2 {self.already_v2}; "
            f"other items {self.other}; conflicts retried {self.conflicts}; gone {self.gone}; "
            f"refused {len(self.refused)}; gave up {len(self.gave_up)}"
        )
        return f"dry run: {line}; nothing written" if dry_run else line


class TokenBucket:
    """At most ``rate`` units a second on average (bursts up to one second's worth); sleeps, never spins."""

    def __init__(
        self,
        rate: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("the rate must be positive")
        self.rate = rate
        self._sleep = sleep
        self._clock = clock
        self._tokens = rate
        self._at = clock()

    def _refill(self) -> None:
        at = self._clock()
        self._tokens = min(self.rate, self._tokens + (at - self._at) * self.rate)
        self._at = at

    def wait(self) -> None:
        """Return once the bucket is not in debt (after sleeping as long as the debt takes to repay)."""
        self._refill()
        if self._tokens < 0:
            self._sleep(-self._tokens / self.rate)
            self._refill()

    def charge(self, units: float) -> None:
        self._refill()
        self._tokens -= units


class Migration:
    """One pass over ``table_name`` (see the module). ``before_write`` (tests) is called with the item's
    key between its read and its write; ``max_pages`` stops after that many scan pages (a slice of the
    work; the checkpoint lets the next run go on)."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        dry_run: bool = False,
        restart: bool = False,
        max_wcu: float = DEFAULT_MAX_WCU,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_pages: int | None = None,
        bucket: TokenBucket | None = None,
        before_write: Callable[[dict[str, Any]], None] | None = None,
        say: Callable[[str], None] = lambda line: None,
    ) -> None:
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self.client = client
        self.table_name = table_name
        self.dry_run = dry_run
        self.restart = restart
        self.page_size = page_size
        self.max_pages = max_pages
        self.bucket = bucket or TokenBucket(max_wcu)
        self.before_write = before_write
        self.say = say
        self.counts = Counts()
        self.finished = False
        self._ser = TypeSerializer()
        self._de = TypeDeserializer()

    # -- marshalling -----------------------------------------------------------------------------
    def _marshal(self, value: Any) -> dict[str, Any]:
        return dict(self._ser.serialize(value))

    def _unmarshal(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: self._de.deserialize(v) for k, v in item.items()}

    # -- the checkpoint --------------------------------------------------------------------------
    def _checkpoint_key(self) -> dict[str, Any]:
        return {"pk": {"S": CHECKPOINT_PK}, "sk": {"S": CHECKPOINT_SK}}

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The saved position and counts of an unfinished pass, or None."""
        got = self.client.get_item(TableName=self.table_name, Key=self._checkpoint_key(), ConsistentRead=True)
        item = got.get("Item")
        if not item or "last_key" not in item:
            return None
        saved = self._unmarshal(item)
        return {"last_key": json.loads(saved["last_key"]), "counts": json.loads(saved.get("counts", "{}"))}

    def _save_checkpoint(self, last_key: dict[str, Any] | None) -> None:
        item: dict[str, Any] = {
            "pk": {"S": CHECKPOINT_PK},
            "sk": {"S": CHECKPOINT_SK},
            "counts": {"S": json.dumps(self._saved_counts(), sort_keys=True)},
            "updated_at": {"S": iso(now())},
        }
        if last_key is None:
            item["completed_at"] = {"S": iso(now())}
        else:
            item["last_key"] = {"S": json.dumps(last_key, sort_keys=True)}
        self.bucket.wait()
        response = self.client.put_item(TableName=self.table_name, Item=item, ReturnConsumedCapacity="TOTAL")
        self.bucket.charge(_units(response))

    def _saved_counts(self) -> dict[str, Any]:
        """The counts as the checkpoint keeps them: the lists of keys capped, so the item stays small."""
        saved = asdict(self.counts)
        for name in ("refused", "gave_up"):
            saved[name] = saved[name][:SAVED_KEYS]
        return saved

    # -- the pass --------------------------------------------------------------------------------
    def run(self) -> Counts:
        """Scan from the checkpoint (or the start) to the end, or for ``max_pages`` pages."""
        start: dict[str, Any] | None = None
        if not self.dry_run and not self.restart:
            saved = self.load_checkpoint()
            if saved is not None:
                start = saved["last_key"]
                self.counts = _counts_from(saved["counts"])
                self.say(f"resuming after {self.counts.scanned} item(s) scanned (--restart starts over)")
        while True:
            kwargs: dict[str, Any] = {"TableName": self.table_name, "Limit": self.page_size}
            if start is not None:
                kwargs["ExclusiveStartKey"] = start
            page = self.client.scan(**kwargs)
            for raw in page.get("Items", []):
                self._visit(raw)
            self.counts.pages += 1
            start = page.get("LastEvaluatedKey")
            if not self.dry_run:
                self._save_checkpoint(start)
            if start is None:
                self.finished = True
                return self.counts
            if self.max_pages is not None and self.counts.pages >= self.max_pages:
                return self.counts

    def _visit(self, raw: dict[str, Any]) -> None:
        if raw.get("pk", {}).get("S") == CHECKPOINT_PK:
            return
        self.counts.scanned += 1
        item = self._unmarshal(raw)
        kind = kind_of(item)
        if kind is None:
            self.counts.other += 1
            return
        for attempt in range(MAX_ATTEMPTS):
            outcome = self._upgrade(item, kind, first=attempt == 0)
            if outcome != "conflict":
                return
            self.counts.conflicts += 1
            fresh = self.client.get_item(
                TableName=self.table_name, Key={"pk": raw["pk"], "sk": raw["sk"]}, ConsistentRead=True
            ).get("Item")
            if fresh is None:
                self.counts.gone += 1
                return
            item = self._unmarshal(fresh)
        label = f"{raw['pk']['S']} / {raw['sk']['S']}"
        self.counts.gave_up.append(label)
        self.say(f"gave up (still changing): {label}")

    def _upgrade(self, item: dict[str, Any], kind: str, first: bool) -> str:
        """Plan and write one item: ``done`` (upgraded, already v2 or refused) or ``conflict``."""
        try:
            upgraded = plan(item)
        except MigrationError as exc:
            self.counts.refused.append(str(exc))
            self.say(f"refused: {exc}")
            return "done"
        if upgraded is None:
            if first:
                self.counts.already_v2 += 1
            return "done"
        if not self.dry_run and not self._write(item, upgraded, kind):
            return "conflict"
        self._count(kind)
        return "done"

    def _count(self, kind: str) -> None:
        if kind == "conversation":
            self.counts.conversations += 1
        else:
            self.counts.messages += 1

    def _write(self, old: dict[str, Any], new: dict[str, Any], kind: str) -> bool:
        """Set what changed and remove what v2 drops, if all of it (and the version) is as read."""
        changed, removed = changes(old, new)
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        conditions = ["attribute_exists(pk)"]
        sets: list[str] = []
        drops: list[str] = []
        for i, name in enumerate(sorted(changed | removed)):
            names[f"#a{i}"] = name
            if name in changed:
                values[f":n{i}"] = self._marshal(new[name])
                sets.append(f"#a{i} = :n{i}")
            else:
                drops.append(f"#a{i}")
            if name in old:
                values[f":o{i}"] = self._marshal(old[name])
                conditions.append(f"#a{i} = :o{i}")
            else:
                conditions.append(f"attribute_not_exists(#a{i})")
        if kind == "conversation":
            names["#version"] = "version"
            if "version" in old:
                values[":version"] = self._marshal(old["version"])
                conditions.append("#version = :version")
            else:
                conditions.append("attribute_not_exists(#version)")
        clauses = [f"SET {', '.join(sets)}"] if sets else []
        if drops:
            clauses.append(f"REMOVE {', '.join(drops)}")
        expression = " ".join(clauses)
        if self.before_write is not None:
            self.before_write({"pk": old["pk"], "sk": old["sk"]})
        self.bucket.wait()
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": str(old["pk"])}, "sk": {"S": str(old["sk"])}},
                UpdateExpression=expression,
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnConsumedCapacity="TOTAL",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            self.bucket.charge(1.0)  # a refused write is billed too (at least one unit)
            return False
        self.bucket.charge(_units(response))
        return True


def _units(response: dict[str, Any]) -> float:
    consumed = response.get("ConsumedCapacity") or {}
    return float(consumed.get("CapacityUnits", 1.0))


def _counts_from(saved: dict[str, Any]) -> Counts:
    known = {k: v for k, v in saved.items() if k in Counts.__dataclass_fields__}
    return Counts(**known)
