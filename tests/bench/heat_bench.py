"""Partition heat: write units per second on each partition key at 10,000 inbound messages a second.

``python -m tests.bench heat``. A synthetic load (100,000 active customers, a mix of new conversations,
follow-ups and agent replies, plus one viral public thread of 5,000 comments a minute) is laid onto the
real key builders: each write's partition keys come from :func:`carehooks.store.items.index_attributes`
and :mod:`carehooks.store.keys` for the conversations the load creates, and its write units per part
(the table and each index) are the whole-path figures ``units_bench`` measured on DynamoDB Local
(``tests/bench/units.json``; the figures measured before data model v2 when it is absent). One DynamoDB
partition takes about 1,000 write units a second; the line design.md fixes names the hottest key:
``partition heat at 10000 msgs/s: max <n> WCU/s on one partition key (<table or index name>)``.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

RATE = 10_000  # inbound messages a second
CUSTOMERS = 100_000
NEW_SHARE = 0.2  # a conversation of five customer messages
REPLIES_PER_INBOUND = 0.5
VIRAL_PER_SECOND = 5_000 / 60  # one public thread's comments
PARTITION_WCU = 1_000
UNITS_FILE = Path(__file__).with_name("units.json")

# Write units by part per case, measured by units_bench before data model v2 (DynamoDB Local, whole path).
BEFORE: dict[str, dict[str, float]] = {
    "new": {"table": 20, "ByConversation": 10, "BySlaDue": 2, "ByStatus": 8, "ById": 2, "ByDay": 6},
    "followup": {"table": 6, "ByConversation": 5, "ByStatus": 4, "ByDay": 2},
    "reply": {"table": 4, "ByConversation": 2, "BySlaDue": 2, "ByStatus": 4, "ByDay": 2},
}

# Which item attribute holds each index's partition key (ByConversation is an LSI: the table's pk).
INDEX_PK = {
    "ByConversation": "pk",
    "ByStatus": "gsi1pk",
    "ById": "conv_id",
    "ByDay": "day_pk",
    "BySlaDue": "sla_due_pk",
    "BySurveyDue": "survey_due_pk",
    "ByAssignee": "assignee_pk",
}


@dataclass
class Heat:
    """Write units per (table or index, partition key) over one second."""

    units: Counter[tuple[str, str]]

    def hottest(self, per_part: int = 3) -> dict[str, list[tuple[str, float]]]:
        by_part: dict[str, list[tuple[str, float]]] = {}
        for (part, key), value in self.units.most_common():
            entries = by_part.setdefault(part, [])
            if len(entries) < per_part:
                entries.append((key, value))
        return by_part

    def max(self) -> tuple[float, str, str]:
        (part, key), value = self.units.most_common(1)[0]
        return value, part, key


def measured_units() -> dict[str, dict[str, float]]:
    if UNITS_FILE.exists():
        data: dict[str, dict[str, float]] = json.loads(UNITS_FILE.read_text(encoding="utf-8"))["parts"]
        return data
    return BEFORE


def _conversation(n: int, now: datetime, thread: str | None = None) -> Any:
    from carehooks.domain.conversations import new_conversation_id
    from carehooks.domain.models import Channel, Conversation

    created = now - timedelta(minutes=n % 600)
    return Conversation(
        id=new_conversation_id(created + timedelta(microseconds=n)),
        channel=Channel.MESSENGER,
        account_id="112233445566778",
        contact_id=f"psid-{n}",
        created_at=created,
        last_activity_at=now,
        last_inbound_at=now,
        first_inbound_at=created,
        assignee=f"agent-{n % 50}",
        sla_due_at=now + timedelta(minutes=30),
        sla_state="running",
        public=thread is not None,
        thread_id=thread,
    )


def simulate(seconds: int = 1, seed: int = 7) -> Heat:
    """The load of ``seconds`` seconds, as write units per partition key per second."""
    from carehooks.store.items import index_attributes

    parts = measured_units()
    rng = random.Random(seed)
    now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    units: Counter[tuple[str, str]] = Counter()

    def write(case: str, conv: Any) -> None:
        keys = index_attributes(conv)
        for part, value in parts[case].items():
            attribute = "pk" if part == "table" else INDEX_PK.get(part)
            if attribute and keys.get(attribute):
                units[(part, str(keys[attribute]))] += value / seconds

    conversations: dict[int, Any] = {}
    for _ in range(RATE * seconds):
        n = rng.randrange(CUSTOMERS)
        conv = conversations.get(n)
        case = "new" if conv is None or rng.random() < NEW_SHARE else "followup"
        if conv is None or case == "new":
            conv = conversations[n] = _conversation(n, now)
        write(case, conv)
        if rng.random() < REPLIES_PER_INBOUND:
            write("reply", conv)
    viral = _conversation(CUSTOMERS + 1, now, thread="17841400000000001_viral")
    for _ in range(int(VIRAL_PER_SECOND * seconds)):
        write("followup", viral)
    return Heat(units)


def main() -> None:
    print(__doc__.strip().splitlines()[0])
    source = (
        "units.json (units_bench)"
        if UNITS_FILE.exists()
        else "built-in figures measured before data model v2"
    )
    print(
        f"   load: {RATE:,} msgs/s over {CUSTOMERS:,} customers, {NEW_SHARE:.0%} new, "
        f"{REPLIES_PER_INBOUND:g} replies per message, a viral thread at {VIRAL_PER_SECOND:.0f} comments/s; "
        f"units per write: {source}"
    )
    heat = simulate()
    for part, entries in sorted(heat.hottest().items()):
        shown = ", ".join(f"{key} {value:,.0f}" for key, value in entries)
        print(f"   {part:<15} {shown}")
    value, part, key = heat.max()
    print(f"partition heat at {RATE} msgs/s: max {value:.0f} WCU/s on one partition key ({part})")
    print(
        f"   hottest key: {key}; target <= {PARTITION_WCU} WCU/s: {'met' if value <= PARTITION_WCU else 'NOT MET'}"
    )
