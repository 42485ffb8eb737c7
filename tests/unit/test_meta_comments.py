"""Public comments: Facebook Page feed changes and Instagram comments / mentions → canonical events (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from carehooks.channels.meta.ingress import split
from carehooks.channels.registry import parser_for
from carehooks.domain.models import (
    AdapterError,
    CanonicalEvent,
    Channel,
    CommentChangeEvent,
    Direction,
    IgnoredEvent,
    MessageEvent,
    QueuedEvent,
)
from tests.helpers import event_bytes, event_json

NOW = datetime(2025, 11, 22, 9, 0, tzinfo=UTC)
PAGE = "112233445566778"
POST = "112233445566778_556677889900112"
TOP = "556677889900112_1029384756473829"
REPLY = "556677889900112_1029384756473901"
IG_ACCOUNT = "17841405822304914"
IG_TOP = "17865799348089039"


def queued(raw: bytes) -> list[QueuedEvent]:
    return split(raw, NOW)


def parse(raw: bytes) -> CanonicalEvent:
    (event,) = queued(raw)
    (parsed,) = parser_for(event.channel)(event)
    return parsed


def comment(raw: bytes) -> MessageEvent:
    parsed = parse(raw)
    assert isinstance(parsed, MessageEvent), parsed
    return parsed


def change(raw: bytes) -> CommentChangeEvent:
    parsed = parse(raw)
    assert isinstance(parsed, CommentChangeEvent), parsed
    return parsed


def ignored(raw: bytes) -> IgnoredEvent:
    parsed = parse(raw)
    assert isinstance(parsed, IgnoredEvent), parsed
    return parsed


def feed(value: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "object": "page",
            "entry": [{"id": PAGE, "time": 1763798401000, "changes": [{"field": "feed", "value": value}]}],
        }
    ).encode()


def edited_fixture(**changes: Any) -> bytes:
    body = event_json("meta/feed_comment.json")
    body["entry"][0]["changes"][0]["value"].update(changes)
    return json.dumps(body).encode()


# ---------------------------------------------------------------- Facebook Page comments
def test_a_top_level_comment_is_a_public_message_that_starts_its_own_thread() -> None:
    event = comment(event_bytes("meta/feed_comment.json"))
    assert event.channel is Channel.MESSENGER
    assert (event.public, event.per_thread, event.kind) == (True, True, "comment")
    assert (event.thread_id, event.platform_message_id, event.reply_to) == (TOP, TOP, None)
    assert (event.contact_id, event.contact_name, event.direction) == (
        "4567890123456789",
        "Jordan Smith",
        Direction.IN,
    )
    assert event.text.startswith("My blender arrived broken")
    assert event.post_id == POST
    assert event.permalink == "https://www.facebook.com/112233445566778/posts/556677889900112"
    # created_time is epoch seconds
    assert event.sent_at == datetime(2025, 11, 22, 8, 0, tzinfo=UTC)


def test_a_reply_joins_the_thread_of_its_top_level_comment() -> None:
    event = comment(event_bytes("meta/feed_comment_reply.json"))
    assert (event.thread_id, event.platform_message_id, event.reply_to) == (TOP, REPLY, TOP)
    assert event.contact_id == "4567890123450001"  # another person writing in the same thread


def test_a_comment_and_its_replies_are_queued_in_one_fifo_group_and_other_threads_in_others() -> None:
    (top,) = queued(event_bytes("meta/feed_comment.json"))
    (reply,) = queued(event_bytes("meta/feed_comment_reply.json"))
    (other,) = queued(
        feed(
            {
                "item": "comment",
                "verb": "add",
                "comment_id": "9_9",
                "post_id": POST,
                "parent_id": POST,
                "from": {"id": "4567890123456789"},
                "created_time": 1,
            }
        )
    )
    assert top.group_id == reply.group_id == f"messenger#{PAGE}#thread:{TOP}"
    assert other.group_id != top.group_id
    # the author stays the queued contact (the thread only decides the order)
    assert top.contact_id == "4567890123456789"


def test_the_pages_own_reply_in_a_thread_is_an_echo() -> None:
    event = comment(event_bytes("meta/feed_page_reply.json"))
    assert event.direction is Direction.OUT
    assert (event.thread_id, event.contact_id, event.contact_name) == (TOP, PAGE, None)


def test_the_pages_own_top_level_comment_is_not_a_conversation() -> None:
    raw = feed(
        {
            "item": "comment",
            "verb": "add",
            "comment_id": "1_2",
            "post_id": POST,
            "parent_id": POST,
            "from": {"id": PAGE},
            "message": "Giveaway winners tomorrow!",
            "created_time": 1763798400,
        }
    )
    assert ignored(raw).kind == "own_comment"


def test_an_edit_changes_the_stored_comment_and_carries_it_as_a_fallback() -> None:
    event = change(event_bytes("meta/feed_comment_edited.json"))
    assert (event.change, event.thread_id, event.platform_message_id) == ("edited", TOP, TOP)
    assert event.text is not None
    assert event.text.endswith("order #4411.")
    assert event.fallback is not None
    assert (event.fallback.platform_message_id, event.fallback.text) == (TOP, event.text)


def test_a_removed_reply_is_a_removal_in_its_thread() -> None:
    event = change(event_bytes("meta/feed_comment_removed.json"))
    assert (event.change, event.thread_id, event.platform_message_id) == ("removed", TOP, REPLY)
    assert event.text is None


@pytest.mark.parametrize(("verb", "expected"), [("hide", "hidden"), ("unhide", "unhidden")])
def test_hiding_in_metas_own_tools_is_recorded_as_a_change(verb: str, expected: str) -> None:
    assert change(edited_fixture(verb=verb)).change == expected


def test_other_comment_verbs_are_ignored() -> None:
    assert ignored(edited_fixture(verb="block")).kind == "comment:block"


@pytest.mark.parametrize("item", ["status", "post", "reaction", "like", "share"])
def test_feed_changes_other_than_comments_are_ignored(item: str) -> None:
    event = ignored(feed({"item": item, "verb": "add", "post_id": POST, "from": {"id": "1"}}))
    assert event.kind == "change:feed"


def test_a_photo_comment_keeps_its_photo() -> None:
    event = comment(edited_fixture(message="", photo="https://scontent.xx.fbcdn.net/v/photo.jpg"))
    assert event.text == ""
    assert [(a.kind, a.url) for a in event.attachments] == [
        ("image", "https://scontent.xx.fbcdn.net/v/photo.jpg")
    ]


def test_a_comment_without_its_id_is_an_adapter_error() -> None:
    with pytest.raises(AdapterError, match="comment_id"):
        parse(
            feed({"item": "comment", "verb": "add", "post_id": POST, "from": {"id": "1"}, "created_time": 1})
        )


def test_a_comment_with_a_time_that_is_not_an_epoch_is_an_adapter_error() -> None:
    with pytest.raises(AdapterError, match="epoch"):
        parse(edited_fixture(created_time="yesterday"))


def test_a_comment_without_any_time_takes_the_entry_time() -> None:
    body = event_json("meta/feed_comment.json")
    del body["entry"][0]["changes"][0]["value"]["created_time"]
    event = comment(json.dumps(body).encode())
    assert event.sent_at == datetime.fromtimestamp(1763798401, tz=UTC)


# ---------------------------------------------------------------- Instagram
def test_an_instagram_comment_is_a_public_message_in_its_own_thread() -> None:
    event = comment(event_bytes("meta/instagram_comment.json"))
    assert event.channel is Channel.INSTAGRAM
    assert (event.public, event.per_thread, event.kind, event.direction) == (
        True,
        True,
        "comment",
        Direction.IN,
    )
    assert (event.thread_id, event.platform_message_id) == (IG_TOP, IG_TOP)
    assert (event.contact_id, event.contact_name) == ("6021459874123365", "jordan.smith")
    assert event.post_id == "18067341234567890"
    # Instagram comment changes have no time: the entry's (seconds here) stands in
    assert event.sent_at == datetime.fromtimestamp(1763798401, tz=UTC)


def test_an_instagram_reply_joins_its_parents_thread() -> None:
    event = comment(event_bytes("meta/instagram_comment_reply.json"))
    assert (event.thread_id, event.reply_to) == (IG_TOP, IG_TOP)
    (top,) = queued(event_bytes("meta/instagram_comment.json"))
    (reply,) = queued(event_bytes("meta/instagram_comment_reply.json"))
    assert top.group_id == reply.group_id


def test_the_accounts_own_instagram_reply_is_an_echo() -> None:
    body = event_json("meta/instagram_comment_reply.json")
    body["entry"][0]["changes"][0]["value"]["from"] = {"id": IG_ACCOUNT, "username": "blendo"}
    event = comment(json.dumps(body).encode())
    assert event.direction is Direction.OUT


def test_an_instagram_mention_is_a_public_thread_without_text() -> None:
    event = comment(event_bytes("meta/instagram_mention.json"))
    assert (event.kind, event.text, event.public) == ("mention", "", True)
    assert event.thread_id == event.platform_message_id == "17894227972186120"
    assert event.post_id == "17918195224117851"
    # nobody is named: each mention is its own unknown author (no shared acknowledgement cooldown)
    assert event.contact_id == "mention:17894227972186120"


def test_a_mention_without_ids_is_an_adapter_error() -> None:
    body = event_json("meta/instagram_mention.json")
    body["entry"][0]["changes"][0]["value"] = {}
    with pytest.raises(AdapterError, match="mention"):
        parse(json.dumps(body).encode())


def test_other_instagram_changes_are_ignored() -> None:
    body = {
        "object": "instagram",
        "entry": [{"id": IG_ACCOUNT, "changes": [{"field": "story_insights", "value": {"media_id": "1"}}]}],
    }
    assert ignored(json.dumps(body).encode()).kind == "change:story_insights"
