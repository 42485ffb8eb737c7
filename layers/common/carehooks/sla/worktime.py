"""Due-time arithmetic over working time: pure functions of a calendar, instants and durations.

An SLA target counts either calendar time (every second counts) or the open hours of a business-hours
calendar (evenings, weekends and holidays do not count). Both are seen through one small protocol: a
calendar lists its open intervals from an instant onwards. Everything here works on timezone-aware UTC
instants; the calendar deals with local time zones, DST and overnight shifts when it lists intervals.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol

# A calendar that opens nowhere in this span is treated as never open (no due time, never an alert),
# rather than searched forever.
HORIZON = timedelta(days=400)
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


class Calendar(Protocol):
    """Open (working) time, as intervals."""

    def open_intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The open intervals at or after ``start``, in order and disjoint; the first is clipped to ``start``.

        Instants are timezone-aware. The iterator may be endless (a weekly schedule is).
        """
        ...


class CalendarTime:
    """Every second counts: the calendar of targets in plain calendar time."""

    def open_intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        yield start, FAR_FUTURE


CALENDAR_TIME = CalendarTime()


def add_working_time(calendar: Calendar, start: datetime, amount: timedelta) -> datetime | None:
    """The instant at which ``amount`` of open time has passed since ``start``.

    A zero or negative amount is due at ``start`` itself. None when the calendar does not open enough
    within :data:`HORIZON` (e.g. a calendar without any opening hours).
    """
    if amount <= timedelta(0):
        return start
    remaining = amount
    limit = start + HORIZON
    for opens, closes in calendar.open_intervals(start):
        if opens >= limit:
            return None
        length = closes - opens
        if length >= remaining:
            return opens + remaining
        remaining -= length
    return None


def working_time_between(calendar: Calendar, start: datetime, end: datetime) -> timedelta:
    """How much open time lies between ``start`` and ``end`` (zero when ``end`` is not after ``start``)."""
    total = timedelta(0)
    if end <= start:
        return total
    for opens, closes in calendar.open_intervals(start):
        if opens >= end:
            break
        total += min(closes, end) - opens
        if closes >= end:
            break
    return total
