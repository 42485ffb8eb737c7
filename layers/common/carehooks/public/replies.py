"""Private replies: a direct message to the author of a comment, once per comment, within 7 days of it.

Good practice in public care is to answer publicly first, then take the details to a private message.
Meta allows one private reply per comment (Messenger and Instagram "private replies"), so the reply is
claimed first (``private-reply#<comment id>``, see :mod:`carehooks.store.keys`): a rule and an agent,
or a redelivered record, never send two. Sending goes through :func:`carehooks.delivery.send.deliver`
(which checks the 7 days and stores the reply in the author's private conversation, linked both ways
with the public one).

A retryable failure gives the claim back and raises, so the caller retries; a skip (too old: nothing was
sent) gives it back too; a permanent refusal keeps it, marked with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from carehooks.clock import iso
from carehooks.delivery.send import deliver
from carehooks.domain.models import Conversation, Direction, Message
from carehooks.outbound.models import OutboundMessage, SendError, SendResult
from carehooks.store import keys

if TYPE_CHECKING:
    from carehooks.store import Store

# Meta's limit is 7 days from the comment; the claim outlives it so a late retry still finds it.
PRIVATE_REPLY_CLAIM_TTL = timedelta(days=8)

Deliver = Callable[[Conversation, OutboundMessage, "Store", datetime], SendResult]
ReplyStatus = Literal["sent", "skipped", "failed"]


@dataclass(frozen=True)
class PrivateReplyOutcome:
    """What happened to one private reply (``reason`` is readable)."""

    status: ReplyStatus
    reason: str = ""
    comment_id: str | None = None
    platform_message_id: str | None = None
    private_conversation_id: str | None = None
    error_class: str | None = None
    text: str | None = None

    def as_record(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None and v != ""}


class PrivateReplyRetryError(RuntimeError):
    """A private reply failed in a way worth retrying: the claim was given back."""


def default_comment(messages: list[Message], conv: Conversation) -> Message | None:
    """The comment a private reply answers when none is named: the thread's own, else the latest one
    from a customer."""
    inbound = [m for m in messages if m.direction is Direction.IN and not m.extra.get("deleted")]
    root = next((m for m in inbound if m.platform_message_id == conv.thread_id), None)
    return root or (inbound[-1] if inbound else None)


def _default_deliver() -> Deliver:

    return deliver


def skip_reason(conv: Conversation, found: Message | None) -> str | None:
    """Why no private reply may answer this comment of this conversation, or None (pure)."""
    if not conv.public or not conv.thread_id:
        return "private replies answer comments: this is not a public comment thread"
    if found is None:
        return "no such comment in this thread"
    if found.direction is not Direction.IN:
        return "the comment is the business's own"
    if found.extra.get("deleted"):
        return "the comment was removed"
    return None


def private_reply(
    store: Store,
    conv: Conversation,
    comment_id: str,
    text: str,
    now: datetime,
    *,
    author: str = "carehooks",
    origin_tag: str | None = None,
    deliver: Deliver | None = None,
) -> PrivateReplyOutcome:
    """Send ``text`` privately to the author of ``comment_id`` (a comment of ``conv``), at most once.

    Raises :class:`PrivateReplyRetryError` (or the retryable :class:`SendError`) after giving the claim
    back when retrying can help.
    """
    found = (
        store.comment(conv.channel, conv.account_id, conv.thread_id or "", comment_id)
        if conv.thread_id
        else None
    )
    reason = skip_reason(conv, found)
    if reason is not None:
        return PrivateReplyOutcome(status="skipped", reason=reason, comment_id=comment_id)
    if not store.claim(
        keys.PRIVATE_REPLY_CLAIM_KIND, comment_id, now, PRIVATE_REPLY_CLAIM_TTL, owner=conv.id
    ):
        return PrivateReplyOutcome(
            status="skipped",
            reason="this comment was already answered privately (Meta allows one private reply per comment)",
            comment_id=comment_id,
        )
    message = OutboundMessage(
        text=text, kind="private_reply", author=author, reply_to=comment_id, origin_tag=origin_tag
    )
    send = deliver or _default_deliver()
    try:
        result = send(conv, message, store, now)
    except SendError as exc:
        if exc.retryable:
            store.release_claim(keys.PRIVATE_REPLY_CLAIM_KIND, comment_id)
            raise
        result = SendResult(status="failed", reason=exc.reason, error_class=exc.error_class)
    except BaseException:
        store.release_claim(keys.PRIVATE_REPLY_CLAIM_KIND, comment_id)
        raise
    return _settle(store, comment_id, text, result, now)


def _settle(
    store: Store, comment_id: str, text: str, result: SendResult, now: datetime
) -> PrivateReplyOutcome:
    kind = keys.PRIVATE_REPLY_CLAIM_KIND
    if result.status == "sent":
        private_id = result.details.get("private_conversation_id")
        store.mark_claim(
            kind,
            comment_id,
            outcome="sent",
            platform_message_id=result.platform_message_id or "",
            private_conversation_id=private_id or "",
            at=iso(now),
        )
        return PrivateReplyOutcome(
            status="sent",
            comment_id=comment_id,
            platform_message_id=result.platform_message_id,
            private_conversation_id=private_id,
            text=text,
        )
    if result.retryable:
        store.release_claim(kind, comment_id)
        raise PrivateReplyRetryError(result.reason or "the private reply could not be sent; retrying")
    if result.status == "skipped":
        # Nothing went out (the 7 days are over): the claim is not spent.
        store.release_claim(kind, comment_id)
    else:
        store.mark_claim(kind, comment_id, outcome=result.status, reason=result.reason or "", at=iso(now))
    return PrivateReplyOutcome(
        status=result.status,
        reason=result.reason or result.status,
        comment_id=comment_id,
        error_class=result.error_class,
        text=text,
    )
