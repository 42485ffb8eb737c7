"""Routes: reports (``GET /api/reports/summary``)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from carehooks.api.auth import Agent, current_agent
from carehooks.api.deps import Services, services
from carehooks.api.routes import responses
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
        "`visibility` splits public (comment threads) and private conversations; the filter keeps one."
    ),
    tags=["reports"],
    responses=responses(),
)
def get_summary(
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
) -> SummaryReport:
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
    report = summary_report(deps.store, period, filters, business_calendar(deps.config()))
    return SummaryReport.model_validate(report)
