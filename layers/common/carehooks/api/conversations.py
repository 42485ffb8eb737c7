"""Agent use cases on conversations: list, read, reply, assign, tag, prioritise, resolve, reopen, history.

Each change re-reads the conversation, decides on its current state, and writes the change together with
an event naming the agent (:func:`carehooks.store.events.save_with_event`). When the agent sent the
``version`` they read, a conversation that moved on is a 409; without one, a concurrent write (a new
customer message, say) is retried from a fresh read, so adding a tag to a busy conversation just works.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from carehooks.api.auth import Agent
from carehooks.api.deps import Services
from carehooks.api.media import ReplyAttachment, attachment_out, checked_attachments
from carehooks.api.models import (
    MAX_TAGS_PER_CONVERSATION,
    ConversationDetail,
    ConversationList,
    ConversationOut,
    Csat,
    EventOut,
    MessageOut,
    ReplyResult,
)
from carehooks.channels.twilio.ingress import address
from carehooks.clock import iso
from carehooks.domain.conversations import started_at
from carehooks.domain.models import Channel, Conversation, Direction, Message
from carehooks.outbound.models import OutboundMessage, SendError, SendResult
from carehooks.store import ConflictError, Store
from carehooks.store.events import ConversationEvent
from carehooks.store.public import linked_id
from carehooks.store.queries import ConversationFilter, Order
from carehooks.store.rules import DECISION_ATTRIBUTE
from carehooks.surveys.policy import survey_overview
from carehooks.web.errors import (
    InvalidInputError,
    ResourceNotFoundError,
    SendNotDoneError,
    StateConflictError,
    UnavailableError,
    VersionConflictError,
)

MAX_ATTEMPTS = 4
HISTORY_LIMIT = 50
ME = "me"
SLA_ATTR = "sla"
# Conversation ids are ULIDs: anything else cannot exist, and is never sent to the table.
_CONVERSATION_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


@dataclass(frozen=True)
class Change:
    """What a decision did: the changed conversation and the event details to record."""

    conversation: Conversation
    details: dict[str, Any] = field(default_factory=dict)


Decide = Callable[[Conversation, datetime], Change | None]


# -- reading ----------------------------------------------------------------------------------------
def load(store: Store, conversation_id: str) -> Conversation:
    """The conversation, or 404."""
    conv = store.get_conversation(conversation_id) if _CONVERSATION_ID.match(conversation_id) else None
    if conv is None:
        raise ResourceNotFoundError(f"no conversation {conversation_id[:40]!r}")
    return conv


def list_page(
    services: Services, flt: ConversationFilter, limit: int, cursor: str | None, order: Order
) -> ConversationList:
    page = services.store.list_conversations(flt, limit=limit, cursor=cursor, order=order)
    return ConversationList(items=[conversation_out(c) for c in page.items], next=page.next)


def detail(services: Services, conversation_id: str) -> ConversationDetail:
    conv = load(services.store, conversation_id)
    messages = services.store.messages(conv)
    events = services.store.conversation_events(conv)
    return ConversationDetail(
        **conversation_out(conv).model_dump(),
        messages=[message_out(m) for m in messages],
        events=[
            EventOut(
                action=e.action,
                at=iso(e.at),
                actor=e.actor,
                actor_email=e.actor_email,
                actor_name=e.actor_name,
                details=e.details,
            )
            for e in events
        ],
        sla=_dict_or_none(conv.extra.get(SLA_ATTR)),
        survey=survey_overview(conv),
    )


def history(services: Services, conversation_id: str) -> ConversationList:
    """The customer's other conversations on this channel and account, newest first."""
    conv = load(services.store, conversation_id)
    others = services.store.contact_conversations(
        conv.channel, conv.account_id, conv.contact_id, limit=HISTORY_LIMIT + 1
    )
    return ConversationList(
        items=[conversation_out(c) for c in others if c.id != conv.id][:HISTORY_LIMIT], next=None
    )


def contact_history(services: Services, channel: str, account_id: str, contact_id: str) -> ConversationList:
    """A customer's conversations on one channel and account, newest first.

    Twilio WhatsApp ids are stored bare (``+14155238886``); the addresses as Twilio writes them
    (``whatsapp:+14155238886``) name the same number.
    """
    if channel == Channel.TWILIO_WHATSAPP:
        account_id, contact_id = _bare(account_id), _bare(contact_id)
    found = services.store.contact_conversations(channel, account_id, contact_id, limit=HISTORY_LIMIT)
    return ConversationList(items=[conversation_out(c) for c in found], next=None)


def _bare(whatsapp_address: str) -> str:
    scheme, bare = address(whatsapp_address)
    return bare if scheme == "whatsapp" else whatsapp_address


# -- replying ---------------------------------------------------------------------------------------
def reply(
    services: Services,
    agent: Agent,
    conversation_id: str,
    text: str,
    attachments: list[ReplyAttachment] | None = None,
    *,
    attributes: Mapping[str, str] | None = None,
) -> ReplyResult:
    """Send the agent's text and attachments to the customer through the channel (window-aware); store it.

    The store records the first response time and the responder (the agent's ``sub``) when the message is
    stored. Nothing is retried here: a send that may have gone out is never sent twice. Attachments the
    conversation cannot carry are a 422 before anything is sent (:mod:`carehooks.api.media`).
    ``attributes`` are recorded on the stored message (e.g. ``saved_reply_id``).
    """
    store = services.store
    conv = load(store, conversation_id)
    media = checked_attachments(conv, attachments or [], services.resolve)
    now = services.now()
    message = OutboundMessage(
        kind="agent_reply",
        author=agent.sub,
        text=text,
        origin_tag=f"agent:{conv.id}:{uuid.uuid4().hex}",
        attachments=media,
        attributes=dict(attributes or {}),
    )
    try:
        result = services.deliver(conv, message, store, now)
    except SendError as exc:
        result = SendResult(
            status="failed", reason=exc.reason, error_class=exc.error_class, retryable=exc.retryable
        )
    if result.status != "sent" and result.part_ids:
        raise SendNotDoneError(_reason(result, "only part of the reply went out"), "send_partial")
    if result.status == "skipped":
        raise SendNotDoneError(_reason(result, "the channel does not allow this message now"), "send_skipped")
    if result.status != "sent":
        if result.retryable:
            raise UnavailableError(_reason(result, "the channel is not answering; try again shortly"))
        raise SendNotDoneError(_reason(result, "the channel refused the message"), "send_refused")
    platform_ids = result.part_ids or (result.platform_message_id or "",)
    sent = [_sent_message(store, conv, platform_id, message, now) for platform_id in platform_ids]
    current = store.get_conversation(conv.id) or conv
    return ReplyResult(
        message=message_out(sent[0]),
        conversation=conversation_out(current),
        details={k: str(v) for k, v in result.details.items()},
        messages=[message_out(m) for m in sent],
    )


def _sent_message(
    store: Store, conv: Conversation, platform_id: str, message: OutboundMessage, now: datetime
) -> Message:
    """The stored outbound message with this platform id (or, when it was not stored, as it was sent)."""
    stored = (
        store.get_message(conv.channel, conv.account_id, conv.contact_id, platform_id, conv.thread_id)
        if platform_id
        else None
    )
    return stored or Message(
        conversation_id=conv.id,
        channel=conv.channel,
        account_id=conv.account_id,
        contact_id=conv.contact_id,
        platform_message_id=platform_id,
        direction=Direction.OUT,
        sent_at=now,
        text=message.text,
        kind=message.kind,
        author=message.author,
        status="sent",
        extra=dict(message.attributes),
    )


def _reason(result: SendResult, default: str) -> str:
    return result.reason or default


# -- changing ---------------------------------------------------------------------------------------
def change(
    services: Services,
    agent: Agent,
    conversation_id: str,
    version: int | None,
    action: str,
    decide: Decide,
) -> ConversationOut:
    """Apply ``decide`` to the current conversation and record it as ``action`` by ``agent``.

    ``decide`` returns None when there is nothing to change (the answer is the conversation as it is, and
    no event is written), or raises :class:`StateConflictError` when the change does not fit the state.
    """
    store = services.store
    for _ in range(MAX_ATTEMPTS):
        conv = load(store, conversation_id)
        if version is not None and conv.version != version:
            raise VersionConflictError(
                f"the conversation is at version {conv.version}, not {version}: read it again"
            )
        now = services.now()
        decided = decide(conv, now)
        if decided is None:
            return conversation_out(conv)
        event = ConversationEvent(
            conversation_id=conv.id,
            action=action,
            at=now,
            actor=agent.sub,
            actor_email=agent.email,
            actor_name=agent.name,
            details=decided.details,
        )
        try:
            return conversation_out(store.save_with_event(decided.conversation, event))
        except ConflictError as exc:
            if version is not None:
                raise VersionConflictError("the conversation changed meanwhile: read it again") from exc
    raise VersionConflictError("the conversation kept changing; try again")


def assign_to(assignee: str, agent: Agent) -> Decide:
    target = agent.sub if assignee == ME else assignee

    def decide(conv: Conversation, now: datetime) -> Change | None:
        if conv.assignee == target:
            return None
        return Change(replace(conv, assignee=target), {"from": conv.assignee, "to": target})

    return decide


def unassign(conv: Conversation, now: datetime) -> Change | None:
    if conv.assignee is None:
        return None
    return Change(replace(conv, assignee=None), {"from": conv.assignee})


def retag(add: list[str], remove: list[str]) -> Decide:
    def decide(conv: Conversation, now: datetime) -> Change | None:
        added = [t for t in dict.fromkeys(add) if t not in conv.tags]
        removed = [t for t in dict.fromkeys(remove) if t in conv.tags]
        if not added and not removed:
            return None
        tags = [t for t in conv.tags if t not in removed] + added
        if len(tags) > MAX_TAGS_PER_CONVERSATION:
            raise InvalidInputError(
                f"a conversation has at most {MAX_TAGS_PER_CONVERSATION} tags",
                [{"field": "body.add", "reason": f"would make {len(tags)} tags"}],
            )
        return Change(replace(conv, tags=tags), {"added": added, "removed": removed})

    return decide


def prioritise(priority: str) -> Decide:
    def decide(conv: Conversation, now: datetime) -> Change | None:
        if conv.priority == priority:
            return None
        return Change(replace(conv, priority=priority), {"from": conv.priority, "to": priority})

    return decide


def resolver(agent: Agent) -> Decide:
    def decide(conv: Conversation, now: datetime) -> Change | None:
        if conv.status == "resolved":
            raise StateConflictError("the conversation is already resolved")
        extra = {**conv.extra, "resolved_by": agent.sub}
        resolved = replace(conv, status="resolved", resolved_at=now, tags=list(conv.tags), extra=extra)
        return Change(resolved, {"from": conv.status})

    return decide


def reopener(agent: Agent) -> Decide:
    def decide(conv: Conversation, now: datetime) -> Change | None:
        if conv.status != "resolved":
            raise StateConflictError(f"the conversation is {conv.status}, not resolved")
        extra = {**conv.extra, "reopened_at": iso(now), "reopened_by": agent.sub}
        extra.pop("resolved_by", None)
        reopened = replace(conv, status="open", resolved_at=None, tags=list(conv.tags), extra=extra)
        return Change(reopened, {})

    return decide


# -- resources --------------------------------------------------------------------------------------
def conversation_out(conv: Conversation) -> ConversationOut:
    """The conversation resource of design §3 (plus what an agent's tool needs to act on it)."""
    return ConversationOut(
        id=conv.id,
        channel=str(conv.channel),
        account_id=conv.account_id,
        contact_id=conv.contact_id,
        contact_name=conv.contact_name,
        status=conv.status,
        tags=list(conv.tags),
        priority=conv.priority,
        assignee=conv.assignee,
        created_at=iso(conv.created_at),
        last_activity_at=_iso(conv.last_activity_at),
        first_response_at=_iso(conv.first_response_at),
        first_responder=conv.first_responder,
        first_response_seconds=first_response_seconds(conv),
        last_responder=conv.last_responder,
        resolved_at=_iso(conv.resolved_at),
        message_count=conv.message_count,
        preview=conv.preview,
        sla_state=conv.sla_state,
        csat=_csat(conv.csat),
        version=conv.version,
        public=conv.public,
        linked_conversation_id=linked_id(conv),
        thread_id=conv.thread_id,
        post_id=_str_or_none(conv.extra.get("post_id")),
        permalink=_str_or_none(conv.extra.get("permalink")),
    )


def message_out(message: Message) -> MessageOut:
    return MessageOut(
        id=message.platform_message_id,
        direction="in" if message.direction is Direction.IN else "out",
        text=message.text,
        platform_message_id=message.platform_message_id,
        sent_at=iso(message.sent_at),
        kind=message.kind,
        author=message.author,
        status=message.status,
        attachments=[attachment_out(a) for a in message.attachments if isinstance(a, dict)],
        decisions=_dict_or_none(message.extra.get(DECISION_ATTRIBUTE)),
        hidden=bool(message.extra.get("hidden")),
        hidden_by=_str_or_none(message.extra.get("hidden_by")),
        deleted=bool(message.extra.get("deleted")),
        edits=[dict(e) for e in message.extra.get("edits") or [] if isinstance(e, dict)],
        saved_reply_id=_str_or_none(message.extra.get("saved_reply_id")),
    )


def first_response_seconds(conv: Conversation) -> float | None:
    """From the customer's first message to a person's first reply (None until there is one)."""
    if conv.first_response_at is None:
        return None

    seconds = (conv.first_response_at - started_at(conv)).total_seconds()
    return round(seconds, 3) if seconds >= 0 else None


def _csat(value: Any) -> Csat | None:
    if not isinstance(value, dict):
        return None
    score = value.get("score")
    comment = value.get("comment")
    return Csat(
        score=score if isinstance(score, int) else None, comment=comment if isinstance(comment, str) else None
    )


def _str_or_none(value: Any) -> str | None:
    return str(value) if value else None


def _dict_or_none(value: Any) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, dict) else None


def _iso(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None
