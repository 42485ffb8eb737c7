"""The staffing heatmap: each customer message in its local weekday and hour, DST and odd offsets too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from carehooks.domain.conversations import apply_message
from carehooks.domain.models import Channel, Conversation, Direction, Message
from carehooks.reports.hours import hours_report
from carehooks.reports.summary import Filters, Period


def conversation_with(
    times: list[datetime], reply_after: timedelta | None = None, cid: str = "A"
) -> Conversation:
    conv = Conversation(
        id=cid, channel=Channel.MESSENGER, account_id="p", contact_id=cid, created_at=times[0]
    )
    for i, at in enumerate(times):
        conv = apply_message(conv, _msg(cid, i, Direction.IN, at, None))
    if reply_after is not None:
        conv = apply_message(conv, _msg(cid, 99, Direction.OUT, times[0] + reply_after, "ada"))
    return conv


def _msg(cid: str, i: int, direction: Direction, at: datetime, author: str | None) -> Message:
    return Message(
        conversation_id=cid,
        channel=Channel.MESSENGER,
        account_id="p",
        contact_id=cid,
        platform_message_id=f"{cid}-{i}",
        direction=direction,
        sent_at=at,
        author=author,
    )


PERIOD = Period(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))


def cells(report: dict, key: str = "messages") -> dict[tuple[int, int], int]:  # type: ignore[type-arg]
    return {(c["weekday"], c["hour"]): c[key] for c in report["cells"] if c[key]}


def test_messages_land_in_their_local_cell_across_a_dst_change() -> None:
    # 2026-03-29: Europe/Paris moves from UTC+1 to UTC+2.
    before = datetime(2026, 3, 28, 8, 30, tzinfo=UTC)  # Saturday 09:30 in Paris
    after = datetime(2026, 3, 30, 8, 30, tzinfo=UTC)  # Monday 10:30 in Paris
    report = hours_report(
        [conversation_with([before], cid="A"), conversation_with([after], cid="B")],
        PERIOD,
        ZoneInfo("Europe/Paris"),
    )
    assert cells(report) == {(5, 9): 1, (0, 10): 1}
    assert report["timezone"] == "Europe/Paris"
    assert len(report["cells"]) == 168


def test_a_half_hour_zone_splits_a_utc_hour_exactly() -> None:
    # India is UTC+05:30: 03:10 UTC is 08:40 local, 03:40 UTC is 09:10 local.
    conv = conversation_with(
        [datetime(2026, 3, 2, 3, 10, tzinfo=UTC), datetime(2026, 3, 2, 3, 40, tzinfo=UTC)]
    )
    assert cells(hours_report([conv], PERIOD, ZoneInfo("Asia/Kolkata"))) == {(0, 8): 1, (0, 9): 1}


def test_median_first_response_sits_in_the_cell_where_the_wait_began() -> None:
    monday_nine = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
    convs = [
        conversation_with([monday_nine], timedelta(minutes=10), cid="A"),
        conversation_with([monday_nine + timedelta(days=7)], timedelta(minutes=30), cid="B"),
        conversation_with([monday_nine + timedelta(days=14)], None, cid="C"),
    ]
    report = hours_report(convs, PERIOD, ZoneInfo("UTC"))
    (cell,) = [c for c in report["cells"] if c["conversations"]]
    assert (cell["weekday"], cell["hour"], cell["conversations"]) == (0, 9, 3)
    assert cell["first_response_median_seconds"] == 1200.0
    assert report["total_messages"] == 3


def test_filters_and_the_period_narrow_it_down() -> None:
    inside = conversation_with([datetime(2026, 3, 2, 9, tzinfo=UTC)], timedelta(minutes=1), cid="A")
    outside = conversation_with([datetime(2026, 4, 2, 9, tzinfo=UTC)], cid="B")
    assert hours_report([inside, outside], PERIOD, ZoneInfo("UTC"))["total_messages"] == 1
    assert hours_report([inside], PERIOD, ZoneInfo("UTC"), Filters(channel="sms"))["total_messages"] == 0
    assert hours_report([inside], PERIOD, ZoneInfo("UTC"), Filters(agent="ada"))["total_messages"] == 1
    assert hours_report([inside], PERIOD, ZoneInfo("UTC"), Filters(agent="bob"))["total_messages"] == 0
