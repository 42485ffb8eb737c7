"""The Store contract for saved replies: the same assertions on the in-memory store and on DynamoDB Local.

A shortcode is unique (its claim is written, moved and removed with the reply, atomically), a reply read
before a rename or a delete cannot be written over it, listing filters and pages by shortcode, and a use
is counted with an atomic add.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from infra.template import table_create_kwargs

from carehooks.store import DynamoStore, Store, keys
from carehooks.store.memory import MemoryStore
from carehooks.store.queries import CursorError
from carehooks.store.saved_replies import (
    SavedReply,
    SavedReplyChangedError,
    SavedReplyFilter,
    ShortcodeTakenError,
)
from tests.integration.race_support import run_together

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_names = itertools.count()


@pytest.fixture(params=["memory", pytest.param("dynamodb", marks=pytest.mark.ddblocal)])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    client = boto3.client(
        "dynamodb", endpoint_url=request.getfixturevalue("ddblocal"), region_name="eu-west-1"
    )
    name = f"saved-replies-{next(_names)}"
    client.create_table(**table_create_kwargs("Table", name))
    try:
        yield DynamoStore(name, client)
    finally:
        client.delete_table(TableName=name)


def saved(
    n: int,
    shortcode: str,
    title: str = "A title",
    channels: tuple[str, ...] = (),
    languages: tuple[str, ...] = (),
) -> SavedReply:
    return SavedReply(
        id=f"01J{n:023d}",
        shortcode=shortcode,
        title=title,
        text=f"Hello {{contact_name}}, this is {shortcode}.",
        channels=channels,
        languages=languages,
        updated_at=T0,
        updated_by="agent-ada",
    )


def library_items(store: Store) -> list[tuple[str, str]]:
    """Every item of the library's partition (its replies and shortcode claims), by key."""
    if isinstance(store, MemoryStore):
        return [
            (i["sk"], i.get("reply_id", i.get("id"))) for i in store.items() if i["pk"] == keys.SAVED_REPLY_PK
        ]
    assert isinstance(store, DynamoStore)
    answer = store.client.query(
        TableName=store.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.SAVED_REPLY_PK}},
        ConsistentRead=True,
    )
    return [(i["sk"]["S"], (i.get("reply_id") or i.get("id") or {"S": ""})["S"]) for i in answer["Items"]]


def test_a_saved_reply_is_read_back_as_it_was_saved(store: Store) -> None:
    reply = saved(1, "refund", channels=("messenger", "whatsapp"), languages=("en", "pt-BR"))
    assert store.create_saved_reply(reply) == reply
    assert store.get_saved_reply(reply.id) == reply
    assert store.get_saved_reply("01J" + "9" * 23) is None


def test_a_taken_shortcode_is_refused_and_nothing_is_stored(store: Store) -> None:
    store.create_saved_reply(saved(1, "refund"))
    with pytest.raises(ShortcodeTakenError):
        store.create_saved_reply(saved(2, "refund", title="Another"))
    assert store.get_saved_reply(saved(2, "refund").id) is None
    assert sorted(library_items(store)) == [
        (keys.saved_reply_sk(saved(1, "refund").id), saved(1, "refund").id),
        (keys.shortcode_sk("refund"), saved(1, "refund").id),
    ]


def test_renaming_moves_the_claim_and_keeps_the_usage(store: Store) -> None:
    first = store.create_saved_reply(saved(1, "refund"))
    store.record_saved_reply_use(first.id, T0 + timedelta(hours=1))
    read = store.get_saved_reply(first.id)
    assert read is not None
    renamed = store.update_saved_reply(replace(first, shortcode="refunds", title="Refunds"), read)
    assert (renamed.shortcode, renamed.title, renamed.usage_count) == ("refunds", "Refunds", 1)
    stored = store.get_saved_reply(first.id)
    assert stored is not None
    assert (stored.shortcode, stored.usage_count, stored.last_used_at) == (
        "refunds",
        1,
        T0 + timedelta(hours=1),
    )
    # the old shortcode is free again, the new one is taken
    store.create_saved_reply(saved(2, "refund"))
    with pytest.raises(ShortcodeTakenError):
        store.create_saved_reply(saved(3, "refunds"))


def test_renaming_to_a_taken_shortcode_is_refused_and_changes_nothing(store: Store) -> None:
    first = store.create_saved_reply(saved(1, "refund"))
    store.create_saved_reply(saved(2, "delay"))
    with pytest.raises(ShortcodeTakenError):
        store.update_saved_reply(replace(first, shortcode="delay", title="Changed"), first)
    assert store.get_saved_reply(first.id) == first
    assert len(library_items(store)) == 4


def test_a_reply_read_before_a_rename_or_delete_cannot_be_written_over_it(store: Store) -> None:
    first = store.create_saved_reply(saved(1, "refund"))
    store.update_saved_reply(replace(first, shortcode="refunds"), first)
    with pytest.raises(SavedReplyChangedError):
        store.update_saved_reply(replace(first, shortcode="money-back"), first)
    with pytest.raises(SavedReplyChangedError):
        store.delete_saved_reply(first)
    current = store.get_saved_reply(first.id)
    assert current is not None
    assert current.shortcode == "refunds"
    store.delete_saved_reply(current)
    with pytest.raises(SavedReplyChangedError):
        store.update_saved_reply(current, current)


def test_deleting_frees_the_shortcode_and_leaves_nothing(store: Store) -> None:
    first = store.create_saved_reply(saved(1, "refund"))
    store.delete_saved_reply(first)
    assert store.get_saved_reply(first.id) is None
    assert library_items(store) == []
    store.create_saved_reply(saved(2, "refund"))


def test_uses_are_counted_atomically_and_a_deleted_reply_is_not_recreated(store: Store) -> None:
    first = store.create_saved_reply(saved(1, "refund"))
    run_together(*[lambda: store.record_saved_reply_use(first.id, T0)] * 4)
    store.record_saved_reply_use(first.id, T0 + timedelta(minutes=5))
    counted = store.get_saved_reply(first.id)
    assert counted is not None
    assert (counted.usage_count, counted.last_used_at) == (5, T0 + timedelta(minutes=5))
    store.delete_saved_reply(counted)
    store.record_saved_reply_use(first.id, T0)
    assert library_items(store) == []


def test_two_agents_saving_the_same_shortcode_at_once_one_wins(store: Store) -> None:
    results = run_together(
        lambda: store.create_saved_reply(saved(1, "refund")),
        lambda: store.create_saved_reply(saved(2, "refund")),
    )
    assert sorted(type(r).__name__ for r in results) == ["SavedReply", "ShortcodeTakenError"]
    assert len(library_items(store)) == 2


def test_the_library_is_listed_by_shortcode_filtered_and_paged(store: Store) -> None:
    store.create_saved_reply(saved(1, "refund", "Refund policy", channels=("messenger",), languages=("en",)))
    store.create_saved_reply(saved(2, "delay", "Shipping delay", languages=("pt-BR",)))
    store.create_saved_reply(saved(3, "hours", "Opening hours", channels=("whatsapp", "sms")))
    store.create_saved_reply(saved(4, "address", "Our address"))

    def codes(flt: SavedReplyFilter, limit: int = 25) -> list[str]:
        return [r.shortcode for r in store.list_saved_replies(flt, limit=limit).items]

    assert codes(SavedReplyFilter()) == ["address", "delay", "hours", "refund"]
    assert codes(SavedReplyFilter(q="RE")) == ["refund"]  # shortcode prefix, any case
    assert codes(SavedReplyFilter(q="ship")) == ["delay"]  # title prefix
    assert codes(SavedReplyFilter(q="hour")) == ["hours"]
    assert codes(SavedReplyFilter(q="policy")) == ["refund"]  # a word of the title
    # meant for whatsapp: those that say so, and those meant for every channel
    assert codes(SavedReplyFilter(channel="whatsapp")) == ["address", "delay", "hours"]
    assert codes(SavedReplyFilter(language="PT-br")) == ["address", "delay", "hours"]
    assert codes(SavedReplyFilter(channel="messenger", language="en")) == ["address", "refund"]
    # pages follow the cursor without gaps or repeats
    flt = SavedReplyFilter()
    first = store.list_saved_replies(flt, limit=3)
    assert [r.shortcode for r in first.items] == ["address", "delay", "hours"]
    assert first.next is not None
    second = store.list_saved_replies(flt, limit=3, cursor=first.next)
    assert ([r.shortcode for r in second.items], second.next) == (["refund"], None)
    # full replies, not just what the filter looks at
    assert second.items[0].text == "Hello {contact_name}, this is refund."
    with pytest.raises(CursorError):
        store.list_saved_replies(SavedReplyFilter(q="re"), cursor=first.next)


def test_an_empty_library_lists_nothing(store: Store) -> None:
    page = store.list_saved_replies(SavedReplyFilter(q="x"))
    assert (page.items, page.next) == ([], None)
