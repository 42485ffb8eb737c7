"""Routes: team performance reports (``GET /api/reports/agents``, ``/teams``, ``/hours``), JSON or CSV.

``?format=csv`` or ``Accept: text/csv`` answers CSV (:mod:`carehooks.reports.csv`): one row per agent,
team or heatmap cell, with the JSON's figures flattened into columns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aws_lambda_powertools.event_handler import Depends, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.request import Request
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from carehooks.api.auth import Agent, current_agent
from carehooks.api.deps import Services, services
from carehooks.api.routes import responses
from carehooks.reports.agents import Tally, figures
from carehooks.reports.csv import CONTENT_TYPE as CSV
from carehooks.reports.csv import flatten, to_csv
from carehooks.reports.performance import agents_for, default_zone, hours_for, teams_for
from carehooks.reports.query import ReportQueryError, parse_summary_query
from carehooks.reports.service import business_calendar
from carehooks.reports.summary import Filters, Period
from carehooks.reports.team_models import AgentsReport, HourCell, HoursReport, TeamsReport
from carehooks.web.errors import InvalidInputError

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

CurrentAgent = Annotated[Agent, Depends(current_agent)]
Deps = Annotated[Services, Depends(services)]
Text = Annotated[str | None, Query(max_length=100)]
From = Annotated[str | None, Query(alias="from", max_length=40)]
To = Annotated[str | None, Query(max_length=40)]
AgentId = Annotated[str | None, Query(alias="agent", max_length=100)]
Visibility = Annotated[str | None, Query(max_length=20, description="public (comment threads) or private")]
Format = Annotated[
    str | None, Query(alias="format", max_length=10, description="`csv` for CSV (or send `Accept: text/csv`)")
]
TAGS = ["reports"]
_RANGE = (
    "Over the conversations created in [from, to) (a cohort, as the summary), with everything done in "
    "them. `from`/`to`: a date (a whole UTC day; `to` is included) or an ISO 8601 time with a zone; "
    "default: the 7 days up to now; at most 93 days. Filters as the summary's; `agent` keeps that "
    "agent's actions. `?format=csv` or `Accept: text/csv` answers CSV (RFC 4180, a header row; a cell "
    "starting with = + - @ is prefixed with ')."
)


def csv_responses(model: type[BaseModel]) -> dict[int, OpenAPIResponse]:
    out = responses()
    out[200] = {
        "description": "the report (JSON), or CSV with `format=csv` / `Accept: text/csv`",
        "content": {
            "application/json": {"model": model},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
    return out


def _query(deps: Services, **params: str | None) -> tuple[Period, Filters]:
    try:
        return parse_summary_query({k: v for k, v in params.items() if v}, deps.now())
    except ReportQueryError as exc:
        reason = str(exc)
        name = reason.split(maxsplit=1)[0] if reason.split(maxsplit=1)[0] in _PARAMS else None
        fields = [{"field": f"query.{name}", "reason": reason}] if name else None
        raise InvalidInputError(reason, fields) from exc


_PARAMS = {"from", "to", "channel", "tag", "agent", "visibility"}


def wants_csv(fmt: str | None, accept: str | None) -> bool:
    """``format=csv`` (or ``json``) decides; without it, an ``Accept`` naming text/csv before JSON."""
    if fmt is not None:
        if fmt.lower() not in {"csv", "json"}:
            raise InvalidInputError(
                "format is csv or json", [{"field": "query.format", "reason": "must be csv or json"}]
            )
        return fmt.lower() == "csv"
    kinds = [part.split(";")[0].strip().lower() for part in (accept or "").split(",")]
    return "text/csv" in kinds and (
        "application/json" not in kinds or kinds.index("text/csv") < kinds.index("application/json")
    )


def _answer(
    report: dict[str, Any], model: type[BaseModel], csv: bool, rows_key: str, columns: list[str]
) -> Response[Any]:
    if csv:
        return Response(status_code=200, content_type=CSV, body=to_csv(report[rows_key], columns))
    return Response(
        status_code=200, content_type=content_types.APPLICATION_JSON, body=model.model_validate(report)
    )


# The business-time columns exist even without a calendar (empty cells then).
_BUSINESS = {
    name: {"business": {"median_seconds": None, "p90_seconds": None}}
    for name in ("first_response", "next_response", "resolution")
}


def _ordered(head: list[str]) -> list[str]:
    blank = figures(Tally(), None)
    for name, extra in _BUSINESS.items():
        blank[name] = {**blank[name], **extra}
    return head + list(flatten(blank))


def _run(
    request: Request, deps: Services, fmt: str | None, compute: Callable[[Services], dict[str, Any]]
) -> tuple[dict[str, Any], bool]:
    csv = wants_csv(fmt, request.headers.get("accept"))
    return compute(deps), csv


@router.get(
    "/reports/agents",
    summary="Per-agent figures: handled, replies, response and resolution times, SLA, CSAT, FCR, handle time",
    description=_RANGE,
    tags=TAGS,
    responses=csv_responses(AgentsReport),
)
def get_agents_report(
    request: Request,
    agent: CurrentAgent,
    deps: Deps,
    from_: From = None,
    to: To = None,
    channel: Text = None,
    tag: Text = None,
    agent_id: AgentId = None,
    visibility: Visibility = None,
    fmt: Format = None,
) -> Response[AgentsReport | str]:
    period, filters = _query(
        deps,
        **{
            "from": from_,
            "to": to,
            "channel": channel,
            "tag": tag,
            "agent": agent_id,
            "visibility": visibility,
        },
    )
    config = deps.config()
    report, csv = _run(
        request, deps, fmt, lambda d: agents_for(d.store, config, period, filters, business_calendar(config))
    )
    return _answer(report, AgentsReport, csv, "items", _ordered(["agent", "name", "teams"]))


@router.get(
    "/reports/teams",
    summary="Per-team figures (the union of the members' actions), as the agents report",
    description=_RANGE + " A team is its members as the configuration lists them; agents in no team "
    "form `(none)`.",
    tags=TAGS,
    responses=csv_responses(TeamsReport),
)
def get_teams_report(
    request: Request,
    agent: CurrentAgent,
    deps: Deps,
    from_: From = None,
    to: To = None,
    channel: Text = None,
    tag: Text = None,
    agent_id: AgentId = None,
    visibility: Visibility = None,
    fmt: Format = None,
) -> Response[TeamsReport | str]:
    period, filters = _query(
        deps,
        **{
            "from": from_,
            "to": to,
            "channel": channel,
            "tag": tag,
            "agent": agent_id,
            "visibility": visibility,
        },
    )
    config = deps.config()
    report, csv = _run(
        request, deps, fmt, lambda d: teams_for(d.store, config, period, filters, business_calendar(config))
    )
    return _answer(report, TeamsReport, csv, "items", _ordered(["team", "name", "agents"]))


@router.get(
    "/reports/hours",
    summary="Customer messages and median first response by weekday and hour (staffing heatmap)",
    description=_RANGE + " `tz`: an IANA time zone (default: the default business-hours calendar's, "
    "else UTC); each message counts in the local weekday and hour of its platform time.",
    tags=TAGS,
    responses=csv_responses(HoursReport),
)
def get_hours_report(
    request: Request,
    agent: CurrentAgent,
    deps: Deps,
    from_: From = None,
    to: To = None,
    channel: Text = None,
    tag: Text = None,
    agent_id: AgentId = None,
    visibility: Visibility = None,
    tz: Annotated[str | None, Query(max_length=64, description="IANA time zone, e.g. Europe/Paris")] = None,
    fmt: Format = None,
) -> Response[HoursReport | str]:
    period, filters = _query(
        deps,
        **{
            "from": from_,
            "to": to,
            "channel": channel,
            "tag": tag,
            "agent": agent_id,
            "visibility": visibility,
        },
    )
    config = deps.config()
    zone = _zone(tz) if tz else default_zone(business_calendar(config))
    report, csv = _run(request, deps, fmt, lambda d: hours_for(d.store, period, zone, filters))
    return _answer(report, HoursReport, csv, "cells", list(HourCell.model_fields))


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInputError(
            f"unknown time zone {name!r}", [{"field": "query.tz", "reason": "not an IANA time zone"}]
        ) from exc
