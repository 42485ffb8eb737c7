"""The summary report as the agent API serves it (``GET /api/reports/summary``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ReportRange(BaseModel):
    from_: str = Field(alias="from", description="start, ISO 8601 UTC (included)")
    to: str = Field(description="end, ISO 8601 UTC (excluded)")


class ReportFilters(BaseModel):
    channel: str | None
    tag: str | None
    agent: str | None
    visibility: str | None = None


class ReportConversations(BaseModel):
    total: int = Field(description="conversations created in the period (that match the filters)")
    previous_total: int
    by_status: dict[str, int]
    by_channel: dict[str, int]
    by_visibility: dict[str, int] = Field(
        default_factory=dict, description="public (comment threads, public posts) and private conversations"
    )


class ReportSpread(BaseModel):
    median_seconds: float | None
    p90_seconds: float | None


class ReportDurations(BaseModel):
    count: int = Field(description="conversations measured")
    calendar: ReportSpread
    business: ReportSpread | None = Field(description="open hours of the default calendar; null without one")


class ReportSla(BaseModel):
    met: int
    missed: int
    attainment: float


class ReportAgentCsat(BaseModel):
    responses: int
    average: float


class ReportCsat(BaseModel):
    responses: int
    average: float | None
    distribution: dict[str, int] = Field(description="score (1-5) → answers")
    surveys_sent: int
    response_rate: float | None = Field(description="rated of surveyed conversations, 0-1")
    by_agent: dict[str, ReportAgentCsat]


class ReportTagTrend(BaseModel):
    tag: str
    count: int
    previous: int
    change: int
    change_pct: float | None


class ReportDay(BaseModel):
    date: str
    conversations: int
    first_response_median_seconds: float | None


class ReportVisibility(BaseModel):
    """The figures of the public (or private) conversations alone."""

    conversations: int
    first_response: ReportDurations
    resolution: ReportDurations
    sla: dict[str, ReportSla]


class SummaryReport(BaseModel):
    """Figures over every conversation created in the period (a cohort), computed from stored data."""

    period: ReportRange
    previous_period: ReportRange
    filters: ReportFilters
    conversations: ReportConversations
    visibility: dict[str, ReportVisibility] = Field(
        default_factory=dict,
        description="public and private conversations apart (public targets are tighter)",
    )
    first_response: ReportDurations
    resolution: ReportDurations
    sla: dict[str, ReportSla] = Field(
        description="per SLA metric (first_response, next_response, resolution)"
    )
    csat: ReportCsat
    tags: list[ReportTagTrend]
    daily: list[ReportDay]
