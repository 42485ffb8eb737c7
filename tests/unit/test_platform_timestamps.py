"""One rule for platform timestamps, on every channel (docs/timestamps.md; issue 15).

A signed event whose time is outside [received - 10 days, received + 5 minutes], or no calendar time at
all, gets its receipt time; a plausible one keeps the platform's time. Each channel is driven through its
real ingress split and adapter, from the samples in events/.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from carehooks.channels import timestamps
from carehooks.channels.meta.ingress import split as meta_split
from carehooks.channels.registry import parser_for
from carehooks.channels.telegram.ingress import split as telegram_split
from carehooks.channels.timestamps import FUTURE_SKEW, PAST_HORIZON, epoch_time, platform_time
from carehooks.channels.twilio.ingress import split as twilio_split
from carehooks.channels.x.ingress import split as x_split
from carehooks.domain.models import CommentChangeEvent, MessageEvent, QueuedEvent, StatusEvent
from tests.helpers import event_bytes, event_json

RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BOT = "123456789"

# The three absurd Messenger values (ms), and one beyond any calendar.
ABSURD_MS = [-1000, 0, 253_402_214_400_000, 10**20]


def _split(platform: str, raw: bytes) -> list[QueuedEvent]:
    if platform == "meta":
        return meta_split(raw, RECEIVED)
    if platform == "x":
        return x_split(raw, RECEIVED)
    if platform == "telegram":
        return telegram_split(raw, BOT, RECEIVED)
    return twilio_split(raw, RECEIVED)


def event_times(platform: str, body: Any) -> list[datetime]:
    """The time of every canonical event the body becomes (message sent_at, status/change at)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    out: list[datetime] = []
    for queued in _split(platform, raw):
        for event in parser_for(queued.channel)(queued):
            if isinstance(event, MessageEvent):
                out.append(event.sent_at)
            elif isinstance(event, StatusEvent | CommentChangeEvent):
                out.append(event.at)
                if isinstance(event, StatusEvent) and event.watermark is not None:
                    out.append(event.watermark)
    assert out, "the sample produced no timed event"
    return out


def _messaging(body: Any) -> dict[str, Any]:
    item: dict[str, Any] = body["entry"][0]["messaging"][0]
    return item


def _set_messaging_ms(ms: int) -> Callable[[Any], None]:
    def apply(body: Any) -> None:
        item = _messaging(body)
        item["timestamp"] = ms
        for key in ("delivery", "read"):
            if key in item:
                item[key]["watermark"] = ms

    return apply


def _delivery_ms(ms: int) -> Callable[[Any], None]:
    def apply(body: Any) -> None:
        _messaging(body)["delivery"]["watermark"] = ms

    return apply


def _feed_seconds(ms: int) -> Callable[[Any], None]:
    def apply(body: Any) -> None:
        body["entry"][0]["changes"][0]["value"]["created_time"] = ms // 1000

    return apply


def _instagram_entry_time(ms: int) -> Callable[[Any], None]:
    def apply(body: Any) -> None:
        body["entry"][0]["time"] = ms // 1000

    return apply


def _whatsapp_seconds(ms: int) -> Callable[[Any], None]:
    def apply(body: Any) -> None:
        value = body["entry"][0]["changes"][0]["value"]
        for item in value.get("messages", []) + value.get("statuses", []):
            item["timestamp"] = str(ms // 1000)

    return apply


def _x_dm_ms(ms: int) -> Callable[[Any], None]:
    def apply(body: Any) -> None:
        body["direct_message_events"][0]["created_timestamp"] = str(ms)

    return apply


def _x_post_ms(ms: int) -> Callable[[Any], None]:
    def apply(body: Any) -> None:
        body["tweet_create_events"][0]["timestamp_ms"] = str(ms)

    return apply


def _x_post_created_at(ms: int) -> Callable[[Any], None]:
    def apply(body: Any) -> None:
        tweet = body["tweet_create_events"][0]
        del tweet["timestamp_ms"]
        try:
            at = datetime.fromtimestamp(ms / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            at = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
        tweet["created_at"] = f"{at:%a %b %d %H:%M:%S} +0000 {at.year:04d}"

    return apply


def _telegram_date(ms: int) -> Callable[[Any], None]:
    def apply(body: Any) -> None:
        body["message"]["date"] = ms // 1000

    return apply


def _telegram_edit_date(ms: int) -> Callable[[Any], None]:
    def apply(body: Any) -> None:
        body["edited_message"]["edit_date"] = ms // 1000

    return apply


# (platform, sample, how to set its time from epoch ms)
CASES: list[tuple[str, str, Callable[[int], Callable[[Any], None]]]] = [
    ("meta", "meta/messenger_text.json", _set_messaging_ms),
    ("meta", "meta/messenger_postback.json", _set_messaging_ms),
    ("meta", "meta/messenger_read.json", _set_messaging_ms),
    ("meta", "meta/messenger_delivery.json", _delivery_ms),
    ("meta", "meta/instagram_text.json", _set_messaging_ms),
    ("meta", "meta/instagram_comment.json", _instagram_entry_time),
    ("meta", "meta/feed_comment.json", _feed_seconds),
    ("meta", "meta/whatsapp_text.json", _whatsapp_seconds),
    ("meta", "meta/whatsapp_statuses.json", _whatsapp_seconds),
    ("x", "x/direct_message.json", _x_dm_ms),
    ("x", "x/mention.json", _x_post_ms),
    ("x", "x/mention.json", _x_post_created_at),
    ("telegram", "telegram/message.json", _telegram_date),
    ("telegram", "telegram/edited_message.json", _telegram_edit_date),
]
CASE_IDS = [f"{path}:{setter.__name__.strip('_')}" for _, path, setter in CASES]


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@pytest.mark.parametrize(("platform", "path", "setter"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("value", ABSURD_MS, ids=["1969", "epoch-0", "year-9999", "beyond-calendar"])
def test_an_absurd_platform_time_becomes_the_receipt_time(
    platform: str, path: str, setter: Callable[[int], Callable[[Any], None]], value: int
) -> None:
    body = event_json(path)
    setter(value)(body)
    assert set(event_times(platform, body)) == {RECEIVED}


@pytest.mark.parametrize(("platform", "path", "setter"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize(
    "offset", [-PAST_HORIZON + timedelta(hours=1), timedelta(0), FUTURE_SKEW - timedelta(seconds=1)]
)
def test_a_plausible_platform_time_is_kept(
    platform: str, path: str, setter: Callable[[int], Callable[[Any], None]], offset: timedelta
) -> None:
    # A redelivery 9 days late, an event on time, a platform clock a little ahead: the platform's time
    body = event_json(path)
    at = RECEIVED + offset
    setter(ms(at))(body)
    assert set(event_times(platform, body)) == {at}


@pytest.mark.parametrize(("platform", "path", "setter"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("offset", [-PAST_HORIZON - timedelta(hours=1), FUTURE_SKEW + timedelta(seconds=1)])
def test_just_outside_the_window_is_the_receipt_time(
    platform: str, path: str, setter: Callable[[int], Callable[[Any], None]], offset: timedelta
) -> None:
    body = event_json(path)
    setter(ms(RECEIVED + offset))(body)
    assert set(event_times(platform, body)) == {RECEIVED}


def test_twilio_has_no_platform_time_so_it_is_always_the_receipt_time() -> None:
    assert event_times("twilio", event_bytes("twilio/sms.txt")) == [RECEIVED]


def test_ids_built_from_a_platform_time_keep_its_raw_value() -> None:
    # A redelivery received later must get the same id: Telegram edits are keyed by edit_date
    body = event_json("telegram/edited_message.json")
    body["edited_message"]["edit_date"] = 253_402_214_400
    (queued,) = telegram_split(json.dumps(body).encode(), BOT, RECEIVED)
    (event,) = parser_for(queued.channel)(queued)
    assert isinstance(event, MessageEvent)
    assert event.platform_message_id.endswith(":edit:253402214400")
    assert event.sent_at == RECEIVED


def test_the_helper_keeps_the_platform_value_it_did_not_use() -> None:
    kept = epoch_time(ms(RECEIVED) - 1000, "ms", RECEIVED)
    assert (kept.at, kept.raw, kept.replaced) == (RECEIVED - timedelta(seconds=1), None, False)
    replaced = epoch_time(253_402_214_400_000, "ms", RECEIVED)
    assert (replaced.at, replaced.raw, replaced.replaced) == (RECEIVED, "253402214400000", True)
    assert epoch_time(10**400, "s", RECEIVED).at == RECEIVED  # too large even for a float
    assert platform_time(None, RECEIVED, "garbage").raw == "garbage"


def test_the_window_edges_are_inclusive() -> None:
    assert timestamps.plausible(RECEIVED - PAST_HORIZON, RECEIVED)
    assert timestamps.plausible(RECEIVED + FUTURE_SKEW, RECEIVED)
    assert not timestamps.plausible(RECEIVED - PAST_HORIZON - timedelta(microseconds=1000), RECEIVED)
    assert not timestamps.plausible(RECEIVED + FUTURE_SKEW + timedelta(milliseconds=1), RECEIVED)
