"""The one rule for platform timestamps every adapter applies (pure; docs/timestamps.md).

A platform's time for an event is used as sent when it is plausible: no more than
:data:`FUTURE_SKEW` after the webhook received it, and no more than :data:`PAST_HORIZON` before. Outside
that window (or not a time at all: an epoch beyond the calendar), the event's time is when the webhook
received it (``QueuedEvent.received_at``), and the platform's value is kept in ``PlatformTime.raw``
and logged. The event is never parked: a signed event with a broken clock is still the customer's
message.

Why these bounds: the longest any platform redelivers is 7 days (WhatsApp Cloud; X's replay covers 5),
so a genuine event is never older than that when it first reaches us; the horizon adds three days of
margin. Platforms and Lambda keep NTP time, so a few minutes ahead covers any skew. A year-9999 time
would sort first forever and make every SLA clock absurd; a 1970 one would breach every target at once.

Identifiers built from a platform time (Telegram's edit ids, synthetic postback ids) keep the raw value:
a redelivery must get the same id, whatever its receipt time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from carehooks.observability import logger

PAST_HORIZON = timedelta(days=10)
FUTURE_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class PlatformTime:
    """The time to use for an event; ``raw`` is the platform's value when it was not plausible."""

    at: datetime
    raw: str | None = None

    @property
    def replaced(self) -> bool:
        return self.raw is not None


def plausible(at: datetime, received_at: datetime) -> bool:
    """Whether a platform time is within the window around the receipt time."""
    return received_at - PAST_HORIZON <= at <= received_at + FUTURE_SKEW


def platform_time(at: datetime | None, received_at: datetime, raw: object) -> PlatformTime:
    """``at`` when plausible, else the receipt time with the platform's ``raw`` value kept.

    ``at`` is None when the raw value is a number no calendar date has (the caller could not convert it).
    """
    if at is not None and plausible(at, received_at):
        return PlatformTime(at)
    logger.warning(
        "implausible platform time: the receipt time is used",
        extra={"platform_time": str(raw), "received_at": received_at.isoformat()},
    )
    return PlatformTime(received_at, raw=str(raw))


def epoch_time(value: int | float, unit: str, received_at: datetime) -> PlatformTime:
    """An epoch number in ``unit`` (``"s"`` or ``"ms"``) under the rule."""
    try:
        seconds = value / 1000 if unit == "ms" else value
        at: datetime | None = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        at = None
    return platform_time(at, received_at, value)


def epoch_ms(value: int | float, received_at: datetime) -> datetime:
    """The time to use for an epoch in milliseconds (Meta, X)."""
    return epoch_time(value, "ms", received_at).at


def epoch_seconds(value: int | float, received_at: datetime) -> datetime:
    """The time to use for an epoch in seconds (WhatsApp, Telegram, Facebook feed)."""
    return epoch_time(value, "s", received_at).at


def checked(at: datetime, received_at: datetime) -> datetime:
    """The time to use for a time the platform sent as text (X's ``created_at``)."""
    return platform_time(at, received_at, at.isoformat()).at
