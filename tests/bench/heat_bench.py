"""Partition heat: write and read units a second on each partition key at 10,000 inbound messages a second.

``python -m tests.bench heat``. A synthetic load (the rates in :class:`Load`, every one an assumption
stated there) is laid onto the real key builders: each write's partition keys come from
:func:`carehooks.store.items.index_attributes` (and :mod:`carehooks.store.keys`) applied to the
conversation before and after the write, and its write units per part (the table and each index) are the
whole-path figures ``units_bench`` measured on DynamoDB Local (``tests/bench/units.json``; the figures
measured before data model v2 when it is absent). Read units per case are the measured totals of
``tests/bench/figures.json`` (same bench). One DynamoDB partition takes about 1,000 write units and
3,000 read units a second. The line design.md fixes names the hottest key for writes:
``partition heat at 10000 msgs/s: max <n> WCU/s on one partition key (<table or index name>)``.

How units land on keys (the rules of :func:`simulate`):

- A part's units go to its partition key on the conversation after the write; when the write moves the
  entry to another key (a resolution moves ``ByStatus`` from ``STATUS#open#n`` to ``STATUS#resolved#n``),
  they are split evenly between the old key (the delete) and the new one (the put); when the write removes
  the attribute (a reply clears the SLA due marker, a sent survey its due marker), they go to the old key.
- ``table``: every write unit of the case goes to the conversation's partition (its customer's, or its
  public thread's), claims and dedupe markers included, which over-counts the hot key. The LSI
  ``ByConversation`` lives in the same physical partition as its base items (an item collection), so its
  units are added to the ``table`` figure of that key as well as listed on their own.
- ``ByAssignee`` shares ``ByStatus``'s sort key and projection: when the measured units do not name it,
  an assigned conversation's ``ByAssignee`` write is taken to cost what its ``ByStatus`` write does.
- ``ByDay`` (data model v1, no longer written) counts only when the units file names it (a v1
  measurement); its key is then :func:`carehooks.store.keys.legacy_day_pk`.
- Reads of a case (its measured read units) go to the conversation's partition (over-counting it too).
- The sweeps run once a minute, each reading all its shards in the same second: a shard's Query reads a
  minute of due markers (keys only, ~``DUE_MARKER_BYTES`` each) at 0.5 read units per 4 KB (eventually
  consistent), then each due conversation is read (``DUE_READ_UNITS``, on its own partition) and written
  (:data:`RESOLVE_PARTS` and friends below). The automation sweep (issue 17's ``AutomationFunction``, not
  written yet) is modelled as the SLA monitor's O(due) shard reads again, on the SLA shards.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PARTITION_WCU = 1_000
PARTITION_RCU = 3_000
UNITS_FILE = Path(__file__).with_name("units.json")
PAGE = "112233445566778"
VIRAL_THREAD = "17841400000000001_4242"


@dataclass(frozen=True)
class Load:
    """The synthetic load, one second of it. Every figure is an assumption, stated here."""

    rate: float = 10_000  # inbound messages a second, the viral thread's comments included
    customers: int = 100_000  # active customers, each with one open conversation
    new_share: float = 0.2  # of the customers' messages, those that open a conversation (five a conversation)
    replies_per_inbound: float = 0.5  # agent replies per inbound message (the viral thread's too)
    viral_per_second: float = 5_000 / 60  # one public thread's comments (one conversation, one FIFO group)
    resolves_per_new: float = 1.0  # steady state: every conversation opened is resolved
    surveys_per_resolve: float = 1.0  # a resolution sets a survey due marker, its sending clears it
    sla_fires_per_new: float = 1.0  # SLA rungs (warning, breach) reached per conversation
    automation_due_per_new: float = 1.0  # conversations an automation sweep finds due (auto-resolve, timers)
    agents: int = 5_000  # assignees (every conversation is assigned; replies spread over them)
    list_reads_per_second: float = 50  # agent list pages a second, each a Query on every ByStatus shard
    agent_reads_per_inbound: float = 1.0  # agents opening a conversation (cost.py's figure)
    rru_per_agent_read: float = 4.0
    sweep_interval_s: float = 60  # each sweep runs once a minute


# Write units by part per case, measured by units_bench before data model v2 (DynamoDB Local, whole path).
BEFORE: dict[str, dict[str, float]] = {
    "new": {"table": 20, "ByConversation": 10, "BySlaDue": 2, "ByStatus": 8, "ById": 2, "ByDay": 6},
    "followup": {"table": 6, "ByConversation": 5, "ByStatus": 4, "ByDay": 2},
    "reply": {"table": 4, "ByConversation": 2, "BySlaDue": 2, "ByStatus": 4, "ByDay": 2},
}
# Read units per case before data model v2 (issue 14's table); figures.json holds the measured ones.
BEFORE_READS = {"new": 3.0, "followup": 2.5, "reply": 5.5}

# Cases units_bench does not measure: assumed write units by part (items under 1 KB: 1 unit a put or
# delete; a moved index entry is a delete and a put).
RESOLVE_PARTS: dict[str, float] = {
    "table": 2,  # the conversation update and its resolve event
    "ByStatus": 2,  # open -> resolved: delete + put
    "ByAssignee": 2,  # AGENT#open#a -> AGENT#resolved#a
    "BySurveyDue": 1,  # the survey due marker is set
    "BySlaDue": 1,  # the SLA due marker (if any) is cleared
}
SURVEY_SENT_PARTS: dict[str, float] = {
    "table": 3,  # the survey claim, the contact cooldown claim, the conversation update
    "BySurveyDue": 1,  # the due marker is cleared
}
SLA_FIRE_PARTS: dict[str, float] = {
    "table": 2,  # the alert claim, the conversation update
    "BySlaDue": 2,  # the due marker moves to the next rung (same shard: delete + put)
}
RESOLVE_READS = 1.0
SURVEY_READS = 1.0
SLA_FIRE_READS = 0.0  # the due conversation's read is the sweep's (DUE_READ_UNITS)
DUE_MARKER_BYTES = 150  # a keys-only due marker entry: pk, sk, index key and sort key
DUE_READ_UNITS = 1.0  # a due conversation read with GetItem (strongly consistent, under 4 KB)
LIST_ENTRY_BYTES = 300  # a ByStatus entry with its projected attributes
LIST_PAGE = 25

# Which item attribute holds each part's partition key (ByConversation is an LSI: the table's pk).
INDEX_PK = {
    "table": "pk",
    "ByConversation": "pk",
    "ByStatus": "gsi1pk",
    "ById": "conv_id",
    "ByCreated": "created_pk",
    "ByDay": "day_pk",
    "BySlaDue": "sla_due_pk",
    "BySurveyDue": "survey_due_pk",
    "ByAssignee": "assignee_pk",
}
LOCAL_INDEXES = ("ByConversation",)

KeyBuilder = Callable[[Any], Mapping[str, Any]]
Parts = Mapping[str, Mapping[str, float]]


@dataclass
class Heat:
    """Write and read units per (table or index, partition key) over one second."""

    writes: Counter[tuple[str, str]] = field(default_factory=Counter)
    reads: Counter[tuple[str, str]] = field(default_factory=Counter)

    def hottest(self, per_part: int = 3, *, reads: bool = False) -> dict[str, list[tuple[str, float]]]:
        by_part: dict[str, list[tuple[str, float]]] = {}
        for (part, key), value in (self.reads if reads else self.writes).most_common():
            entries = by_part.setdefault(part, [])
            if len(entries) < per_part:
                entries.append((key, value))
        return by_part

    def max(self, *, reads: bool = False) -> tuple[float, str, str]:
        """The hottest key: units a second, its table or index name, the key."""
        counter = self.reads if reads else self.writes
        (part, key), value = counter.most_common(1)[0]
        return value, part, key

    def keys_of(self, part: str, *, reads: bool = False) -> dict[str, float]:
        counter = self.reads if reads else self.writes
        return {key: value for (p, key), value in counter.items() if p == part}


def measured_units() -> dict[str, dict[str, float]]:
    if UNITS_FILE.exists():
        data: dict[str, dict[str, float]] = json.loads(UNITS_FILE.read_text(encoding="utf-8"))["parts"]
        return data
    return BEFORE


def measured_reads() -> dict[str, float]:
    from tests.bench.cost import load_figures

    figures = load_figures()
    return {"new": figures.new.rru, "followup": figures.followup.rru, "reply": figures.reply.rru}


def real_keys(conv: Any) -> dict[str, Any]:
    """The real key builders: data model v2's attributes, plus the v1 ``ByDay`` key (counted only when
    the units measured name ``ByDay``)."""
    from carehooks.store import keys
    from carehooks.store.items import index_attributes

    attributes = dict(index_attributes(conv))
    attributes[keys.DAY_PK_ATTR] = keys.legacy_day_pk(conv.created_at.astimezone(UTC).date())
    return attributes


def _conversation_id(rng: random.Random) -> str:
    """A ULID-shaped id (only its crc32 shard matters here), drawn from ``rng`` so runs repeat."""
    return f"01K{rng.getrandbits(92):023X}"


def _open_conversation(
    rng: random.Random, load: Load, n: int, now: datetime, thread: str | None = None
) -> Any:
    from carehooks.domain.models import Channel, Conversation

    created = now - timedelta(seconds=rng.randrange(36_000))
    return Conversation(
        id=_conversation_id(rng),
        channel=Channel.MESSENGER,  # Facebook Page comments are Messenger's public threads
        account_id=PAGE,
        contact_id=f"psid-{n}",
        created_at=created,
        last_activity_at=now,
        last_inbound_at=now,
        first_inbound_at=created,
        turn_at=created,
        assignee=f"agent-{n % load.agents}",
        sla_due_at=now + timedelta(minutes=30),
        sla_state="running",
        public=thread is not None,
        thread_id=thread,
    )


def _count(rate: float, rng: random.Random) -> int:
    """``rate`` events in one second, the fraction drawn (so 83.3 a second is 83 or 84)."""
    whole = int(rate)
    return whole + (1 if rng.random() < rate - whole else 0)


def simulate(
    load: Load = Load(),
    parts: Parts | None = None,
    case_reads: Mapping[str, float] | None = None,
    key_builder: KeyBuilder = real_keys,
    seed: int = 7,
) -> Heat:
    """One second of ``load`` laid on ``key_builder``'s keys: units a second per partition key."""
    parts = measured_units() if parts is None else parts
    case_reads = measured_reads() if case_reads is None else case_reads
    all_parts: dict[str, Mapping[str, float]] = {
        **parts,
        "resolve": RESOLVE_PARTS,
        "survey_sent": SURVEY_SENT_PARTS,
        "sla_fire": SLA_FIRE_PARTS,
    }
    reads_of = {
        **case_reads,
        "resolve": RESOLVE_READS,
        "survey_sent": SURVEY_READS,
        "sla_fire": SLA_FIRE_READS,
    }
    rng = random.Random(seed)
    now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    heat = Heat()

    def write(case: str, before: Any | None, after: Any | None) -> None:
        old = key_builder(before) if before is not None else {}
        new = key_builder(after) if after is not None else {}
        case_parts = dict(all_parts[case])
        if "ByAssignee" not in case_parts and "ByStatus" in case_parts:
            case_parts["ByAssignee"] = case_parts["ByStatus"]
        for part, value in case_parts.items():
            attribute = INDEX_PK.get(part)
            if attribute is None or not value:
                continue
            touched = list(dict.fromkeys(str(k) for k in (old.get(attribute), new.get(attribute)) if k))
            for key in touched:
                heat.writes[(part, key)] += value / len(touched)
                if part in LOCAL_INDEXES:  # same item collection, same physical partition
                    heat.writes[("table", key)] += value / len(touched)
        units = reads_of.get(case, 0.0)
        if units:
            heat.reads[("table", str((new or old)["pk"]))] += units

    def read(part: str, key: str, units: float) -> None:
        heat.reads[(part, key)] += units

    population: dict[int, Any] = {}  # each active customer's open conversation, made when first drawn
    viral = _open_conversation(rng, load, load.customers, now, thread=VIRAL_THREAD)

    def pick() -> tuple[int, Any]:
        n = rng.randrange(load.customers)
        if n not in population:
            population[n] = _open_conversation(rng, load, n, now)
        return n, population[n]

    # Customers' messages: a share opens a conversation (the previous one was resolved), the rest follow up.
    viral_count = _count(load.viral_per_second, rng)
    for _ in range(_count(load.rate - load.viral_per_second, rng)):
        n, conv = pick()
        if rng.random() < load.new_share:
            fresh = replace(
                _open_conversation(rng, load, n, now),
                created_at=now,
                first_inbound_at=now,
                turn_at=now,
            )
            population[n] = fresh
            write("new", None, fresh)
        else:
            write("followup", conv, conv)  # data model v2: a follow-up does not change hands
        if load.agent_reads_per_inbound and rng.random() < load.agent_reads_per_inbound:
            read("table", str(key_builder(population[n])["pk"]), load.rru_per_agent_read)
    for _ in range(viral_count):
        write("followup", viral, viral)
        read("table", str(key_builder(viral)["pk"]), load.rru_per_agent_read * load.agent_reads_per_inbound)

    # Agent replies: the conversation changes hands (ByStatus moves within its key) and its SLA clock stops.
    for _ in range(_count(load.rate * load.replies_per_inbound, rng)):
        is_viral = rng.random() < load.viral_per_second / load.rate
        conv = viral if is_viral else pick()[1]
        answered = replace(conv, turn_at=now, last_outbound_at=now, sla_due_at=None, sla_state="met")
        write("reply", conv, answered)

    new_rate = (load.rate - load.viral_per_second) * load.new_share
    # Resolutions: ByStatus and ByAssignee move to the resolved partitions, the survey due marker is set.
    for _ in range(_count(new_rate * load.resolves_per_new, rng)):
        _, conv = pick()
        resolved = replace(
            conv, status="resolved", resolved_at=now, sla_due_at=None, survey_due_at=now + timedelta(hours=1)
        )
        write("resolve", conv, resolved)

    # The sweeps: each reads every shard once a minute (all in one second) and handles what is due.
    from carehooks.store import keys

    def sweep(part: str, shards: list[str], due_per_second: float) -> None:
        per_shard = due_per_second * load.sweep_interval_s / len(shards)
        query_units = max(0.5, 0.5 * math.ceil(per_shard * DUE_MARKER_BYTES / 4096))
        for shard in shards:
            read(part, shard, query_units)

    survey_rate = new_rate * load.resolves_per_new * load.surveys_per_resolve
    survey_shards = [f"{keys.SURVEY_DUE_PARTITION}#{n}" for n in range(keys.SURVEY_DUE_SHARDS)]
    sla_shards = [keys.sla_due_pk(n) for n in range(keys.SLA_DUE_SHARDS)]
    sweep("BySurveyDue", survey_shards, survey_rate)
    sweep("BySlaDue", sla_shards, new_rate * load.sla_fires_per_new)
    sweep("BySlaDue", sla_shards, new_rate * load.automation_due_per_new)  # the automation sweep
    for _ in range(_count(survey_rate, rng)):
        _, conv = pick()
        due = replace(conv, status="resolved", sla_due_at=None, survey_due_at=now)
        read("table", str(key_builder(due)["pk"]), DUE_READ_UNITS)
        write("survey_sent", due, replace(due, survey_due_at=None))
    for _ in range(_count(new_rate * load.sla_fires_per_new, rng)):
        _, conv = pick()
        read("table", str(key_builder(conv)["pk"]), DUE_READ_UNITS)
        write("sla_fire", conv, replace(conv, sla_due_at=now + timedelta(minutes=30)))
    for _ in range(_count(new_rate * load.automation_due_per_new, rng)):
        _, conv = pick()
        read("table", str(key_builder(conv)["pk"]), DUE_READ_UNITS)

    # Agent lists: a page merges one Query on every ByStatus partition of the status (v2 shards and v1).
    list_units = 0.5 * math.ceil(LIST_PAGE * LIST_ENTRY_BYTES / 4096)
    for partition in keys.status_partitions("open"):
        read("ByStatus", partition, load.list_reads_per_second * list_units)
    return heat


def main() -> None:
    print(__doc__.strip().splitlines()[0])
    load = Load()
    source = (
        "units.json (units_bench)"
        if UNITS_FILE.exists()
        else "built-in figures measured before data model v2"
    )
    print(
        f"   load: {load.rate:,.0f} msgs/s over {load.customers:,} customers, {load.new_share:.0%} new, "
        f"{load.replies_per_inbound:g} replies per message, a viral thread at {load.viral_per_second:.0f} "
        f"comments/s, {load.resolves_per_new:g} resolution and {load.surveys_per_resolve:g} survey per "
        f"conversation, SLA, survey and automation sweeps once a minute; units per write: {source}"
    )
    heat = simulate(load)
    for label, reads in (("write units a second", False), ("read units a second", True)):
        print(f"   hottest keys, {label}:")
        for part, entries in sorted(heat.hottest(reads=reads).items()):
            shown = ", ".join(f"{key} {value:,.0f}" for key, value in entries)
            print(f"     {part:<15} {shown}")
    value, part, key = heat.max()
    print(f"partition heat at {load.rate:.0f} msgs/s: max {value:.0f} WCU/s on one partition key ({part})")
    print(
        f"   hottest write key: {key}; target <= {PARTITION_WCU} WCU/s: "
        f"{'met' if value <= PARTITION_WCU else 'NOT MET'}"
    )
    rvalue, rpart, rkey = heat.max(reads=True)
    print(
        f"   reads: max {rvalue:.0f} RCU/s on one partition key ({rpart}): {rkey}; target <= "
        f"{PARTITION_RCU} RCU/s: {'met' if rvalue <= PARTITION_RCU else 'NOT MET'}"
    )
