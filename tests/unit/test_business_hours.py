"""Business-hours calendars: intervals, overnight, DST changes, holidays, closures, next opening."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from carehooks.config.calendars import Calendar, is_open, next_opening


def calendar(**fields: Any) -> Calendar:
    return Calendar.model_validate({"timezone": "Europe/Paris", **fields})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


WEEKDAYS = {day: ["09:00-12:30", "13:30-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def test_several_intervals_per_day_with_a_lunch_break() -> None:
    cal = calendar(hours=WEEKDAYS)
    # Wednesday 4 June 2025, Paris is UTC+2.
    assert is_open(cal, utc(2025, 6, 4, 7, 0))  # 09:00 local, start inclusive
    assert not is_open(cal, utc(2025, 6, 4, 6, 59))
    assert not is_open(cal, utc(2025, 6, 4, 10, 45))  # 12:45 local, lunch
    assert is_open(cal, utc(2025, 6, 4, 11, 30))  # 13:30 local
    assert not is_open(cal, utc(2025, 6, 4, 16, 0))  # 18:00 local, end exclusive


def test_days_not_listed_are_closed() -> None:
    cal = calendar(hours=WEEKDAYS)
    assert not is_open(cal, utc(2025, 6, 7, 10, 0))  # Saturday


def test_overnight_interval_runs_past_midnight_into_the_next_day() -> None:
    cal = calendar(hours={"fri": ["22:00-02:00"]})
    assert is_open(cal, utc(2025, 6, 6, 20, 0))  # Friday 22:00 local
    assert is_open(cal, utc(2025, 6, 6, 23, 30))  # Saturday 01:30 local
    assert not is_open(cal, utc(2025, 6, 7, 0, 0))  # Saturday 02:00 local
    assert not is_open(cal, utc(2025, 6, 5, 23, 30))  # Friday 01:30: Thursday has no overnight interval


def test_whole_day_interval() -> None:
    cal = calendar(hours={"sun": ["00:00-24:00"]})
    assert is_open(cal, utc(2025, 6, 7, 22, 0))  # Sunday 00:00 local
    assert is_open(cal, utc(2025, 6, 8, 21, 59))  # Sunday 23:59 local
    assert not is_open(cal, utc(2025, 6, 8, 22, 0))  # Monday 00:00 local


def test_wall_clock_hours_hold_across_the_spring_dst_change() -> None:
    cal = calendar(hours={day: ["09:00-17:00"] for day in ("fri", "mon")})
    # Friday 28 March 2025: Paris is UTC+1, 09:00 local = 08:00 UTC.
    assert is_open(cal, utc(2025, 3, 28, 8, 0))
    assert not is_open(cal, utc(2025, 3, 28, 7, 30))
    # Monday 31 March 2025 (after the change): UTC+2, 09:00 local = 07:00 UTC.
    assert is_open(cal, utc(2025, 3, 31, 7, 0))
    assert not is_open(cal, utc(2025, 3, 31, 15, 0))  # 17:00 local


def test_overnight_interval_across_the_spring_dst_change_is_an_hour_shorter() -> None:
    cal = calendar(hours={"sat": ["22:00-06:00"]})
    # Saturday 29 March 2025 22:00 CET = 21:00 UTC; Sunday 06:00 CEST = 04:00 UTC (7 hours later).
    assert is_open(cal, utc(2025, 3, 29, 21, 0))
    assert is_open(cal, utc(2025, 3, 30, 3, 59))
    assert not is_open(cal, utc(2025, 3, 30, 4, 0))


def test_overnight_interval_across_the_autumn_dst_change_is_an_hour_longer() -> None:
    cal = calendar(hours={"sat": ["22:00-06:00"]})
    # Saturday 25 October 2025 22:00 CEST = 20:00 UTC; Sunday 06:00 CET = 05:00 UTC (9 hours later).
    assert is_open(cal, utc(2025, 10, 25, 20, 0))
    assert is_open(cal, utc(2025, 10, 26, 4, 59))
    assert not is_open(cal, utc(2025, 10, 26, 5, 0))


def test_public_holidays_close_the_day() -> None:
    cal = calendar(hours=WEEKDAYS, holidays={"country": "FR"})
    # Thursday 1 May 2025 is Fête du Travail.
    assert not is_open(cal, utc(2025, 5, 1, 8, 0))
    assert is_open(cal, utc(2025, 5, 2, 8, 0))
    assert cal.holiday_name(datetime(2025, 5, 1).date())


def test_a_holiday_cancels_overnight_intervals_starting_on_it_but_not_the_tail_of_the_eve() -> None:
    cal = calendar(hours={"wed": ["22:00-02:00"], "thu": ["22:00-02:00"]}, holidays={"country": "FR"})
    # Wednesday 30 April 22:00 → Thursday 1 May 02:00: started on a working day, stays open.
    assert is_open(cal, utc(2025, 4, 30, 23, 30))  # 1 May 01:30 local
    # Thursday 1 May 22:00 (holiday) → cancelled.
    assert not is_open(cal, utc(2025, 5, 1, 21, 0))


def test_subdivision_holidays() -> None:
    cal = calendar(
        timezone="Europe/London",
        hours={"mon": ["09:00-17:00"]},
        holidays={"country": "GB", "subdivision": "SCT"},
    )
    # 4 August 2025 is the Summer Bank Holiday in Scotland only.
    assert not is_open(cal, utc(2025, 8, 4, 10, 0))
    england = calendar(
        timezone="Europe/London",
        hours={"mon": ["09:00-17:00"]},
        holidays={"country": "GB", "subdivision": "ENG"},
    )
    assert is_open(england, utc(2025, 8, 4, 10, 0))


def test_exceptional_closures_by_date_and_by_span() -> None:
    cal = calendar(
        hours=WEEKDAYS,
        closures=[
            {"date": "2025-06-04", "reason": "inventory"},
            {"start": "2025-06-05T15:00", "end": "2025-06-06T10:00", "reason": "team event"},
        ],
    )
    assert not is_open(cal, utc(2025, 6, 4, 8, 0))
    assert is_open(cal, utc(2025, 6, 5, 12, 0))  # Thursday 14:00 local
    assert not is_open(cal, utc(2025, 6, 5, 13, 30))  # 15:30 local
    assert not is_open(cal, utc(2025, 6, 6, 7, 30))  # Friday 09:30 local
    assert is_open(cal, utc(2025, 6, 6, 8, 0))  # Friday 10:00 local


def test_next_opening_is_now_when_open() -> None:
    cal = calendar(hours=WEEKDAYS)
    at = utc(2025, 6, 4, 8, 0)
    assert next_opening(cal, at) == at


def test_next_opening_after_friday_evening_is_monday_morning() -> None:
    cal = calendar(hours=WEEKDAYS)
    opening = next_opening(cal, utc(2025, 6, 6, 19, 0))  # Friday 21:00 local
    assert opening == utc(2025, 6, 9, 7, 0)  # Monday 09:00 local


def test_next_opening_skips_holidays_and_starts_after_a_closure_span() -> None:
    cal = calendar(
        hours=WEEKDAYS,
        holidays={"country": "FR"},
        closures=[{"start": "2025-05-02T09:00", "end": "2025-05-02T11:00"}],
    )
    # Wednesday 30 April 20:00 local → 1 May is a holiday → Friday 2 May, closed until 11:00.
    assert next_opening(cal, utc(2025, 4, 30, 18, 0)) == utc(2025, 5, 2, 9, 0)


def test_next_opening_during_lunch_is_the_afternoon() -> None:
    cal = calendar(hours=WEEKDAYS)
    assert next_opening(cal, utc(2025, 6, 4, 10, 45)) == utc(2025, 6, 4, 11, 30)


def test_next_opening_of_a_calendar_that_never_opens_is_none() -> None:
    assert next_opening(calendar(), utc(2025, 6, 4, 10, 0)) is None


@pytest.mark.parametrize(
    "fields",
    [
        {"timezone": "Mars/Olympus"},
        {"hours": {"monday": ["09:00-17:00"]}},
        {"hours": {"mon": ["9-5"]}},
        {"hours": {"mon": ["25:00-26:00"]}},
        {"hours": {"mon": ["09:00-09:00"]}},
        {"holidays": {"country": "XX"}},
        {"holidays": {"country": "FR", "subdivision": "ZZ"}},
        {"closures": [{"date": "2025-01-01", "start": "2025-01-01T00:00", "end": "2025-01-02T00:00"}]},
        {"closures": [{"start": "2025-01-02T00:00", "end": "2025-01-01T00:00"}]},
    ],
)
def test_invalid_calendars_are_rejected(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        calendar(**fields)


def test_is_open_is_the_same_for_any_time_zone_of_the_input() -> None:
    cal = calendar(hours=WEEKDAYS)
    at = utc(2025, 6, 4, 8, 0)
    from zoneinfo import ZoneInfo

    assert is_open(cal, at.astimezone(ZoneInfo("America/New_York"))) is is_open(cal, at)
    assert next_opening(cal, at + timedelta(hours=9)) == utc(2025, 6, 5, 7, 0)
