"""Public comment threads in the store, against Amazon DynamoDB Local (which enforces reserved words,
conditions and transactions the way DynamoDB does): one conversation per thread whoever writes in it,
edits with history, removals and hides as attributes, and the link to a private conversation."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from infra.template import table_create_kwargs

from carehooks.domain.models import Channel, CommentChangeEvent, Direction, MessageEvent
from carehooks.inbound.processor import store_message
from carehooks.store import Store
from carehooks.store.public import (
    LINKED_PRIVATE,
    LINKED_PUBLIC,
)
from carehooks.wiring.store import make_store

pytestmark = pytest.mark.ddblocal

T0 = datetime(2025, 11, 22, 9, 0, tzinfo=UTC)
WINDOW = timedelta(hours=24)
PAGE = "112233445566778"
THREAD = "556677889900112_1029384756473829"
_names = itertools.count()


@pytest.fixture(scope="module")
def dynamodb(ddblocal: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=ddblocal, region_name="eu-west-1")


@pytest.fixture
def store(dynamodb: Any) -> Iterator[Store]:
    name = f"public-{next(_names)}"
    dynamodb.create_table(**table_create_kwargs("Table", name))
    yield make_store(name, client=dynamodb)
    dynamodb.delete_table(TableName=name)


def commented(comment_id: str, author: str, text: str, at: datetime) -> MessageEvent:
    return MessageEvent(
        channel=Channel.MESSENGER,
        account_id=PAGE,
        contact_id=author,
        platform_message_id=comment_id,
        sent_at=at,
        direction=Direction.IN,
        text=text,
        kind="comment",
        public=True,
        thread_id=THREAD,
        per_thread=True,
        post_id="112233445566778_556677889900112",
    )


def change(kind: str, comment_id: str = THREAD, text: str | None = None) -> CommentChangeEvent:
    return CommentChangeEvent(
        channel=Channel.MESSENGER,
        account_id=PAGE,
        thread_id=THREAD,
        platform_message_id=comment_id,
        change=kind,  # type: ignore[arg-type]
        at=T0 + timedelta(minutes=10),
        text=text,
    )


def test_two_authors_in_one_thread_share_one_conversation_in_the_threads_partition(store: Store) -> None:
    first = store_message(store, commented(THREAD, "author-1", "It broke", T0), T0, WINDOW)
    second = store_message(
        store, commented("reply-1", "author-2", "Mine too", T0 + timedelta(minutes=1)), T0, WINDOW
    )
    assert first.conversation is not None
    assert second.conversation is not None
    assert first.conversation.id == second.conversation.id
    conv = store.latest_conversation("messenger", PAGE, "", THREAD)
    assert conv is not None
    assert (conv.contact_id, conv.thread_id, conv.public, conv.extra["thread_kind"]) == (
        "author-1",
        THREAD,
        True,
        "comment",
    )
    # The authors' own partitions hold nothing: their direct conversations are kept apart
    assert store.contact_conversations("messenger", PAGE, "author-1") == []
    assert [m.contact_id for m in store.messages(conv)] == ["author-1", "author-2"]


def test_an_edit_keeps_the_old_text_and_a_repeat_changes_nothing(store: Store) -> None:
    store_message(store, commented(THREAD, "author-1", "It broke", T0), T0, WINDOW)
    assert store.apply_change(change("edited", text="It broke, order #4411")) is not None
    assert store.apply_change(change("edited", text="It broke, order #4411")) is None
    edited = store.comment(Channel.MESSENGER, PAGE, THREAD, THREAD)
    assert edited is not None
    assert edited.text == "It broke, order #4411"
    assert [e["text"] for e in edited.extra["edits"]] == ["It broke"]


def test_removed_and_hidden_are_attributes_of_the_comment(store: Store) -> None:
    store_message(store, commented(THREAD, "author-1", "It broke", T0), T0, WINDOW)
    assert store.apply_change(change("hidden")) is not None
    assert store.apply_change(change("hidden")) is None  # already hidden
    assert store.apply_change(change("removed")) is not None
    found = store.comment(Channel.MESSENGER, PAGE, THREAD, THREAD)
    assert found is not None
    assert (found.extra["hidden"], found.extra["hidden_by"], found.extra["deleted"]) == (
        True,
        "platform-inbox",
        True,
    )


def test_a_change_to_an_unknown_comment_does_nothing(store: Store) -> None:
    assert store.apply_change(change("removed", comment_id="never-seen")) is None


def test_a_private_conversation_is_opened_and_linked_both_ways_then_joined(store: Store) -> None:
    outcome = store_message(store, commented(THREAD, "author-1", "It broke", T0), T0, WINDOW)
    assert outcome.conversation is not None
    public = outcome.conversation
    private = store.open_private_conversation(public, "psid-1", T0 + timedelta(minutes=2))
    assert (private.public, private.contact_id, private.extra[LINKED_PUBLIC]) == (False, "psid-1", public.id)
    reread = store.get_conversation(public.id)
    assert reread is not None
    assert reread.extra[LINKED_PRIVATE] == private.id
    # A second private reply to the same person joins the open private conversation
    again = store.open_private_conversation(reread, "psid-1", T0 + timedelta(minutes=3))
    assert again.id == private.id
    assert [c.id for c in store.contact_conversations("messenger", PAGE, "psid-1")] == [private.id]
