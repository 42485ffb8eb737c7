"""The summary report keeps public (comment threads) and private conversations apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carehooks.domain.models import Channel, Conversation
from carehooks.reports.query import ReportQueryError, parse_summary_query
from carehooks.reports.summary import Filters, Period, summarize

START = datetime(2026, 3, 2, tzinfo=UTC)
PERIOD = Period(START, START + timedelta(days=7))


def conversation(number: int, *, public: bool, first_response_minutes: float | None) -> Conversation:
    created = START + timedelta(hours=number)
    return Conversation(
        id=f"conv-{number}",
        channel=Channel.MESSENGER,
        account_id="page",
        contact_id=f"c{number}",
        created_at=created,
        public=public,
        thread_id=f"t{number}" if public else None,
        last_inbound_at=created,
        first_response_at=(
            created + timedelta(minutes=first_response_minutes)
            if first_response_minutes is not None
            else None
        ),
        extra={"first_inbound_at": created.isoformat()},
    )


CONVERSATIONS = [
    conversation(1, public=True, first_response_minutes=5),
    conversation(2, public=True, first_response_minutes=15),
    conversation(3, public=False, first_response_minutes=60),
    conversation(4, public=False, first_response_minutes=None),
    conversation(5, public=False, first_response_minutes=120),
]


def test_public_and_private_conversations_are_counted_and_timed_apart() -> None:
    report = summarize(CONVERSATIONS, [], PERIOD)
    assert report["conversations"]["by_visibility"] == {"public": 2, "private": 3}
    public, private = report["visibility"]["public"], report["visibility"]["private"]
    assert (public["conversations"], private["conversations"]) == (2, 3)
    assert public["first_response"]["count"] == 2
    assert public["first_response"]["calendar"]["median_seconds"] == 600.0
    assert private["first_response"]["count"] == 2
    assert private["first_response"]["calendar"]["median_seconds"] == 5400.0
    # the overall figures still cover both
    assert report["first_response"]["count"] == 4


def test_the_visibility_filter_keeps_one_kind() -> None:
    report = summarize(CONVERSATIONS, [], PERIOD, Filters(visibility="public"))
    assert report["conversations"]["total"] == 2
    assert report["conversations"]["by_visibility"] == {"public": 2, "private": 0}
    assert report["filters"]["visibility"] == "public"


def test_the_visibility_filter_is_read_and_checked() -> None:
    now = START + timedelta(days=7)
    assert parse_summary_query({"visibility": "private"}, now)[1].visibility == "private"
    with pytest.raises(ReportQueryError, match="visibility is one of public, private"):
        parse_summary_query({"visibility": "secret"}, now)
