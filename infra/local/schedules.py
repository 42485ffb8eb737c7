"""Schedule expressions (``rate(...)``, ``cron(...)``) and the local scheduler on the shared clock.

The scheduler wakes every second, and at once when ``POST /_local/clock`` moves time. A schedule
whose due time has passed fires once, then its next due time is computed from the current time: if
the clock jumps two hours, a ``rate(1 minute)`` schedule fires once promptly, not 120 times (missed
runs are coalesced, as a scheduler catching up after downtime would skip them). Failed runs are
logged, not retried.
"""

from __future__ import annotations

import calendar
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from infra.local.model import Schedule
from infra.local.resolver import ACCOUNT_ID
from infra.local.runtime import Invocation, Runtime

_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$", re.IGNORECASE)
_CRON = re.compile(r"^cron\((.+)\)$", re.IGNORECASE)
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$", re.IGNORECASE)
SEARCH_DAYS = 366 * 5


class ExpressionError(ValueError):
    """Not a schedule expression EventBridge would accept (or one the local stack cannot run)."""


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    """The values a plain cron field allows (``*``, lists, ranges, steps, names)."""
    values: set[int] = set()
    for item in text.split(","):
        step = 1
        part = item
        if "/" in item:
            part, step_text = item.split("/", 1)
            step = int(step_text)
            if step < 1:
                raise ExpressionError(f"bad step in {text!r}")
        if part in ("*", "?", ""):
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(part, names)
            end = high if step > 1 else start
        if not (low <= start <= high and low <= end <= high):
            raise ExpressionError(f"value out of range in {text!r}")
        if start <= end:
            values.update(range(start, end + 1, step))
        else:  # a wrapping range such as FRI-MON
            values.update(
                v for i, v in enumerate([*range(start, high + 1), *range(low, end + 1)]) if i % step == 0
            )
    return values


def _value(text: str, names: dict[str, int] | None) -> int:
    upper = text.strip().upper()
    if names and upper in names:
        return names[upper]
    if not upper.isdigit():
        raise ExpressionError(f"bad value {text!r}")
    return int(upper)


@dataclass(frozen=True)
class Cron:
    """An EventBridge cron expression: minutes hours day-of-month month day-of-week year."""

    minutes: frozenset[int]
    hours: frozenset[int]
    dom: str
    months: frozenset[int]
    dow: str
    years: frozenset[int]

    @classmethod
    def parse(cls, text: str) -> Cron:
        parts = text.split()
        if len(parts) != 6:
            raise ExpressionError(f"cron needs 6 fields, got {len(parts)}: {text!r}")
        minute, hour, dom, month, dow, year = parts
        if (dom == "?") == (dow == "?"):
            raise ExpressionError("exactly one of day-of-month and day-of-week must be '?'")
        cron = cls(
            minutes=frozenset(_field(minute, 0, 59)),
            hours=frozenset(_field(hour, 0, 23)),
            dom=dom.upper(),
            months=frozenset(_field(month, 1, 12, _MONTHS)),
            dow=dow.upper(),
            years=frozenset(_field(year, 1970, 2199)),
        )
        cron.day_matches(date(2000, 1, 1))  # validate the day fields now, not at the first run
        return cron

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months or day.year not in self.years:
            return False
        if self.dom != "?":
            return _dom_matches(self.dom, day)
        return _dow_matches(self.dow, day)

    def next_after(self, after: datetime, zone: ZoneInfo) -> datetime | None:
        """The first matching minute strictly after ``after`` (UTC in, UTC out)."""
        local = after.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = local.date()
        for offset in range(SEARCH_DAYS):
            current = day + timedelta(days=offset)
            if not self.day_matches(current):
                continue
            for hour in sorted(self.hours):
                for minute in sorted(self.minutes):
                    candidate = datetime(current.year, current.month, current.day, hour, minute, tzinfo=zone)
                    if candidate >= local:
                        return candidate.astimezone(UTC)
        return None


def _dom_matches(spec: str, day: date) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    for part in spec.split(","):
        if part == "L":
            if day.day == last:
                return True
        elif part == "LW":
            if day == _nearest_weekday(date(day.year, day.month, last)):
                return True
        elif part.endswith("W"):
            target = min(int(part[:-1]), last)
            if day == _nearest_weekday(date(day.year, day.month, target)):
                return True
        elif day.day in _field(part, 1, 31):
            return True
    return False


def _nearest_weekday(target: date) -> date:
    """The weekday nearest ``target`` in the same month (the ``W`` rule)."""
    if target.weekday() < 5:
        return target
    if target.weekday() == 5:  # Saturday -> Friday, unless that leaves the month
        return target - timedelta(days=1) if target.day > 1 else target + timedelta(days=2)
    last = calendar.monthrange(target.year, target.month)[1]
    return target + timedelta(days=1) if target.day < last else target - timedelta(days=2)


def _aws_weekday(day: date) -> int:
    """1 = Sunday … 7 = Saturday, as EventBridge numbers them."""
    return (day.isoweekday() % 7) + 1


def _dow_matches(spec: str, day: date) -> bool:
    weekday = _aws_weekday(day)
    last = calendar.monthrange(day.year, day.month)[1]
    for part in spec.split(","):
        if "#" in part:
            name, nth = part.split("#", 1)
            if weekday == _value(name, _DAYS) and (day.day - 1) // 7 + 1 == int(nth):
                return True
        elif part.endswith("L") and part != "L":
            if weekday == _value(part[:-1], _DAYS) and day.day + 7 > last:
                return True
        elif part == "L":
            if weekday == 7:
                return True
        elif weekday in _field(part, 1, 7, _DAYS):
            return True
    return False


@dataclass(frozen=True)
class Expression:
    """A parsed schedule expression."""

    text: str
    period: timedelta | None = None
    cron: Cron | None = None
    at: datetime | None = None

    @classmethod
    def parse(cls, text: str) -> Expression:
        text = text.strip()
        if match := _RATE.match(text):
            value, unit = int(match.group(1)), match.group(2).lower().rstrip("s")
            if value < 1:
                raise ExpressionError(f"rate must be positive: {text!r}")
            return cls(text, period=timedelta(**{f"{unit}s": value}))
        if match := _CRON.match(text):
            return cls(text, cron=Cron.parse(match.group(1)))
        if match := _AT.match(text):
            return cls(text, at=datetime.fromisoformat(match.group(1)))
        raise ExpressionError(f"not a rate(), cron() or at() expression: {text!r}")

    def next_after(self, after: datetime, zone: ZoneInfo, anchor: datetime) -> datetime | None:
        """The first due time strictly after ``after``; rates count from ``anchor``."""
        if self.period is not None:
            if after < anchor:
                return anchor + self.period
            steps = int((after - anchor) / self.period) + 1
            return anchor + steps * self.period
        if self.cron is not None:
            return self.cron.next_after(after, zone)
        assert self.at is not None
        at = self.at.replace(tzinfo=zone).astimezone(UTC)
        return at if at > after else None


def schedule_event(schedule: Schedule, due: datetime, region: str, stack_name: str) -> Any:
    """What EventBridge (``Schedule``) or EventBridge Scheduler (``ScheduleV2``) passes the function."""
    stamp = due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if schedule.kind == "ScheduleV2":
        arn = f"arn:aws:scheduler:{region}:{ACCOUNT_ID}:schedule/default/{stack_name}-{schedule.name}"
        if schedule.input is not None:
            text = (
                schedule.input.replace("<aws.scheduler.schedule-arn>", arn)
                .replace("<aws.scheduler.scheduled-time>", stamp)
                .replace("<aws.scheduler.execution-id>", uuid.uuid4().hex[:16])
                .replace("<aws.scheduler.attempt-number>", "1")
            )
            try:
                return json.loads(text)
            except ValueError:
                return text
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.scheduler",
            "account": ACCOUNT_ID,
            "time": stamp,
            "region": region,
            "resources": [arn],
            "detail": "{}",
        }
    if schedule.input is not None:
        try:
            return json.loads(schedule.input)
        except ValueError:
            return schedule.input
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": stamp,
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{stack_name}-{schedule.name}"],
        "detail": {},
    }


@dataclass
class _Entry:
    schedule: Schedule
    expression: Expression
    zone: ZoneInfo
    anchor: datetime
    due: datetime | None
    running: threading.Lock = field(default_factory=threading.Lock)


class Scheduler:
    """Fires every enabled schedule of the template on the shared clock."""

    def __init__(
        self,
        schedules: list[Schedule],
        runtime: Runtime,
        now: Callable[[], datetime],
        region: str,
        stack_name: str,
        say: Callable[[str], None],
        tick: float = 1.0,
    ) -> None:
        self.runtime = runtime
        self.now = now
        self.region = region
        self.stack_name = stack_name
        self.say = say
        self.tick = tick
        self.schedules = schedules
        self.entries: list[_Entry] = []
        self.problems: list[str] = []
        start = now()
        for schedule in schedules:
            try:
                expression = Expression.parse(schedule.expression)
                zone = ZoneInfo(schedule.timezone or "UTC")
            except (ExpressionError, ValueError, KeyError) as exc:
                self.problems.append(f"{schedule.name}: {exc}")
                continue
            due = expression.next_after(start, zone, start)
            self.entries.append(_Entry(schedule, expression, zone, start, due))
        self._wake = threading.Event()
        self._stop = threading.Event()

    def wake(self) -> None:
        """Check due schedules now (the clock moved)."""
        self._wake.set()

    def run(self) -> None:
        """The scheduler loop (run in a thread until :meth:`stop`)."""
        while not self._stop.is_set():
            self._wake.wait(self.tick)
            self._wake.clear()
            if self._stop.is_set():
                return
            self.check()

    def check(self) -> None:
        now = self.now()
        for entry in self.entries:
            if not entry.schedule.enabled or entry.due is None:
                continue
            earliest = entry.expression.next_after(now, entry.zone, entry.anchor)
            if entry.due > now:
                # The clock went back: never wait longer than the expression itself says.
                if earliest is not None and earliest < entry.due:
                    entry.due = earliest
                continue
            due, entry.due = entry.due, earliest
            if not entry.running.acquire(blocking=False):
                continue  # the previous run is still going; this one is skipped
            threading.Thread(target=self._fire, args=(entry, due), daemon=True).start()

    def _fire(self, entry: _Entry, due: datetime) -> None:
        try:
            self.invoke(entry.schedule, due)
        finally:
            entry.running.release()

    def invoke(self, schedule: Schedule, due: datetime) -> Invocation:
        event = schedule_event(schedule, due, self.region, self.stack_name)
        return self.runtime.invoke(schedule.function, event, source=f"{schedule.kind} {schedule.expression}")

    def find(self, name: str) -> Schedule | None:
        """A schedule by function logical id, ``<Function><Event>`` or event name."""
        for schedule in self.schedules:
            if name in (schedule.function, schedule.name, f"{schedule.function}.{schedule.event}"):
                return schedule
        matches = [s for s in self.schedules if s.event == name]
        return matches[0] if len(matches) == 1 else None

    def run_now(self, name: str) -> Invocation | None:
        """Run a scheduled function now (``POST /_local/run/{LogicalId}``)."""
        schedule = self.find(name)
        if schedule is None:
            return None
        return self.invoke(schedule, self.now())

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
