"""Routes: conversations (list, read, reply, assign, tags, priority, resolve, reopen, history)."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from carehooks.api import conversations as use
from carehooks.api import saved_replies as saved
from carehooks.api.auth import Agent, current_agent
from carehooks.api.deps import Services, services
from carehooks.api.models import (
    AssignRequest,
    ChannelName,
    ConversationDetail,
    ConversationList,
    ConversationOut,
    Name,
    Priority,
    PriorityRequest,
    ReplyRequest,
    ReplyResult,
    SlaState,
    Status,
    TagName,
    TagsRequest,
    VersionedRequest,
)
from carehooks.api.routes import BODY_ERRORS, responses
from carehooks.store.queries import STATUSES, ConversationFilter

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

CurrentAgent = Annotated[Agent, Depends(current_agent)]
Deps = Annotated[Services, Depends(services)]
# An optional body: none at all, or an object. Typed without ``| None`` so the OpenAPI document says
# exactly that (a ``null`` body is refused like any body that is not an object: carehooks.api.body).
OptionalBody = Annotated[VersionedRequest, Body()]
TAGS = ["conversations"]
UNASSIGNED = "none"


@router.get(
    "/conversations",
    summary="List conversations by turn (when each last changed hands)",
    description=(
        "Filters combine (AND). Without `status`, open, pending and resolved conversations are merged. "
        "`assignee`: an agent's sub, `me`, or `none` (unassigned). Pages may be shorter than `limit` "
        "when a rare filter is read through; follow `next` until it is null."
    ),
    tags=TAGS,
    responses=responses(400),
)
def list_conversations(
    agent: CurrentAgent,
    deps: Deps,
    status: Annotated[Status | None, Query(description="open, pending or resolved (default: all)")] = None,
    channel: Annotated[ChannelName | None, Query()] = None,
    tag: Annotated[TagName | None, Query()] = None,
    assignee: Annotated[Name | None, Query(description="an agent's sub, `me` or `none`")] = None,
    priority: Annotated[Priority | None, Query()] = None,
    sla: Annotated[SlaState | None, Query(description="SLA state as the monitor last saw it")] = None,
    order: Annotated[Literal["desc", "asc"], Query(description="desc: most recent activity first")] = "desc",
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=1024, description="`next` of the previous page")] = None,
) -> ConversationList:
    who = agent.sub if assignee == use.ME else assignee
    flt = ConversationFilter(
        statuses=(status,) if status else STATUSES,
        channel=channel,
        tag=tag,
        assignee=None if who == UNASSIGNED else who,
        unassigned=who == UNASSIGNED,
        priority=priority,
        sla_state=sla,
    )
    return use.list_page(deps, flt, limit, cursor, order)


@router.get(
    "/conversations/<conversation_id>",
    summary="One conversation with its messages, events, SLA and survey state",
    tags=TAGS,
    responses=responses(404),
)
def get_conversation(conversation_id: str, agent: CurrentAgent, deps: Deps) -> ConversationDetail:
    return use.detail(deps, conversation_id)


@router.get(
    "/conversations/<conversation_id>/history",
    summary="The customer's other conversations on this channel and account, newest first",
    tags=TAGS,
    responses=responses(404),
)
def get_history(conversation_id: str, agent: CurrentAgent, deps: Deps) -> ConversationList:
    return use.history(deps, conversation_id)


@router.post(
    "/conversations/<conversation_id>/reply",
    summary="Reply to the customer on the conversation's channel",
    description=(
        "Sends through the channel (window-aware); on a public comment thread the reply is posted in the "
        "thread, for everyone to read (answer privately with `/private-reply`). "
        "409 `send_skipped`: outside the channel's messaging "
        "window; 409 `send_refused`: the platform refused; 503: the platform is unreachable (nothing was "
        "sent). The first reply sets `first_response_at` and `first_responder`. "
        "`attachments` (https URLs the platform fetches) go with or without text where the channel can "
        "carry them (not on X, SMS-only routes or public comment threads: 422 with the reason); a URL "
        "pointing at a private, loopback or link-local address, or whose host does not resolve, is a 422. "
        "A reply may go out as several platform messages (`messages`); 409 `send_partial` when some went "
        "out and a later one failed (see docs/attachments.md). "
        "With `saved_reply_id` (instead of `text`): the saved reply, its placeholders filled with the "
        "contact's name, the agent's name, the contact's attributes and `variables` (422 naming any "
        "left unfilled; 404 when there is no such saved reply); the message records `saved_reply_id` and "
        "the reply's use is counted."
    ),
    tags=TAGS,
    status_code=201,
    responses=responses(*BODY_ERRORS, 404, 409, 503, ok=201, description="sent and stored"),
)
def post_reply(conversation_id: str, body: ReplyRequest, agent: CurrentAgent, deps: Deps) -> ReplyResult:
    if body.saved_reply_id is not None:
        return saved.reply_with(deps, agent, conversation_id, body.saved_reply_id, body.variables)
    return use.reply(deps, agent, conversation_id, body.text or "", body.attachments)


@router.post(
    "/conversations/<conversation_id>/assign",
    summary="Assign to an agent (`me`: the caller)",
    tags=TAGS,
    responses=responses(*BODY_ERRORS, 404, 409),
)
def post_assign(
    conversation_id: str, body: AssignRequest, agent: CurrentAgent, deps: Deps
) -> ConversationOut:
    assignee = agent.sub if body.assignee == use.ME else body.assignee
    return use.change(deps, agent, conversation_id, body.version, "assigned", use.assign_to(assignee, agent))


@router.post(
    "/conversations/<conversation_id>/unassign",
    summary="Remove the assignee",
    tags=TAGS,
    responses=responses(*BODY_ERRORS, 404, 409),
)
def post_unassign(
    conversation_id: str,
    agent: CurrentAgent,
    deps: Deps,
    body: OptionalBody = None,  # type: ignore[assignment]
) -> ConversationOut:
    return use.change(deps, agent, conversation_id, _version(body), "unassigned", use.unassign)


@router.post(
    "/conversations/<conversation_id>/tags",
    summary="Add and remove tags",
    tags=TAGS,
    responses=responses(*BODY_ERRORS, 404, 409),
)
def post_tags(conversation_id: str, body: TagsRequest, agent: CurrentAgent, deps: Deps) -> ConversationOut:
    return use.change(deps, agent, conversation_id, body.version, "tagged", use.retag(body.add, body.remove))


@router.post(
    "/conversations/<conversation_id>/priority",
    summary="Set the priority",
    tags=TAGS,
    responses=responses(*BODY_ERRORS, 404, 409),
)
def post_priority(
    conversation_id: str, body: PriorityRequest, agent: CurrentAgent, deps: Deps
) -> ConversationOut:
    return use.change(
        deps, agent, conversation_id, body.version, "priority_set", use.prioritise(body.priority)
    )


@router.post(
    "/conversations/<conversation_id>/resolve",
    summary="Resolve (409 if it is already resolved)",
    description="Resolving starts the CSAT survey delay when the survey settings apply.",
    tags=TAGS,
    responses=responses(*BODY_ERRORS, 404, 409),
)
def post_resolve(
    conversation_id: str,
    agent: CurrentAgent,
    deps: Deps,
    body: OptionalBody = None,  # type: ignore[assignment]
) -> ConversationOut:
    return use.change(deps, agent, conversation_id, _version(body), "resolved", use.resolver(agent))


@router.post(
    "/conversations/<conversation_id>/reopen",
    summary="Reopen a resolved conversation (409 if it is not resolved)",
    tags=TAGS,
    responses=responses(*BODY_ERRORS, 404, 409),
)
def post_reopen(
    conversation_id: str,
    agent: CurrentAgent,
    deps: Deps,
    body: OptionalBody = None,  # type: ignore[assignment]
) -> ConversationOut:
    return use.change(deps, agent, conversation_id, _version(body), "reopened", use.reopener(agent))


def _version(body: VersionedRequest | None) -> int | None:
    return body.version if body is not None else None
