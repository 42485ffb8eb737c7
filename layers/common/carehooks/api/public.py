"""Agent use cases on public conversations: answer a comment privately, hide or unhide a comment,
follow the link between a public thread and its private conversation.

A public reply is the ordinary reply (``POST /conversations/{id}/reply``): on a comment thread it is
posted in the thread. Hiding and unhiding are recorded on the comment and as a conversation event
(``comment_hidden`` / ``comment_unhidden``) naming the agent.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from carehooks.api.auth import Agent
from carehooks.api.conversations import conversation_out, load, message_out
from carehooks.api.deps import Services
from carehooks.api.models import ConversationOut, ModerationResult, PrivateReplyResult
from carehooks.outbound.models import SendError
from carehooks.public.moderation import ModerationError, set_comment_hidden
from carehooks.public.replies import PrivateReplyRetryError, default_comment, private_reply
from carehooks.store import ConflictError
from carehooks.store.events import ConversationEvent
from carehooks.store.public import linked_id
from carehooks.web.errors import (
    ResourceNotFoundError,
    SendNotDoneError,
    StateConflictError,
    UnavailableError,
)

MAX_ATTEMPTS = 4


def reply_privately(
    services: Services, agent: Agent, conversation_id: str, text: str, comment_id: str | None
) -> PrivateReplyResult:
    """Send the agent's text as a private reply to a comment of a public conversation.

    409 ``not_public`` (not a comment thread), ``private_reply_used`` (the comment was already answered
    privately), ``send_skipped`` (more than 7 days after the comment), ``send_refused``; 404 for an
    unknown comment; 503 when the platform cannot be reached (nothing was sent).
    """
    store = services.store
    conv = load(store, conversation_id)
    if not conv.public or not conv.thread_id:
        raise StateConflictError("private replies answer comments: this is not a public comment thread")
    if comment_id is None:
        found = default_comment(store.messages(conv), conv)
        if found is None:
            raise StateConflictError("this thread has no customer comment to answer privately")
        comment_id = found.platform_message_id
    try:
        outcome = private_reply(
            store,
            conv,
            comment_id,
            text,
            services.now(),
            author=agent.sub,
            origin_tag=f"agent:{conv.id}:{uuid.uuid4().hex}",
            deliver=services.deliver,
        )
    except (SendError, PrivateReplyRetryError) as exc:
        raise UnavailableError("the channel is not answering; nothing was sent, try again shortly") from exc
    if outcome.status == "skipped":
        if outcome.reason == "no such comment in this thread":
            raise ResourceNotFoundError(f"no comment {comment_id[:60]!r} in this conversation")
        code = "private_reply_used" if "already answered privately" in outcome.reason else "send_skipped"
        raise SendNotDoneError(outcome.reason, code)
    if outcome.status != "sent":
        raise SendNotDoneError(outcome.reason or "the channel refused the private reply", "send_refused")
    private = (
        store.get_conversation(outcome.private_conversation_id) if outcome.private_conversation_id else None
    )
    if private is None:
        raise UnavailableError("the private reply was sent but its conversation could not be read")
    sent = store.get_message(
        private.channel, private.account_id, private.contact_id, outcome.platform_message_id or ""
    )
    if sent is None:
        raise UnavailableError("the private reply was sent but could not be read back")
    public = store.get_conversation(conv.id) or conv
    return PrivateReplyResult(
        message=message_out(sent),
        conversation=conversation_out(public),
        private_conversation=conversation_out(private),
    )


def moderate(
    services: Services, agent: Agent, conversation_id: str, comment_id: str, hidden: bool
) -> ModerationResult:
    """Hide or unhide a customer's comment, and record who did it."""
    store = services.store
    conv = load(store, conversation_id)
    now = services.now()
    try:
        comment = set_comment_hidden(store, conv, comment_id, hidden, agent.sub, now)
    except ModerationError as exc:
        if exc.code == "unknown_comment":
            raise ResourceNotFoundError(f"no comment {comment_id[:60]!r} in this conversation") from exc
        raise StateConflictError(exc.reason) from exc
    except SendError as exc:
        if exc.retryable:
            raise UnavailableError("the platform is not answering; try again shortly") from exc
        raise SendNotDoneError(exc.reason, "moderation_refused") from exc
    event = ConversationEvent(
        conversation_id=conv.id,
        action="comment_hidden" if hidden else "comment_unhidden",
        at=now,
        actor=agent.sub,
        actor_email=agent.email,
        actor_name=agent.name,
        details={"comment_id": comment_id},
    )
    return ModerationResult(comment=message_out(comment), conversation=_with_event(services, conv.id, event))


def _with_event(services: Services, conversation_id: str, event: ConversationEvent) -> ConversationOut:
    """Record ``event`` on the conversation (its state unchanged), re-reading it on a concurrent write."""
    for _ in range(MAX_ATTEMPTS):
        conv = load(services.store, conversation_id)
        try:
            saved = services.store.save_with_event(replace(conv, tags=list(conv.tags)), event)
        except ConflictError:
            continue
        return conversation_out(saved)
    raise UnavailableError("the conversation kept changing; the comment was changed but not logged")


def linked(services: Services, conversation_id: str) -> ConversationOut:
    """The conversation linked to this one: a public thread's private conversation, or the other way."""
    conv = load(services.store, conversation_id)
    other = linked_id(conv)
    if other is None:
        raise ResourceNotFoundError("this conversation is not linked to another")
    return conversation_out(load(services.store, other))
