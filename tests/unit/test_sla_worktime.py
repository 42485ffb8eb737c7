"""Due-time arithmetic over calendar time and business hours: weekends, holidays, DST, overnight shifts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from carehooks.config.calendars import (
    CALENDAR_TIME,
    Calendar,
    add_working_time,
    is_open,
    next_opening,
    working_time_between,
)

LONDON = ZoneInfo("Europe/London")
PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = {day: ["09:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def hours(calendar: dict[str, object]) -> Calendar:
    return Calendar.model_validate(calendar)


def local(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[misc]


# ---------------------------------------------------------------- calendar time


def test_calendar_time_counts_every_second() -> None:
    start = datetime(2025, 3, 29, 23, 30, tzinfo=UTC)
    assert add_working_time(CALENDAR_TIME, start, timedelta(hours=1)) == start + timedelta(hours=1)
    assert working_time_between(CALENDAR_TIME, start, start + timedelta(days=2)) == timedelta(days=2)


def test_a_zero_or_spent_amount_is_due_at_the_start() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    assert add_working_time(CALENDAR_TIME, start, timedelta(0)) == start
    assert add_working_time(CALENDAR_TIME, start, timedelta(minutes=-5)) == start


def test_no_working_time_lies_before_the_start() -> None:
    start = datetime(2025, 1, 1, 12, tzinfo=UTC)
    assert working_time_between(CALENDAR_TIME, start, start - timedelta(hours=1)) == timedelta(0)


def test_calendar_time_is_a_calendar_open_at_every_instant() -> None:
    at = datetime(2025, 3, 30, 1, 30, tzinfo=UTC)  # a Sunday night, across a DST change elsewhere
    assert isinstance(CALENDAR_TIME, Calendar)
    assert is_open(CALENDAR_TIME, at)
    assert next_opening(CALENDAR_TIME, at) == at
    assert add_working_time(CALENDAR_TIME, at, timedelta(days=500)) == at + timedelta(days=500)


# ---------------------------------------------------------------- business hours


def test_time_within_one_day_counts_as_is() -> None:
    calendar = hours({"timezone": "Europe/London", "hours": WEEKDAYS})
    start = local(LONDON, 2025, 1, 15, 10, 0)  # Wednesday
    assert add_working_time(calendar, start, timedelta(hours=1)) == local(LONDON, 2025, 1, 15, 11, 0)


def test_a_message_after_closing_waits_for_the_next_opening() -> None:
    calendar = hours({"timezone": "Europe/London", "hours": WEEKDAYS})
    start = local(LONDON, 2025, 1, 15, 20, 0)  # Wednesday evening
    assert add_working_time(calendar, start, timedelta(hours=1)) == local(LONDON, 2025, 1, 16, 10, 0)


def test_the_weekend_does_not_count() -> None:
    calendar = hours({"timezone": "Europe/London", "hours": WEEKDAYS})
    friday = local(LONDON, 2025, 1, 17, 17, 30)
    # 30 minutes on Friday, the other 30 on Monday morning.
    assert add_working_time(calendar, friday, timedelta(hours=1)) == local(LONDON, 2025, 1, 20, 9, 30)
    monday = local(LONDON, 2025, 1, 20, 9, 30)
    assert working_time_between(calendar, friday, monday) == timedelta(hours=1)


def test_public_holidays_do_not_count() -> None:
    calendar = hours(
        {"timezone": "Europe/London", "hours": WEEKDAYS, "holidays": {"country": "GB", "subdivision": "ENG"}}
    )
    # Wednesday 24 December 2025, 17:00: one hour that day; Christmas and Boxing Day, then the weekend.
    start = local(LONDON, 2025, 12, 24, 17, 0)
    assert add_working_time(calendar, start, timedelta(hours=2)) == local(LONDON, 2025, 12, 29, 10, 0)


def test_a_closure_cuts_an_interval_in_two() -> None:
    calendar = hours(
        {
            "timezone": "Europe/London",
            "hours": WEEKDAYS,
            "closures": [{"start": "2025-01-15T12:00", "end": "2025-01-15T14:00", "reason": "all-hands"}],
        }
    )
    start = local(LONDON, 2025, 1, 15, 11, 0)
    assert add_working_time(calendar, start, timedelta(hours=2)) == local(LONDON, 2025, 1, 15, 15, 0)


def test_a_closed_day_does_not_count() -> None:
    calendar = hours({"timezone": "Europe/London", "hours": WEEKDAYS, "closures": [{"date": "2025-01-16"}]})
    start = local(LONDON, 2025, 1, 15, 17, 0)
    assert add_working_time(calendar, start, timedelta(hours=2)) == local(LONDON, 2025, 1, 17, 10, 0)


def test_opening_hours_stay_on_the_local_clock_across_the_spring_change() -> None:
    calendar = hours({"timezone": "Europe/Paris", "hours": WEEKDAYS})
    friday = local(PARIS, 2025, 3, 28, 17, 0)  # CET (UTC+1)
    due = add_working_time(calendar, friday, timedelta(hours=2))
    assert due == local(PARIS, 2025, 3, 31, 10, 0)  # CEST (UTC+2): 10:00 local
    assert due is not None
    assert due.astimezone(UTC).hour == 8


def test_an_overnight_shift_over_the_spring_change_is_an_hour_shorter() -> None:
    calendar = hours({"timezone": "Europe/Paris", "hours": {"sat": ["22:00-06:00"]}})
    start = local(PARIS, 2025, 3, 29, 22, 0)
    end = local(PARIS, 2025, 3, 30, 6, 0)
    assert working_time_between(calendar, start, end) == timedelta(hours=7)
    # Eight hours of work: seven that night, the eighth at the start of the next Saturday night.
    assert add_working_time(calendar, start, timedelta(hours=8)) == local(PARIS, 2025, 4, 5, 23, 0)


def test_an_overnight_shift_over_the_autumn_change_is_an_hour_longer() -> None:
    calendar = hours({"timezone": "Europe/Paris", "hours": {"sat": ["22:00-06:00"]}})
    start = local(PARIS, 2025, 10, 25, 22, 0)
    end = local(PARIS, 2025, 10, 26, 6, 0)
    assert working_time_between(calendar, start, end) == timedelta(hours=9)


def test_a_message_at_dawn_uses_the_rest_of_last_nights_shift() -> None:
    night_desk = {day: ["22:00-06:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
    calendar = hours({"timezone": "Europe/London", "hours": night_desk})
    tuesday_dawn = local(LONDON, 2025, 1, 14, 5, 30)  # inside Monday's shift
    assert add_working_time(calendar, tuesday_dawn, timedelta(hours=1)) == local(LONDON, 2025, 1, 14, 22, 30)


def test_back_to_back_and_overlapping_intervals_count_once() -> None:
    calendar = hours(
        {
            "timezone": "UTC",
            "hours": {"mon": ["08:00-12:00", "12:00-16:00", "10:00-14:00"], "sun": ["22:00-02:00"]},
        }
    )
    sunday = datetime(2025, 1, 12, 21, 0, tzinfo=UTC)
    monday_end = datetime(2025, 1, 13, 23, 0, tzinfo=UTC)
    assert working_time_between(calendar, sunday, monday_end) == timedelta(hours=4 + 8)
    assert add_working_time(calendar, sunday, timedelta(hours=5)) == datetime(2025, 1, 13, 9, 0, tzinfo=UTC)


def test_a_calendar_that_never_opens_has_no_due_time() -> None:
    calendar = hours({"timezone": "UTC", "hours": {}})
    assert add_working_time(calendar, datetime(2025, 1, 1, tzinfo=UTC), timedelta(minutes=1)) is None


@pytest.mark.parametrize("minutes", [1, 59, 60, 61, 600, 5000])
def test_adding_then_measuring_gives_the_amount_back(minutes: int) -> None:
    calendar = hours(
        {
            "timezone": "Europe/Paris",
            "hours": {**WEEKDAYS, "sat": ["22:00-02:00"]},
            "holidays": {"country": "FR"},
        }
    )
    start = local(PARIS, 2025, 3, 28, 16, 7)
    due = add_working_time(calendar, start, timedelta(minutes=minutes))
    assert due is not None
    assert working_time_between(calendar, start, due) == timedelta(minutes=minutes)
