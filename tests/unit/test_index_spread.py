"""The spread check of tests/e2e/test_index_spread_stack.py, on items the real key builders make: data
model v2's keys pass it, and data model v1's single-partition keys (one ``STATUS#<status>``, one
``SURVEYDUE``, one ``DAY#<date>``) fail it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from infra.template import table_create_kwargs

from carehooks.domain.conversations import new_conversation_id
from carehooks.domain.models import Channel, Conversation
from carehooks.store import keys
from carehooks.store.items import conversation_item
from tests.e2e.spread import conversation_items, indexes_of, over_share, partition_counts, table_hash_key

CONVERSATIONS = 300
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def _conversations() -> list[Conversation]:
    made = []
    for n in range(CONVERSATIONS):
        created = NOW - timedelta(minutes=n % 50)
        resolved = n % 5 == 0
        made.append(
            Conversation(
                id=new_conversation_id(created),
                channel=(Channel.MESSENGER, Channel.WHATSAPP, Channel.TELEGRAM)[n % 3],
                account_id="112233445566778",
                contact_id=f"contact-{n}",
                created_at=created,
                last_activity_at=created,
                status="resolved" if resolved else "open",
                assignee=f"agent-{n % 10}" if n % 3 == 0 else None,
                sla_due_at=None if resolved else created + timedelta(hours=1),
                survey_due_at=created + timedelta(hours=1) if resolved else None,
            )
        )
    return made


def _v1(item: dict[str, Any], conv: Conversation) -> dict[str, Any]:
    """The same item with data model v1's index keys (``/work/wt/v1``'s ``store/keys.py``)."""
    old = dict(item)
    old["gsi1pk"] = keys.legacy_status_pk(conv.status)
    old.pop(keys.CREATED_PK_ATTR, None)
    old[keys.DAY_PK_ATTR] = keys.legacy_day_pk(conv.created_at.date())
    if keys.SURVEY_DUE_PK_ATTR in old:
        old[keys.SURVEY_DUE_PK_ATTR] = keys.SURVEY_DUE_PARTITION
    return old


def _hot(items: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    description = table_create_kwargs("Table", "t")
    hot: dict[str, dict[str, int]] = {}
    table = over_share(partition_counts(conversation_items(items), table_hash_key(description)), len(items))
    if table:
        hot["table"] = table
    for index in indexes_of(description):
        if over := over_share(partition_counts(items, index.hash_key), len(items)):
            hot[index.name] = over
    return hot


def test_data_model_v2_keys_spread_every_index() -> None:
    items = [conversation_item(conv) for conv in _conversations()]
    assert _hot(items) == {}
    # and the check did see the sharded indexes
    assert len(partition_counts(items, "gsi1pk")) > keys.STATUS_SHARDS
    assert len(partition_counts(items, keys.CREATED_PK_ATTR)) == keys.DAY_SHARDS


def test_data_model_v1_single_partition_keys_fail_it() -> None:
    conversations = _conversations()
    items = [_v1(conversation_item(conv), conv) for conv in conversations]
    hot = _hot(items)
    assert set(hot) == {"ByStatus", "ByDay", "BySurveyDue"}
    assert hot["ByStatus"] == {"STATUS#open": CONVERSATIONS * 4 // 5, "STATUS#resolved": CONVERSATIONS // 5}
    assert hot["ByDay"] == {f"DAY#{NOW.date().isoformat()}": CONVERSATIONS}
    # 60 survey due markers in one partition: a fifth of 300, over an eighth
    assert hot["BySurveyDue"] == {keys.SURVEY_DUE_PARTITION: CONVERSATIONS // 5}


def test_a_single_customer_partition_holding_the_conversations_fails_it() -> None:
    items = [{"pk": {"S": "CT#messenger#1#same"}, "sk": {"S": f"CONV#{n}"}} for n in range(40)]
    items += [{"pk": {"S": f"CT#messenger#1#c{n}"}, "sk": {"S": f"CONV#x{n}"}} for n in range(260)]
    assert over_share(partition_counts(conversation_items(items), "pk"), 300) == {"CT#messenger#1#same": 40}
    assert over_share(partition_counts(conversation_items(items), "pk"), 300, share=1 / 4) == {}


def test_over_share_needs_conversations() -> None:
    with pytest.raises(ValueError, match="no conversations"):
        over_share(Counter({"a": 1}), 0)
