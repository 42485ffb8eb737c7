"""The team performance reports as the agent API serves them (``GET /api/reports/agents|teams|hours``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from carehooks.reports.models import ReportDurations, ReportFilters, ReportRange


class TeamSla(BaseModel):
    met: int
    missed: int
    attainment: float | None = Field(description="met / (met + missed); null when no clock stopped")


class TeamCsat(BaseModel):
    responses: int
    average: float | None
    satisfied_share: float | None = Field(description="share of ratings of 4 or 5, 0-1")


class FirstContactResolution(BaseModel):
    resolved: int = Field(description="conversations this agent (team) resolved")
    first_contact: int = Field(description="of those: exactly one reply by a person, never reopened")
    rate: float | None


class HandleTime(BaseModel):
    total_seconds: int = Field(
        description="per reply: from the customer's latest message (or the previous person's reply, if "
        "later) to the reply, capped at 15 minutes; summed"
    )
    per_conversation_seconds: float | None


class PerformanceFigures(BaseModel):
    conversations_handled: int = Field(description="assigned, replied or resolved (each counted once)")
    replies: int
    first_response: ReportDurations = Field(description="the conversations' first replies by this agent")
    next_response: ReportDurations = Field(description="later replies to a waiting customer")
    resolution: ReportDurations = Field(description="from the first customer message, by who resolved")
    sla: dict[str, TeamSla] = Field(description="per SLA metric, the clocks this agent (team) stopped")
    csat: TeamCsat
    first_contact_resolution: FirstContactResolution
    handle_time: HandleTime


class AgentRow(PerformanceFigures):
    agent: str = Field(
        description="the agent's id (JWT sub); `platform-inbox` for replies typed in the platform's own inbox"
    )
    name: str | None
    teams: list[str]


class TeamRow(PerformanceFigures):
    team: str = Field(description="team id; `(none)` gathers agents in no team")
    name: str | None
    agents: list[str]


class AgentsReport(BaseModel):
    """One row per person who acted in the conversations created in the period."""

    period: ReportRange
    filters: ReportFilters
    items: list[AgentRow]


class TeamsReport(BaseModel):
    """One row per team whose members acted in the conversations created in the period."""

    period: ReportRange
    filters: ReportFilters
    items: list[TeamRow]


class HourCell(BaseModel):
    weekday: int = Field(description="0 = Monday")
    day: str
    hour: int = Field(description="local hour, 0-23")
    messages: int = Field(description="customer messages sent in this local weekday and hour")
    conversations: int = Field(description="conversations whose customer started waiting in this cell")
    first_response_median_seconds: float | None


class HoursReport(BaseModel):
    """Customer messages and median first response by weekday and hour, for staffing."""

    period: ReportRange
    filters: ReportFilters
    timezone: str
    total_messages: int
    cells: list[HourCell] = Field(description="168 cells, Monday 00:00 first")
