"""The team performance use cases: read the conversations of a period (``ByCreated``, never a scan), then
compute the agents, teams or hours report (:mod:`carehooks.reports.agents`, :mod:`carehooks.reports.hours`).

Reads are O(range): one Query per creation-day shard and one BatchGetItem per 100 conversations, as the
summary. A conversation whose ledger outgrew the item (``lg_full``, rare) also has its messages read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from carehooks.config.calendars import Calendar
from carehooks.config.document import ConfigDocument
from carehooks.domain import ledger
from carehooks.domain.models import Conversation
from carehooks.reports.agents import agents_report, replayed, teams_report
from carehooks.reports.hours import hours_report
from carehooks.reports.summary import Filters, Period
from carehooks.store import Store


def cohort(store: Store, period: Period) -> Iterator[Conversation]:
    """The conversations created in ``period``, each with its complete ledger."""
    for conv in store.conversations_created(period.start, period.end):
        yield replayed(conv, store.messages(conv)) if ledger.is_full(conv) else conv


def agents_for(
    store: Store, config: ConfigDocument, period: Period, filters: Filters, calendar: Calendar | None
) -> dict[str, Any]:
    """``GET /api/reports/agents``: names and teams from the configuration's agents."""
    return agents_report(
        cohort(store, period),
        period,
        filters,
        calendar,
        names={a.id: a.name for a in config.agents if a.name},
        teams={a.id: a.teams for a in config.agents},
    )


def teams_for(
    store: Store, config: ConfigDocument, period: Period, filters: Filters, calendar: Calendar | None
) -> dict[str, Any]:
    """``GET /api/reports/teams``: membership from the configuration's agents."""
    return teams_report(
        cohort(store, period),
        period,
        filters,
        calendar,
        team_names={t.id: t.name for t in config.teams if t.name},
        teams={a.id: a.teams for a in config.agents},
    )


def hours_for(store: Store, period: Period, zone: ZoneInfo, filters: Filters) -> dict[str, Any]:
    """``GET /api/reports/hours``."""
    return hours_report(cohort(store, period), period, zone, filters)


def default_zone(calendar: Calendar | None) -> ZoneInfo:
    """The heatmap's default time zone: the default business-hours calendar's, else UTC."""
    return ZoneInfo(calendar.timezone if calendar is not None else "UTC")
