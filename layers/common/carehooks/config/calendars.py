"""Business-hours calendars: time zone, several intervals per day, overnight intervals, holidays, closures.

Example (YAML, under ``calendars:``)::

    support:
      timezone: Europe/Paris
      hours:
        mon: ["09:00-12:30", "13:30-18:00"]     # several intervals a day
        fri: ["09:00-18:00", "22:00-02:00"]     # an end at or before its start runs past midnight
        sat: ["10:00-14:00"]
        sun: []                                  # days not listed are closed
      holidays: {country: FR}                    # public holidays of the ``holidays`` library
      closures:                                  # exceptional closures, local time of the calendar
        - {start: "2025-12-24T14:00", end: "2025-12-26T09:00", reason: Christmas}
        - {date: "2025-08-14"}                   # a whole local day

Semantics (pure functions, every time is timezone-aware):

- An interval belongs to the day it starts on. A holiday or a whole-day closure cancels the intervals that
  start on it (also their part after midnight); the tail of the previous evening's overnight interval is
  untouched.
- A closure with ``start``/``end`` closes that span whatever the intervals say.
- Wall-clock times are in the calendar's time zone, so "09:00" stays 09:00 across daylight-saving
  changes; an interval that spans the change is one hour shorter or longer that night. A local start time
  that does not exist (the skipped hour) is read with the offset before the change.

Working time (SLA targets, business-hours report figures) is counted over :meth:`Calendar.open_intervals`:
:func:`add_working_time` (when a target falls due) and :func:`working_time_between` (how much open time
lies between two instants). :data:`CALENDAR_TIME` is the calendar in which every second counts (open all
the time, in UTC), for targets in plain calendar time. Every instant here is timezone-aware.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_END_OF_DAY = "24:00"
# How far ahead "next opening" and working time look before giving up: a calendar closed for longer has
# no next opening, and a target it cannot reach in that span has no due time (never an alert), rather than
# being searched forever.
HORIZON_DAYS = 400
HORIZON = timedelta(days=HORIZON_DAYS)
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)

Span = tuple[datetime, datetime]


def _parse_clock(value: str, *, allow_24: bool) -> time | None:
    """``HH:MM`` → time; ``24:00`` → None (end of day) when allowed."""
    if allow_24 and value == _END_OF_DAY:
        return None
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a time of day HH:MM") from exc


@dataclass(frozen=True)
class Interval:
    """An opening interval in local wall-clock time. ``end`` None means midnight at the end of the day."""

    start: time
    end: time | None

    @property
    def overnight(self) -> bool:
        return self.end is not None and self.end <= self.start


def parse_interval(text: str) -> Interval:
    """``"09:00-18:00"``, ``"22:00-02:00"`` (overnight), ``"00:00-24:00"`` (whole day)."""
    try:
        start_text, end_text = (part.strip() for part in text.split("-"))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an interval HH:MM-HH:MM") from exc
    start = _parse_clock(start_text, allow_24=False)
    assert start is not None
    return Interval(start=start, end=_parse_clock(end_text, allow_24=True))


class HolidaySource(BaseModel):
    """Public holidays from the ``holidays`` library: a country and optionally a subdivision."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str = Field(description="ISO 3166-1 alpha-2 code, e.g. FR, GB, US")
    subdivision: str | None = Field(None, description="e.g. ENG for England, CA for California")

    @model_validator(mode="after")
    def _known(self) -> Self:
        import holidays

        supported = holidays.list_supported_countries()
        if self.country not in supported:
            raise ValueError(f"unknown holiday country {self.country!r}")
        if self.subdivision is not None and self.subdivision not in supported[self.country]:
            raise ValueError(f"unknown subdivision {self.subdivision!r} of {self.country}")
        return self


class Closure(BaseModel):
    """An exceptional closure: a whole local ``date``, or a ``start``-``end`` span in local time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: dt.date | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    reason: str = ""

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if self.date is not None and (self.start is not None or self.end is not None):
            raise ValueError("give either date or start/end, not both")
        if self.date is None and (self.start is None or self.end is None):
            raise ValueError("give a date, or both start and end")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Calendar(BaseModel):
    """When a team is open. See the module docstring for the exact semantics."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "UTC"
    hours: dict[str, list[str]] = Field(
        default_factory=dict, description="per day (mon…sun): intervals HH:MM-HH:MM; missing days are closed"
    )
    holidays: HolidaySource | None = None
    closures: list[Closure] = Field(default_factory=list)
    _holiday_cache: dict[int, Any] = PrivateAttr(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, intervals in value.items():
            if day not in DAYS:
                raise ValueError(f"unknown day {day!r}: use {', '.join(DAYS)}")
            for text in intervals:
                interval = parse_interval(text)
                if interval.end is not None and interval.end == interval.start:
                    raise ValueError(f"{text!r} is empty (use 00:00-24:00 for a whole day)")
        return value

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def weekly(self) -> tuple[tuple[Interval, ...], ...]:
        """Intervals per weekday (0 = Monday), sorted by start."""
        return tuple(
            tuple(sorted((parse_interval(t) for t in self.hours.get(day, [])), key=lambda i: i.start))
            for day in DAYS
        )

    @cached_property
    def spans(self) -> tuple[tuple[datetime, datetime], ...]:
        """The ``start``/``end`` closures as UTC spans (naive times are the calendar's local time)."""
        out: list[tuple[datetime, datetime]] = []
        for closure in self.closures:
            if closure.start is not None and closure.end is not None:
                out.append((self._aware(closure.start), self._aware(closure.end)))
        return tuple(out)

    @cached_property
    def closed_days(self) -> frozenset[date]:
        return frozenset(c.date for c in self.closures if c.date is not None)

    def _aware(self, value: datetime) -> datetime:
        local = value if value.tzinfo else value.replace(tzinfo=self.zone)
        return local.astimezone(UTC)

    def holiday_name(self, day: date) -> str | None:
        """The public holiday on that local day, if any."""
        if self.holidays is None:
            return None
        table = self._holiday_cache.get(day.year)
        if table is None:
            import holidays

            table = holidays.country_holidays(
                self.holidays.country, subdiv=self.holidays.subdivision, years=day.year
            )
            self._holiday_cache[day.year] = table
        name = table.get(day)
        return str(name) if name else None

    def day_cancelled(self, day: date) -> bool:
        """No interval starts on this local day (a holiday or a whole-day closure)."""
        return day in self.closed_days or self.holiday_name(day) is not None

    def instances(self, day: date) -> list[tuple[datetime, datetime]]:
        """The UTC spans of the intervals that start on the local ``day`` (none on a cancelled day)."""
        if self.day_cancelled(day):
            return []
        out = []
        for interval in self.weekly[day.weekday()]:
            start = datetime.combine(day, interval.start, tzinfo=self.zone)
            if interval.end is None:
                end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
            elif interval.overnight:
                end = datetime.combine(day + timedelta(days=1), interval.end, tzinfo=self.zone)
            else:
                end = datetime.combine(day, interval.end, tzinfo=self.zone)
            # Compare in UTC: aware datetimes sharing a tzinfo compare by wall clock, which is wrong
            # across a daylight-saving change.
            out.append((start.astimezone(UTC), end.astimezone(UTC)))
        return out

    def _closed_span_at(self, at: datetime) -> tuple[datetime, datetime] | None:
        for span in self.spans:
            if span[0] <= at < span[1]:
                return span
        return None

    def open_intervals(self, start: datetime) -> Iterator[Span]:
        """The open intervals at or after ``start``, in order, disjoint and merged; the first is clipped
        to ``start``. UTC instants, up to :data:`HORIZON` after ``start``.

        Yesterday's overnight interval reaching into today, back-to-back intervals, and closures cutting
        an interval in two are handled here.
        """
        start = start.astimezone(UTC)
        zone = self.zone
        # An interval starting yesterday may still be open (overnight shift).
        day = start.astimezone(zone).date() - timedelta(days=1)
        last_day = (start + HORIZON).astimezone(zone).date() + timedelta(days=1)
        pending: list[Span] = []
        while day <= last_day:
            pending = _merge([*pending, *self.instances(day)])
            day += timedelta(days=1)
            # Nothing on a later local day starts before that day's midnight: spans ending earlier are final.
            horizon = datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC)
            final = [s for s in pending if s[1] < horizon]
            pending = [s for s in pending if s[1] >= horizon]
            for span in final:
                yield from self._open_parts(span, start)
        for span in pending:
            yield from self._open_parts(span, start)

    def _open_parts(self, span: Span, start: datetime) -> Iterator[Span]:
        """The span minus closures, clipped to ``start``."""
        for opens, closes in _subtract(span, self.spans):
            if closes <= start:
                continue
            yield max(opens, start), closes


class CalendarTime(Calendar):
    """Every second counts: open all day every day (UTC), and its open time never runs out."""

    def open_intervals(self, start: datetime) -> Iterator[Span]:
        yield start, FAR_FUTURE


CALENDAR_TIME: Calendar = CalendarTime(hours={day: ["00:00-24:00"] for day in DAYS})


def _merge(spans: list[Span]) -> list[Span]:
    """Sorted spans with overlapping or touching ones joined."""
    out: list[Span] = []
    for opens, closes in sorted(spans):
        if out and opens <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], closes))
        else:
            out.append((opens, closes))
    return out


def _subtract(span: Span, closed: tuple[Span, ...]) -> list[Span]:
    parts = [span]
    for c_open, c_close in closed:
        next_parts: list[Span] = []
        for opens, closes in parts:
            if c_close <= opens or c_open >= closes:
                next_parts.append((opens, closes))
                continue
            if opens < c_open:
                next_parts.append((opens, c_open))
            if c_close < closes:
                next_parts.append((c_close, closes))
        parts = next_parts
    return parts


def is_open(calendar: Calendar, at: datetime) -> bool:
    """Whether the calendar is open at the aware time ``at``."""
    at = at.astimezone(UTC)
    if calendar._closed_span_at(at) is not None:
        return False
    local_day = at.astimezone(calendar.zone).date()
    # Today's intervals, and yesterday's overnight ones reaching into today.
    for day in (local_day - timedelta(days=1), local_day):
        for start, end in calendar.instances(day):
            if start <= at < end:
                return True
    return False


def next_opening(calendar: Calendar, at: datetime) -> datetime | None:
    """The first moment at or after ``at`` when the calendar is open (``at`` itself when open).

    None when it never opens within :data:`HORIZON_DAYS`.
    """
    at = at.astimezone(UTC)
    first_day = at.astimezone(calendar.zone).date() - timedelta(days=1)
    for offset in range(HORIZON_DAYS + 1):
        for start, end in calendar.instances(first_day + timedelta(days=offset)):
            if end <= at:
                continue
            candidate = max(start, at)
            # Step past closures that cover the candidate, as long as the interval lasts.
            while candidate < end and (span := calendar._closed_span_at(candidate)) is not None:
                candidate = span[1]
            if candidate < end:
                return candidate
    return None


def local_time(calendar: Calendar, at: datetime) -> datetime:
    """``at`` on the calendar's wall clock."""
    return at.astimezone(calendar.zone)


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
