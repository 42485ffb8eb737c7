"""Reading a report request: period and filters from query parameters (a boundary, so validated)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from carehooks.domain.models import Channel
from carehooks.reports.summary import VISIBILITIES, Filters, Period

MAX_DAYS = 93
DEFAULT_DAYS = 7


class ReportQueryError(ValueError):
    """The request's parameters are not a valid report query (answered with a 400)."""


def _instant(value: str, name: str, end: bool) -> datetime:
    """A date (a whole UTC day; ``to`` includes it) or an ISO 8601 instant (``to`` excludes it)."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            start = datetime.combine(day, time(0), tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ReportQueryError(f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 time") from exc
    if parsed.tzinfo is None:
        raise ReportQueryError(f"{name} needs a time zone (e.g. Z)")
    return parsed.astimezone(UTC)


def parse_summary_query(params: dict[str, str], now: datetime) -> tuple[Period, Filters]:
    """``from`` / ``to`` (default: the 7 days up to now), ``channel``, ``tag``, ``agent``, ``visibility``."""
    unknown = set(params) - {"from", "to", "channel", "tag", "agent", "visibility"}
    if unknown:
        raise ReportQueryError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    end = _instant(params["to"], "to", end=True) if params.get("to") else now
    start = (
        _instant(params["from"], "from", end=False)
        if params.get("from")
        else end - timedelta(days=DEFAULT_DAYS)
    )
    if start >= end:
        raise ReportQueryError("from must be before to")
    if end - start > timedelta(days=MAX_DAYS):
        raise ReportQueryError(f"a report covers at most {MAX_DAYS} days")
    channel = params.get("channel") or None
    if channel is not None and channel not in {str(c) for c in Channel}:
        raise ReportQueryError(f"unknown channel {channel!r}")
    seen = params.get("visibility") or None
    if seen is not None and seen not in VISIBILITIES:
        raise ReportQueryError(f"visibility is one of {', '.join(VISIBILITIES)}")
    filters = Filters(
        channel=channel, tag=params.get("tag") or None, agent=params.get("agent") or None, visibility=seen
    )
    return Period(start, end), filters
