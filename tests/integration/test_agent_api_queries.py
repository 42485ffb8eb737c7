"""store/queries.py: paging through any filter returns exactly the matching conversations, in order, once."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from carehooks import clock
from carehooks.domain.models import Channel, Conversation
from carehooks.store import Store
from carehooks.store.queries import STATUSES, ConversationFilter, CursorError
from carehooks.wiring.store import make_store
from tests.integration.agent_api_client import T0, inbound
from tests.integration.conftest import TABLE

AGENTS = ["alice", "bruno", None]
TAGS = ["vip", "order", "refund"]
PRIORITIES = ["low", "normal", "high"]


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[list[Conversation], Store]]:
    """40 conversations with random status, channel, tags, priority and assignee (fixed seed)."""
    rng = random.Random(20260302)
    convs: list[Conversation] = []
    from moto import mock_aws

    with mock_aws():
        import boto3
        from infra.template import table_create_kwargs

        boto3.client("dynamodb", region_name="eu-west-1").create_table(**table_create_kwargs("Table", TABLE))
        store = make_store(TABLE, client=boto3.client("dynamodb", region_name="eu-west-1"))
        with clock.frozen(T0 + timedelta(days=1)):
            for i in range(40):
                channel = rng.choice([Channel.MESSENGER, Channel.WHATSAPP])
                # Some share a last-activity instant: the id breaks the tie
                at = T0 + timedelta(minutes=rng.randrange(25))
                conv = inbound(store, f"q{i}", "hi", at, channel=channel)
                changed = replace(
                    conv,
                    status=rng.choice(STATUSES),
                    tags=rng.sample(TAGS, rng.randrange(3)),
                    priority=rng.choice(PRIORITIES),
                    assignee=rng.choice(AGENTS),
                )
                convs.append(store.save_conversation(changed))
        yield convs, store


FILTERS = [
    ConversationFilter(),
    ConversationFilter(statuses=("open",)),
    ConversationFilter(tag="vip"),
    ConversationFilter(statuses=("pending",), tag="refund", channel="whatsapp"),
    ConversationFilter(assignee="alice"),
    ConversationFilter(statuses=("open",), assignee="bruno", priority="high"),
    ConversationFilter(unassigned=True),
    ConversationFilter(priority="low", unassigned=True, tag="order"),
    ConversationFilter(sla_state="breached"),
]


def expected(convs: list[Conversation], flt: ConversationFilter, newest_first: bool) -> list[str]:
    matching = [c for c in convs if flt.matches(c)]
    matching.sort(key=lambda c: (c.last_activity_at, c.id), reverse=newest_first)
    return [c.id for c in matching]


@pytest.mark.parametrize("flt", FILTERS)
@pytest.mark.parametrize(("limit", "budget"), [(3, 4), (7, 1000), (100, 1000), (2, 1)])
@pytest.mark.parametrize("order", ["desc", "asc"])
def test_paging_returns_each_match_once_in_activity_order(
    seeded: tuple[list[Conversation], Store], flt: ConversationFilter, limit: int, budget: int, order: str
) -> None:
    convs, store = seeded
    seen: list[str] = []
    cursor: str | None = None
    requests = 0
    while True:
        page = store.list_conversations(flt, limit=limit, cursor=cursor, order=order, read_budget=budget)  # type: ignore[arg-type]
        assert len(page.items) <= limit
        seen += [c.id for c in page.items]
        requests += 1
        assert requests < 200, "paging does not terminate"
        cursor = page.next
        if cursor is None:
            break
    assert seen == expected(convs, flt, order == "desc")


def test_a_cursor_only_continues_its_own_list(seeded: tuple[list[Conversation], Store]) -> None:
    _, store = seeded
    page = store.list_conversations(ConversationFilter(tag="vip"), limit=1)
    assert page.next is not None
    with pytest.raises(CursorError):
        store.list_conversations(ConversationFilter(tag="order"), limit=1, cursor=page.next)
    with pytest.raises(CursorError):
        store.list_conversations(ConversationFilter(tag="vip"), limit=1, cursor=page.next, order="asc")


def test_the_seeded_filters_are_not_trivially_empty(seeded: tuple[list[Conversation], Store]) -> None:
    convs, _ = seeded
    sizes = [len(expected(convs, flt, True)) for flt in FILTERS]
    assert sizes[0] == 40
    assert sum(1 for size in sizes if 0 < size < 40) >= 6
