"""Deliver one outbound message: window check → the channel's client → store what was sent.

Every caller (acknowledgement, rule reply, agent reply, survey) sends through :func:`deliver`, so
every send asks the channel's window first, carries an origin tag the platform echoes back, and is
stored as an outbound message keyed by the platform's own id. Its echo (Messenger, Instagram, X DMs
and replies) then dedupes against it, and status webhooks (WhatsApp, Twilio) update it.

Public comment threads (Messenger, Instagram): every send is a public reply in the thread (on its
top-level comment), except ``private_reply``, a direct message to a comment's author (``reply_to``: the
comment id; within 7 days of it). The private reply is stored in the author's private conversation,
opened or joined then, and linked both ways with the public one (``carehooks.store.public``).

Attachments: a message whose attachments the channel cannot carry is refused (``failed``, nothing
sent); one the channel carries in several platform messages (:func:`carehooks.outbound.media.split`:
Messenger sends the text and each attachment on their own) goes out part by part, each stored as its
own outbound message with its attachments, under the one window decision; the result lists every
part's id (``SendResult.part_ids``). A part that fails stops the rest (see :func:`_deliver_parts`).

What ``deliver`` does not do: claim the side effect. Callers that must send at most once (the
acknowledgement, the survey) claim first (``Store.claim``) and release the claim when the result is
``retryable``. ``deliver`` never raises for a platform refusal: it returns a ``failed`` or ``skipped``
:class:`SendResult` with a readable reason, logs it, and writes it to the conversation's send log.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from carehooks.channels import registry
from carehooks.channels.traits import traits_for
from carehooks.channels.window import decide
from carehooks.domain.models import Conversation, Direction, Message
from carehooks.observability import logger, metrics
from carehooks.outbound.client import ChannelClient, SendPlan
from carehooks.outbound.media import refusal, split
from carehooks.outbound.models import (
    AuthConfigError,
    OutboundMessage,
    OutsideWindowError,
    PermanentError,
    SendError,
    SendResult,
)
from carehooks.store import Store
from carehooks.store.sends import SendAttempt

# Kinds that must never go out as a public post (X): a survey link or a private answer.
_NEVER_A_POST = ("private_reply", "survey")


def origin_tag(conv: Conversation, message: OutboundMessage) -> str:
    """The marker an echo carries back: ``<kind>:<conversation id>`` unless the caller chose one."""
    return message.origin_tag or f"{message.kind}:{conv.id}"


def deliver(  # noqa: PLR0911 - one answer per outcome
    conv: Conversation,
    message: OutboundMessage,
    store: Store,
    now: datetime,
    client: ChannelClient | None = None,
) -> SendResult:
    """Send ``message`` to the customer of ``conv`` if the channel allows it now; see the module doc."""
    decision = decide(
        conv.channel,
        conv.last_inbound_at,
        message,
        now,
        public=conv.public,
        comment_at=_comment_time(conv, message, store),
    )
    if not decision.allowed:
        result = SendResult(
            status="skipped",
            reason=decision.reason,
            error_class=OutsideWindowError.error_class,
            details={"source": "window"},
        )
        return _not_sent(conv, message, store, now, result)
    if decision.mode == "template" and message.template is not None:
        empty = [str(i) for i, value in enumerate(message.template.parameters, start=1) if not value.strip()]
        if empty:
            # Platforms refuse a template with an empty variable (Twilio error 21656): never send one.
            result = SendResult(
                status="skipped",
                reason=(
                    f"the template {message.template.name} would go out with its variable "
                    f"{' and '.join(empty)} empty, which the platform refuses (Twilio error 21656)"
                ),
                error_class=PermanentError.error_class,
                details={"source": "template"},
            )
            return _not_sent(conv, message, store, now, result)
    tagged = replace(message, origin_tag=origin_tag(conv, message))
    traits = traits_for(conv.channel)
    cannot = refusal(
        traits, message.attachments, business=conv.account_id, customer=conv.contact_id, public=conv.public
    )
    if cannot:
        # The agent API refuses these with a 422 first; this keeps every other caller honest.
        result = SendResult(
            status="failed",
            reason=cannot,
            error_class=PermanentError.error_class,
            details={"source": "media"},
        )
        return _not_sent(conv, message, store, now, result)
    parts = split(tagged, traits)
    try:
        plan = SendPlan(mode=decision.mode, public_reply_to=_public_reply_target(conv, tagged, store))
        if client is None:
            client = registry.client_for(conv.channel)
        if len(parts) > 1:
            return _deliver_parts(conv, parts, plan, client, store, now)
        result = client.send(conv, parts[0], plan)
    except OutsideWindowError as exc:
        # The platform's clock disagreed with ours: nothing went out and retrying cannot help.
        result = _from_error(exc, status="skipped")
        return _not_sent(conv, message, store, now, result)
    except SendError as exc:
        return _not_sent(conv, message, store, now, _from_error(exc, status="failed"))
    return _sent(conv, parts[0], plan, result, store, now)


def _deliver_parts(
    conv: Conversation,
    parts: tuple[OutboundMessage, ...],
    plan: SendPlan,
    client: ChannelClient,
    store: Store,
    now: datetime,
) -> SendResult:
    """Send a message that goes out as several platform messages (:func:`split`), in order.

    Each part is stored as its own outbound message (with its attachments), as the platform's echoes and
    statuses name each one. The window was decided once for the whole message. When a part fails, the
    parts after it are not sent: the result is that failure, its ``part_ids`` the parts that went out.
    """
    sent: list[SendResult] = []
    for index, part in enumerate(parts):
        try:
            result = client.send(conv, part, plan)
        except SendError as exc:
            status = "skipped" if isinstance(exc, OutsideWindowError) and not sent else "failed"
            failure = _from_error(exc, status=status)
            if sent:
                failure = replace(
                    failure,
                    reason=(
                        f"{failure.reason} (part {index + 1} of {len(parts)}; the first {len(sent)} "
                        "went out and are in the conversation)"
                    ),
                    # Retrying the whole message would send the parts that went out a second time.
                    retryable=False,
                    part_ids=tuple(r.platform_message_id or "" for r in sent),
                    details={**failure.details, "parts": str(len(parts)), "parts_sent": str(len(sent))},
                )
            return _not_sent(conv, part, store, now, failure)
        sent.append(_sent(conv, part, plan, result, store, now))
    details: dict[str, str] = {}
    for result in sent:
        details.update(result.details)
    details["parts"] = str(len(parts))
    return replace(sent[0], details=details, part_ids=tuple(r.platform_message_id or "" for r in sent))


def _comment_time(conv: Conversation, message: OutboundMessage, store: Store) -> datetime | None:
    """When the comment a private reply answers was written (its window is 7 days from then)."""
    if not (conv.public and message.kind == "private_reply" and message.reply_to and conv.thread_id):
        return None
    found = store.comment(conv.channel, conv.account_id, conv.thread_id, message.reply_to)
    return found.sent_at if found is not None else None


def _public_reply_target(conv: Conversation, message: OutboundMessage, store: Store) -> str | None:
    """The post or comment a public reply answers.

    A Meta comment thread is always answered on its top-level comment (Instagram accepts replies only
    there, and Facebook shows them in the thread). On X: the customer's latest post, when there is one.
    """
    traits = traits_for(conv.channel)
    replies = traits.public_replies
    if conv.public and replies == "comment_thread":
        if message.kind == "private_reply":
            return None
        if not conv.thread_id:
            raise PermanentError("this public conversation has no comment thread to answer in")
        return conv.thread_id
    if replies != "latest_post" or message.kind in _NEVER_A_POST:
        return None
    if message.kind == "public_reply" and message.reply_to:
        return message.reply_to
    inbound = [m for m in store.messages(conv) if m.direction is Direction.IN]
    latest = inbound[-1] if inbound else None
    if latest is not None and latest.kind == traits.post_kind:
        return latest.platform_message_id
    if message.kind == "public_reply":
        raise PermanentError("a public reply needs a post from the customer to answer, and there is none")
    return None


def _from_error(exc: SendError, status: str) -> SendResult:
    details: dict[str, str] = {}
    if exc.platform_code:
        details["platform_code"] = exc.platform_code
    if exc.retry_after is not None:
        details["retry_after"] = f"{exc.retry_after:.0f}"
    return SendResult(
        status="skipped" if status == "skipped" else "failed",
        reason=exc.reason,
        error_class=exc.error_class,
        retryable=exc.retryable,
        details=details,
    )


def _not_sent(
    conv: Conversation, message: OutboundMessage, store: Store, now: datetime, result: SendResult
) -> SendResult:
    # Not the reason: it can quote the platform's error message, which may echo the text or a token.
    # The send log (below) keeps it for the agent API; the log line names the error by class and code.
    extra = {
        "channel": conv.channel,
        "conversation_id": conv.id,
        "send_kind": message.kind,
        "status": result.status,
        "error_class": result.error_class,
        "platform_code": result.details.get("platform_code"),
        "retryable": result.retryable,
    }
    if result.error_class == AuthConfigError.error_class:
        # A token or configuration problem stops every send on the channel: operations must act.
        logger.error("send failed: platform credentials or configuration", extra=extra)
        metrics.add_metric(name="SendAuthConfigErrors", unit="Count", value=1)
    else:
        logger.warning(f"send {result.status}", extra=extra)
    metrics.add_metric(
        name="SendsSkipped" if result.status == "skipped" else "SendsFailed", unit="Count", value=1
    )
    try:
        store.record_attempt(
            SendAttempt(
                conversation_id=conv.id,
                at=now,
                kind=message.kind,
                author=message.author,
                status=result.status,
                reason=result.reason or "",
                error_class=result.error_class,
                retryable=result.retryable,
                details=dict(result.details),
            ),
        )
    except Exception:  # the log is secondary: never let it hide the send's outcome
        logger.exception("could not write the send log", extra={"conversation_id": conv.id})
    return result


def _sent(
    conv: Conversation,
    message: OutboundMessage,
    plan: SendPlan,
    result: SendResult,
    store: Store,
    now: datetime,
) -> SendResult:
    metrics.add_metric(name="MessagesSent", unit="Count", value=1)
    if result.platform_message_id is None:
        logger.error("a client reported a send without a platform id", extra={"channel": conv.channel})
        return result
    details = dict(result.details)
    public_conversation_id: str | None = None
    if conv.public and message.kind == "private_reply":
        # The direct message continues in the author's private conversation, linked to this one.
        public_conversation_id = conv.id
        try:
            conv = _private_home(conv, result, now, store)
        except Exception:
            logger.exception("private reply sent but its conversation could not be opened")
            metrics.add_metric(name="SentNotStored", unit="Count", value=1)
            return replace(result, details={**details, "stored": "false"})
        details["private_conversation_id"] = conv.id
    extra: dict[str, object] = {**message.attributes, "send_mode": plan.mode}
    if details:
        extra["send_details"] = details
    if plan.public_reply_to:
        extra["in_reply_to"] = plan.public_reply_to
    if public_conversation_id:
        extra["in_reply_to"] = message.reply_to
        extra["from_public_conversation"] = public_conversation_id
    sent = Message(
        conversation_id=conv.id,
        channel=conv.channel,
        account_id=conv.account_id,
        contact_id=conv.contact_id,
        platform_message_id=result.platform_message_id,
        direction=Direction.OUT,
        sent_at=now,
        text=message.text,
        kind=message.kind,
        attachments=[{"kind": a.type, "url": a.url} for a in message.attachments],
        origin_tag=message.origin_tag,
        author=message.author,
        status="sent",
        stored_at=now,
        thread_id=conv.thread_id,
        extra=extra,
    )
    try:
        stored = store.put_outbound_message(conv, sent)
    except Exception:
        # The customer has the message; failing now would make the caller send it again.
        logger.exception(
            "message sent but not stored",
            extra={"conversation_id": conv.id, "platform_message_id": result.platform_message_id},
        )
        metrics.add_metric(name="SentNotStored", unit="Count", value=1)
        return replace(result, details={**details, "stored": "false"})
    logger.info(
        "message sent",
        extra={
            "channel": conv.channel,
            "conversation_id": conv.id,
            "send_kind": message.kind,
            "mode": plan.mode,
            "platform_message_id": result.platform_message_id,
            "echo_stored_first": stored is None,
            # What the client adjusted (cut, counted as, SMS encoding and segments): never the text.
            "send_details": details,
        },
    )
    return replace(result, details={**details, "stored": "echo" if stored is None else "true"})


def _private_home(public: Conversation, result: SendResult, now: datetime, store: Store) -> Conversation:
    """The private conversation a sent private reply belongs to (opened or joined, and linked)."""
    recipient = result.details.get("recipient_id")
    if not recipient:
        raise PermanentError("Meta did not say who received the private reply")
    return store.open_private_conversation(public, recipient, now)
