"""The staffing heatmap (pure): customer messages and median first response by weekday and hour.

Over the conversations created in the period (the summary's cohort), each customer message is counted in
the local weekday and hour of its platform time, in the chosen time zone; the first response of a
conversation is placed in the cell of the customer's first message (when they started waiting). The
counts come from the conversations' ledgers (quarter hours, :mod:`carehooks.domain.ledger`), so every
zone's local hour is exact, daylight-saving changes included.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from carehooks.clock import iso
from carehooks.domain import ledger
from carehooks.domain.conversations import started_at
from carehooks.domain.models import Conversation
from carehooks.reports.summary import Filters, Period, quantile

EVERYTHING = Filters()

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def cell_of(at: datetime, zone: ZoneInfo) -> tuple[int, int]:
    """(weekday, Monday = 0; hour 0-23) of ``at`` in ``zone``."""
    local = at.astimezone(zone)
    return local.weekday(), local.hour


def _handlers(conv: Conversation) -> set[str]:
    """Who handled ``conv``: replied, was assigned, or answered first (the agent filter keeps theirs)."""
    return set(ledger.entries(conv)) | {a for a in (conv.assignee, conv.first_responder) if a}


def hours_report(
    convs: Iterable[Conversation], period: Period, zone: ZoneInfo, filters: Filters = EVERYTHING
) -> dict[str, Any]:
    """168 cells, Monday 00:00 first: ``messages`` (customer messages), ``conversations`` (started in the
    cell) and ``first_response_median_seconds`` (of those, null when none was answered)."""
    matches = replace(filters, agent=None).matches
    messages: dict[tuple[int, int], int] = defaultdict(int)
    started: dict[tuple[int, int], int] = defaultdict(int)
    waits: dict[tuple[int, int], list[float]] = defaultdict(list)
    for conv in convs:
        if not (period.start <= conv.created_at < period.end and matches(conv)):
            continue
        if filters.agent is not None and filters.agent not in _handlers(conv):
            continue
        for slot, count in ledger.slots(conv).items():
            messages[cell_of(slot, zone)] += count
        cell = cell_of(started_at(conv), zone)
        started[cell] += 1
        if conv.first_response_at is not None:
            waits[cell].append(max((conv.first_response_at - started_at(conv)).total_seconds(), 0.0))
    cells = []
    for weekday in range(7):
        for hour in range(24):
            median = quantile(waits[weekday, hour], 0.5)
            cells.append(
                {
                    "weekday": weekday,
                    "day": WEEKDAYS[weekday],
                    "hour": hour,
                    "messages": messages[weekday, hour],
                    "conversations": started[weekday, hour],
                    "first_response_median_seconds": None if median is None else round(median, 1),
                }
            )
    return {
        "period": {"from": iso(period.start), "to": iso(period.end)},
        "filters": filters.as_dict(),
        "timezone": zone.key,
        "total_messages": sum(messages.values()),
        "cells": cells,
    }
