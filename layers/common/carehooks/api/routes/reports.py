"""Routes: reports (``GET /api/reports/summary``)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.request import Request
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from carehooks.api.auth import Agent, current_agent
from carehooks.api.deps import Services, services
from carehooks.api.routes.team_reports import csv_responses, wants_csv
from carehooks.reports.csv import CONTENT_TYPE as CSV
from carehooks.reports.csv import figure_rows, to_csv
from carehooks.reports.models import SummaryReport
from carehooks.reports.query import ReportQueryError, parse_summary_query
from carehooks.reports.service import business_calendar, summary_report
from carehooks.web.errors import InvalidInputError

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

Text = Annotated[str | None, Query(max_length=100)]


@router.get(
    "/reports/summary",
    summary="Summary figures: volume, first response and resolution times, SLA, CSAT, tag trends",
    description=(
        "Over every conversation created in [from, to) (a cohort), computed from stored data, never "
        "sampled. `from`/`to`: a date (a whole UTC day; `to` is included) or an ISO 8601 time with a "
        "zone (`to` excluded); default: the 7 days up to now; at most 93 days. Median and p90 "
        "interpolate linearly. Tags are compared with the previous period of the same length. "
        "`visibility` splits public (comment threads) and private conversations; the filter keeps one. "
        "`?format=csv` or `Accept: text/csv`: CSV, one `figure,value` row per figure."
    ),
    tags=["reports"],
    responses=csv_responses(SummaryReport),
)
def get_summary(
    request: Request,
    agent: Annotated[Agent, Depends(current_agent)],
    deps: Annotated[Services, Depends(services)],
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    channel: Text = None,
    tag: Text = None,
    agent_id: Annotated[str | None, Query(alias="agent", max_length=100)] = None,
    visibility: Annotated[
        str | None, Query(max_length=20, description="public (comment threads) or private")
    ] = None,
    fmt: Annotated[
        str | None,
        Query(alias="format", max_length=10, description="`csv`: one `figure,value` row per figure"),
    ] = None,
) -> Response[SummaryReport | str]:
    params = {
        "from": from_,
        "to": to,
        "channel": channel,
        "tag": tag,
        "agent": agent_id,
        "visibility": visibility,
    }
    try:
        period, filters = parse_summary_query({k: v for k, v in params.items() if v}, deps.now())
    except ReportQueryError as exc:
        raise InvalidInputError(str(exc)) from exc
    csv = wants_csv(fmt, request.headers.get("accept"))
    report = summary_report(deps.store, period, filters, business_calendar(deps.config()))
    if csv:  # CSV (issue 19): `?format=csv` or `Accept: text/csv`
        return Response(
            status_code=200, content_type=CSV, body=to_csv(figure_rows(report), ["figure", "value"])
        )
    model = SummaryReport.model_validate(report)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=model)
