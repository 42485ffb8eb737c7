"""X adapter: DMs, echoes, quick replies, mentions as public conversations, loop guards (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from carehooks.channels.x.adapter import PUBLIC_KIND, parse
from carehooks.channels.x.ingress import split
from carehooks.domain.models import AdapterError, Direction, IgnoredEvent, MessageEvent
from tests.helpers import event_bytes, event_json

RECEIVED = datetime(2024, 6, 10, 14, 5, tzinfo=UTC)


def parsed(path: str, received: datetime = RECEIVED) -> MessageEvent | IgnoredEvent:
    (queued,) = split(event_bytes(path), received)
    (event,) = parse(queued)
    assert isinstance(event, MessageEvent | IgnoredEvent)
    return event


def parsed_body(body: dict[str, object]) -> MessageEvent | IgnoredEvent:
    (queued,) = split(json.dumps(body).encode(), RECEIVED)
    (event,) = parse(queued)
    assert isinstance(event, MessageEvent | IgnoredEvent)
    return event


def test_a_customer_dm_is_an_inbound_message_with_unescaped_text_and_platform_time() -> None:
    # Received two minutes after it was sent (the fixture is X's own 2018 example)
    event = parsed("x/direct_message.json", datetime(2018, 1, 31, 0, 45, tzinfo=UTC))
    assert isinstance(event, MessageEvent)
    assert event.direction is Direction.IN
    assert event.platform_message_id == "958501034212564996"
    assert event.text == "Hello World & good wishes. Where is order #4411?"
    assert event.sent_at == datetime(2018, 1, 31, 0, 43, 49, 301000, tzinfo=UTC)
    assert event.contact_name == "Nicolas Pottier"
    assert not event.public


def test_the_accounts_own_dm_is_an_echo() -> None:
    event = parsed("x/direct_message_echo.json")
    assert isinstance(event, MessageEvent)
    assert event.direction is Direction.OUT
    assert event.contact_id == "272953809"
    assert event.contact_name == "Nicolas Pottier"  # the customer's name, not the account's


def test_a_quick_reply_carries_its_metadata_as_reply_payload() -> None:
    event = parsed("x/direct_message_quick_reply.json")
    assert isinstance(event, MessageEvent)
    assert (event.kind, event.reply_payload) == ("quick_reply", "csat:5")


def test_a_mention_is_a_public_inbound_post() -> None:
    event = parsed("x/mention.json")
    assert isinstance(event, MessageEvent)
    assert event.public
    assert event.kind == PUBLIC_KIND
    assert event.direction is Direction.IN
    assert event.platform_message_id == "1800166866023854157"
    assert event.sent_at == datetime(2024, 6, 10, 14, 3, 21, tzinfo=UTC)
    assert event.thread_id == "1800166866023854157"


def test_the_accounts_reply_to_a_customer_is_an_echo_in_that_thread() -> None:
    event = parsed("x/reply_echo.json")
    assert isinstance(event, MessageEvent)
    assert event.direction is Direction.OUT
    assert event.public
    assert event.reply_to == "1800166866023854157"


def test_the_accounts_own_standalone_post_is_ignored() -> None:
    body = event_json("x/reply_echo.json")
    tweet = body["tweet_create_events"][0]
    tweet["in_reply_to_user_id_str"] = None
    tweet["in_reply_to_status_id_str"] = None
    event = parsed_body(body)
    assert isinstance(event, IgnoredEvent)
    assert event.kind == "own_post"


def test_a_retweet_is_ignored() -> None:
    body = event_json("x/mention.json")
    body["tweet_create_events"][0]["retweeted_status"] = {"id_str": "1"}
    event = parsed_body(body)
    assert isinstance(event, IgnoredEvent)
    assert event.kind == "retweet"


def test_an_extended_post_uses_its_full_text() -> None:
    body = event_json("x/mention.json")
    body["tweet_create_events"][0]["extended_tweet"] = {"full_text": "@XDevelopers the whole long text &lt;3"}
    event = parsed_body(body)
    assert isinstance(event, MessageEvent)
    assert event.text == "@XDevelopers the whole long text <3"


def test_a_post_without_timestamp_ms_uses_created_at() -> None:
    body = event_json("x/mention.json")
    del body["tweet_create_events"][0]["timestamp_ms"]
    event = parsed_body(body)
    assert isinstance(event, MessageEvent)
    assert event.sent_at == datetime(2024, 6, 10, 14, 3, 21, tzinfo=UTC)


def test_a_dm_with_a_broken_timestamp_is_an_adapter_error() -> None:
    body = event_json("x/direct_message.json")
    body["direct_message_events"][0]["created_timestamp"] = "yesterday"
    with pytest.raises(AdapterError):
        parsed_body(body)
