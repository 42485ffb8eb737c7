"""Routes: the rules dry run (``POST /api/rules/test``), the same answer as ``carehooks rules test``."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from carehooks.api.auth import Agent, current_agent
from carehooks.api.deps import Services, services
from carehooks.api.dryrun import rules_test
from carehooks.api.models import RulesTestRequest, RulesTestResult
from carehooks.api.routes import BODY_ERRORS, responses

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]


@router.post(
    "/rules/test",
    summary="Dry-run the rules on a message: matched rules, tags, priority, assignment, acknowledgement",
    description="No side effects: nothing is stored or sent.",
    tags=["rules"],
    responses=responses(*BODY_ERRORS),
)
def post_rules_test(
    body: RulesTestRequest,
    agent: Annotated[Agent, Depends(current_agent)],
    deps: Annotated[Services, Depends(services)],
) -> RulesTestResult:
    return RulesTestResult.model_validate(rules_test(deps, body))
