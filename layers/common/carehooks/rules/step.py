"""The after-store step of the inbound processor: evaluate the rules, record the decision, acknowledge.

Order, each part idempotent so a retried record finishes what a failed attempt left:

1. evaluate the rules (pure) on the message, its conversation and the customer's history: before the
   message is stored (``decider``, the inbound processor's ``decide``);
2. store the decision on the message and its effects on the conversation, written with the message
   (``store.record_message``), with ``ack.status = pending`` when a rule asked for an acknowledgement (and
   ``hide`` / ``private_reply`` pending when a rule asked to hide a comment or answer it privately); a
   message stored without a decision gets it here (``store.record_decision``);
3. hide the comment, acknowledge (claim → send), send the private reply (claim → send), recording each
   outcome in the decision.

A retry that finds a decision with pending side effects does only those of step 3, with the plans
recorded in step 2 (the configuration may have changed since; the decision is not re-taken).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from carehooks.domain.conversations import ACKNOWLEDGED, Placement, StoredMessage
from carehooks.domain.models import Conversation, Direction, Message
from carehooks.observability import logger, metrics
from carehooks.outbound.models import SendError
from carehooks.public.moderation import ModerationError, Moderator, set_comment_hidden
from carehooks.public.replies import PrivateReplyOutcome, private_reply
from carehooks.rules.acknowledge import (
    ALREADY_ACKNOWLEDGED,
    AckOutcome,
    Deliver,
    acknowledge,
    draft,
    skip_reason,
)
from carehooks.rules.engine import (
    AckPlan,
    Assignment,
    Context,
    Decision,
    PrivateReplyPlan,
    evaluate,
    program_for,
)
from carehooks.store import Store
from carehooks.store.items import DECISION_ATTRIBUTE

if TYPE_CHECKING:
    from carehooks.config.document import ConfigDocument


HISTORY_LIMIT = 20


@dataclass(frozen=True)
class RulesResult:
    decision: Decision | None
    ack: AckOutcome | None
    conversation: Conversation


def rules_step(
    stored: StoredMessage,
    *,
    store: Store,
    config: ConfigDocument,
    deliver: Deliver | None = None,
    moderator: Moderator | None = None,
) -> None:
    """The inbound processor's after-store step (the composition point binds its collaborators)."""
    assert stored.outcome.message is not None
    assert stored.outcome.conversation is not None
    run_rules(
        store,
        stored.outcome.message,
        stored.outcome.conversation,
        stored.now,
        config=config,
        new_conversation=stored.outcome.new_conversation,
        reopened=stored.outcome.reopened,
        standby=stored.event.standby,
        deliver=deliver,
        moderator=moderator,
    )


def customer_history(store: Store, conv: Conversation) -> tuple[Conversation, ...]:
    """The customer's other conversations, newest first: on this channel and account (one Query), and on
    the identities an agent linked to this one (one small read of the links, then one Query each)."""
    found = store.contact_conversations(
        conv.channel, conv.account_id, conv.contact_id, limit=HISTORY_LIMIT + 1
    )
    for other in store.linked_identities(conv.channel, conv.account_id, conv.contact_id):
        found += store.contact_conversations(
            other.channel, other.account_id, other.contact_id, limit=HISTORY_LIMIT
        )
        found.sort(key=lambda c: c.id, reverse=True)  # ids are time-ordered (ULIDs)
    return tuple(c for c in found if c.id != conv.id)[:HISTORY_LIMIT]


def apply_decision(decision: Decision) -> Any:
    """The change a decision makes to a conversation, re-applied on a fresh read (optimistic retries)."""

    def apply(conv: Conversation) -> Conversation | None:
        changed = False
        tags = list(conv.tags)
        for tag in decision.tags_added:
            if tag not in tags:
                tags.append(tag)
                changed = True
        for tag in decision.tags_removed:
            if tag in tags:
                tags.remove(tag)
                changed = True
        extra = dict(conv.extra)
        priority = conv.priority
        if decision.priority is not None and decision.priority != priority:
            priority = decision.priority
            changed = True
        assignee = conv.assignee
        if decision.assignment is not None:
            assignee = decision.assignment.agent
            if decision.assignment.team is not None:
                extra["team"] = decision.assignment.team
            changed = changed or assignee != conv.assignee or extra.get("team") != conv.extra.get("team")
        if decision.language != "und" and not extra.get("language"):
            # The first language detected becomes the conversation's (surveys and later acks use it).
            extra["language"] = decision.language
            changed = True
        if not changed:
            return None
        return replace(conv, tags=tags, priority=priority, assignee=assignee, extra=extra)

    return apply


def decider(store: Store, config: ConfigDocument) -> Callable[[Placement], Placement]:
    """The rules as the inbound processor's ``decide``: the decision is taken before the message is
    stored, and written with it (its effects with the conversation), so storing a customer message and
    deciding about it cost one message write and one conversation write."""

    # One decider serves one record, or one run of a conversation's records (one processing time): the
    # customer's history (their other conversations) is read once for the run.
    histories: dict[tuple[str, str, str, str, datetime], tuple[Conversation, ...]] = {}

    def history_of(conv: Conversation, now: datetime) -> tuple[Conversation, ...]:
        key = (str(conv.channel), conv.account_id, conv.contact_id, conv.id, now)
        if key not in histories:
            histories[key] = customer_history(store, conv)
        return histories[key]

    def decide(placed: Placement) -> Placement:
        message = placed.message
        if message.direction is not Direction.IN or DECISION_ATTRIBUTE in message.extra:
            return placed
        now = message.stored_at or placed.conversation.created_at
        record, decision = _decision_record(
            store,
            config,
            message,
            placed.conversation,
            now,
            placed.new_conversation,
            placed.reopened,
            lambda conv: history_of(conv, now),
        )
        conv = apply_decision(decision)(placed.conversation) or placed.conversation
        _log_decision(message, conv, decision)
        decided = replace(message, extra={**message.extra, DECISION_ATTRIBUTE: record})
        return replace(placed, conversation=conv, message=decided)

    return decide


def _decision_record(
    store: Store,
    config: ConfigDocument,
    message: Message,
    conv: Conversation,
    now: datetime,
    new_conversation: bool,
    reopened: bool,
    history_of: Callable[[Conversation], tuple[Conversation, ...]] | None = None,
) -> tuple[dict[str, Any], Decision]:
    """Evaluate the rules (pure, but for the customer's history read when a rule needs it) and the record
    stored on the message: the decision, with each side effect it asks for ``pending``."""
    read_history = history_of or (lambda c: customer_history(store, c))
    history = read_history(conv) if program_for(config).needs_history else ()
    context = Context(
        conversation=conv, history=history, new_conversation=new_conversation, reopened=reopened
    )
    decision = evaluate(config, message, context, now)
    record = decision.as_record()
    known = None
    if decision.ack is not None:
        # Known now, from the message and its conversation: recorded with the decision, so the
        # acknowledgement step has nothing to do (the claim still guards a race of two messages).
        known = ALREADY_ACKNOWLEDGED if conv.extra.get(ACKNOWLEDGED) else skip_reason(message, conv, now)
        if known is None:
            prepared = draft(config, decision.ack, conv, decision.language, now, decision.assignment)
            known = prepared if isinstance(prepared, str) else None
    if decision.ack is not None and known is not None:
        record["ack"] = AckOutcome(
            status="skipped", reason=known, rule=decision.ack.rule, template=decision.ack.template
        ).as_record()
    elif decision.ack is not None:
        record["ack"] = {"status": "pending"}
    else:
        record["ack"] = AckOutcome(
            status="skipped", reason="no rule asked for an acknowledgement"
        ).as_record()
    if decision.hide is not None:
        record["hide"] = {"status": "pending"}
    if decision.private_reply is not None:
        record["private_reply"] = {"status": "pending"}
    return record, decision


def run_rules(
    store: Store,
    message: Message,
    conv: Conversation,
    now: datetime,
    *,
    config: ConfigDocument,
    new_conversation: bool = False,
    reopened: bool = False,
    standby: bool = False,
    deliver: Deliver | None = None,
    moderator: Moderator | None = None,
) -> RulesResult:
    """Evaluate, record and acknowledge for one stored message (see the module docstring)."""
    if message.direction is not Direction.IN:
        # Echoes of business messages (a person typing in the platform's inbox) are not for the rules.
        return RulesResult(decision=None, ack=None, conversation=conv)
    existing: dict[str, Any] | None = message.extra.get(DECISION_ATTRIBUTE)
    if existing is not None:
        # Decided when the message was stored (``decider``), or by an attempt that failed afterwards.
        resumed = _resume(store, config, existing, conv, message, now, standby, deliver, moderator)
        return RulesResult(decision=None, ack=resumed, conversation=conv)

    # A message stored without a decision: decide now, and record it (one transaction).
    record, decision = _decision_record(store, config, message, conv, now, new_conversation, reopened)
    conv = store.record_decision(message, apply_decision(decision), record, now)
    _log_decision(message, conv, decision)
    if decision.hide is not None:
        # First: a comment to hide should be out of sight before anything answers it.
        _hide(store, decision.hide.rule, conv, message, now, moderator)
    outcome: AckOutcome | None = None
    if decision.ack is not None:
        outcome = _acknowledge(
            store,
            config,
            decision.ack,
            conv,
            message,
            now,
            decision.language,
            decision.assignment,
            standby,
            deliver,
        )
    if decision.private_reply is not None:
        _private_reply(
            store,
            config,
            decision.private_reply,
            conv,
            message,
            now,
            decision.language,
            decision.assignment,
            deliver,
        )
    return RulesResult(decision=decision, ack=outcome, conversation=conv)


def _resume(
    store: Store,
    config: ConfigDocument,
    existing: dict[str, Any],
    conv: Conversation,
    message: Message,
    now: datetime,
    standby: bool,
    deliver: Deliver | None,
    moderator: Moderator | None,
) -> AckOutcome | None:
    """Finish the side effects a recorded decision left pending (a retried record); the ack's outcome."""
    plan, language, assignment = _recorded_plan(existing)
    if _pending(existing, "hide"):
        rule = str((existing.get("hide_plan") or {}).get("rule", ""))
        _hide(store, rule, conv, message, now, moderator)
    resumed = None
    if _pending(existing, "ack"):
        resumed = _acknowledge(
            store, config, plan, conv, message, now, language, assignment, standby, deliver
        )
    if _pending(existing, "private_reply"):
        recorded = existing.get("private_reply_plan") or {}
        reply = PrivateReplyPlan(
            rule=str(recorded.get("rule", "")), template=str(recorded.get("template", ""))
        )
        _private_reply(store, config, reply, conv, message, now, language, assignment, deliver)
    return resumed


def _pending(record: dict[str, Any], part: str) -> bool:
    return bool((record.get(part) or {}).get("status") == "pending")


def _hide(
    store: Store, rule: str, conv: Conversation, message: Message, now: datetime, moderator: Moderator | None
) -> None:
    """Hide the comment a rule asked to hide; record the outcome (a retryable failure raises)."""
    outcome: dict[str, Any]
    try:
        set_comment_hidden(store, conv, message.platform_message_id, True, f"rule:{rule}", now, moderator)
        outcome = {"status": "done", "rule": rule}
    except ModerationError as exc:
        outcome = {"status": "skipped", "rule": rule, "reason": exc.reason}
    except SendError as exc:
        if exc.retryable:
            raise
        outcome = {"status": "failed", "rule": rule, "reason": exc.reason, "error_class": exc.error_class}
    store.set_decision_part(message, "hide", outcome)
    metrics.add_metric(name=f"CommentsHidden{outcome['status'].capitalize()}", unit="Count", value=1)
    logger.info("hide comment", extra={"conversation_id": conv.id, **outcome})


def _private_reply(
    store: Store,
    config: ConfigDocument,
    plan: PrivateReplyPlan,
    conv: Conversation,
    message: Message,
    now: datetime,
    language: str,
    assignment: Assignment | None,
    deliver: Deliver | None,
) -> None:
    """Answer the comment privately with the template's (private) texts; record the outcome."""
    # The direct message is private: the template's ordinary texts (which may greet by name) apply.
    prepared = draft(
        config,
        AckPlan(plan.rule, plan.template, None),
        replace(conv, public=False),
        language,
        now,
        assignment,
    )
    if isinstance(prepared, str):
        outcome = PrivateReplyOutcome(
            status="skipped", reason=prepared, comment_id=message.platform_message_id
        )
    else:
        outcome = private_reply(
            store,
            conv,
            message.platform_message_id,
            prepared.text,
            now,
            origin_tag=f"private_reply:{conv.id}",
            deliver=deliver,
        )
    record = {**outcome.as_record(), "rule": plan.rule, "template": plan.template}
    store.set_decision_part(message, "private_reply", record)
    metrics.add_metric(name=f"PrivateReplies{outcome.status.capitalize()}", unit="Count", value=1)
    logger.info(
        "private reply",
        extra={"conversation_id": conv.id, "status": outcome.status, "reason": outcome.reason},
    )


def _acknowledge(
    store: Store,
    config: ConfigDocument,
    plan: AckPlan,
    conv: Conversation,
    message: Message,
    now: datetime,
    language: str,
    assignment: Assignment | None,
    standby: bool,
    deliver: Deliver | None,
) -> AckOutcome:
    outcome = acknowledge(
        store,
        config,
        plan,
        conv,
        message,
        now,
        language=language,
        assignment=assignment,
        standby=standby,
        deliver=deliver,
    )
    if outcome.status != "sent":
        # A sent one's outcome is on its claim (rules.acknowledge); the message is read settled.
        store.set_decision_part(message, "ack", outcome.as_record())
    metrics.add_metric(name=f"Acknowledgements{outcome.status.capitalize()}", unit="Count", value=1)
    logger.info(
        "acknowledgement",
        extra={
            "conversation_id": conv.id,
            "platform_message_id": message.platform_message_id,
            "status": outcome.status,
            "reason": outcome.reason,
        },
    )
    return outcome


def _recorded_plan(record: dict[str, Any]) -> tuple[AckPlan, str, Assignment | None]:
    plan_data = record.get("ack_plan") or {}
    plan = AckPlan(
        rule=str(plan_data.get("rule", "")),
        template=str(plan_data.get("template", "default")),
        calendar=plan_data.get("calendar"),
    )
    assigned = record.get("assignment")
    assignment = (
        Assignment(
            agent=assigned.get("agent"),
            team=assigned.get("team"),
            rule=str(assigned.get("rule", "")),
            reason=str(assigned.get("reason", "")),
        )
        if isinstance(assigned, dict)
        else None
    )
    return plan, str(record.get("language") or "und"), assignment


def _log_decision(message: Message, conv: Conversation, decision: Decision) -> None:
    metrics.add_metric(name="RulesEvaluated", unit="Count", value=1)
    logger.info(
        "rules decided",
        extra={
            "conversation_id": conv.id,
            "platform_message_id": message.platform_message_id,
            "config_version": decision.config_version,
            "matched": list(decision.matched),
            "tags_added": list(decision.tags_added),
            "priority": decision.priority,
            "assignee": decision.assignment.agent if decision.assignment else None,
        },
    )
