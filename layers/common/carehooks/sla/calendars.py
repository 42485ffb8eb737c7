"""Business-hours calendars of the rules configuration, seen as open intervals for the SLA arithmetic.

:class:`carehooks.config.calendars.Calendar` knows, per local day, which intervals start on it (none
on a holiday or a closed day) and which spans are closed exceptionally. :class:`BusinessHours` turns that
into the ordered, merged open intervals :mod:`carehooks.sla.worktime` counts: yesterday's overnight shift
reaching into today, back-to-back intervals, and closures cutting an interval in two are handled here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from carehooks.config.calendars import Calendar as RulesCalendar
from carehooks.sla.worktime import HORIZON

Span = tuple[datetime, datetime]


class BusinessHours:
    """A rules calendar as a :class:`carehooks.sla.worktime.Calendar`."""

    def __init__(self, calendar: RulesCalendar) -> None:
        self.calendar = calendar

    def open_intervals(self, start: datetime) -> Iterator[Span]:
        start = start.astimezone(UTC)
        zone = self.calendar.zone
        # An interval starting yesterday may still be open (overnight shift).
        day = start.astimezone(zone).date() - timedelta(days=1)
        last_day = (start + HORIZON).astimezone(zone).date() + timedelta(days=1)
        pending: list[Span] = []
        while day <= last_day:
            pending = _merge([*pending, *self.calendar.instances(day)])
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
        for opens, closes in _subtract(span, self.calendar.spans):
            if closes <= start:
                continue
            yield max(opens, start), closes


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
