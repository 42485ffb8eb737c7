"""The report use cases: read the conversations of a period through the ByDay index, then summarize."""

from __future__ import annotations

from typing import Any

from carehooks.config.calendars import Calendar
from carehooks.config.document import ConfigDocument
from carehooks.reports.summary import Filters, Period, summarize
from carehooks.store import Store


def summary_report(
    store: Store, period: Period, filters: Filters, calendar: Calendar | None = None
) -> dict[str, Any]:
    """The summary of ``period``: every conversation created in it and in the period before, read from
    one index partition per day (never a scan)."""
    previous = period.previous()
    current = store.conversations_created(period.start, period.end)
    earlier = store.conversations_created(previous.start, previous.end)
    return summarize(current, earlier, period, filters, calendar)


def business_calendar(config: ConfigDocument) -> Calendar | None:
    """The default business-hours calendar of the configuration document, or None when there is none."""
    name = config.defaults.calendar
    if not name or name not in config.calendars:
        return None
    return config.calendars[name]
