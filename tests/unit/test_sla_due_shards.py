"""The packaged SLA policies put a due marker on every waiting conversation: no shard may be hot."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from carehooks.config.loader import default_document
from carehooks.domain.conversations import new_conversation_id
from carehooks.domain.models import Channel, Conversation
from carehooks.store import keys
from carehooks.store.items import conversation_item

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def test_the_packaged_configuration_has_a_policy_for_every_channel_and_public_threads() -> None:
    sla = default_document().sla
    for channel in Channel:
        for public in (False, True):
            conv = Conversation(
                id="c", channel=channel, account_id="a", contact_id="b", created_at=T0, public=public
            )
            policy = sla.policy_for(conv)
            assert policy is not None, (channel, public)
            assert policy.first_response is not None
            assert policy.next_response is not None
            assert policy.resolution is not None


def test_due_markers_of_a_few_hundred_conversations_leave_no_shard_with_over_an_eighth() -> None:
    conversations = [
        Conversation(
            id=new_conversation_id(T0 + timedelta(seconds=7 * n, microseconds=n)),
            channel=Channel.MESSENGER,
            account_id="112233445566778",
            contact_id=f"psid-{n}",
            created_at=T0,
            sla_due_at=T0 + timedelta(hours=1),
        )
        for n in range(300)
    ]
    shards = Counter(conversation_item(c)[keys.SLA_DUE_PK_ATTR] for c in conversations)
    assert len(shards) == keys.SLA_DUE_SHARDS
    assert max(shards.values()) <= len(conversations) / 8
