"""The dry run: what the rules would do with a message, without any side effect.

Used by ``carehooks rules test``, ``carehooks rules replay`` and the agent API (``POST /api/rules/test``).
The caller provides the conversation and the customer's history (read-only, or made up); nothing is
written. :func:`dry_run` is pure; :func:`dry_run_setup` builds the made-up message and its context for
``rules test`` and the API alike, reading (never writing) the customer's conversations when asked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from carehooks.domain.conversations import new_conversation_id
from carehooks.domain.models import Channel, Conversation, Direction, Message
from carehooks.rules.acknowledge import AckDraft, draft, skip_reason
from carehooks.rules.engine import Context, Decision, evaluate
from carehooks.rules.step import apply_decision
from carehooks.store import Store

if TYPE_CHECKING:
    from carehooks.config.document import ConfigDocument

DRY_RUN_CONTACT = "dry-run-customer"
DRY_RUN_ACCOUNT = "dry-run-account"
DRY_RUN_MESSAGE_ID = "dry-run"
# The customer's current conversation and up to 20 before it.
HISTORY_LIMIT = 21


@dataclass(frozen=True)
class DryRun:
    """A decision, and the acknowledgement that would be sent (or why none would)."""

    decision: Decision
    ack: AckDraft | None
    ack_skipped: str | None
    conversation_after: Conversation

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"decision": self.decision.as_record(), "tags": list(self.decision.tags)}
        if self.ack is not None:
            out["ack"] = {
                "template": self.ack.template,
                "language": self.ack.language,
                "in_hours": self.ack.in_hours,
                "calendar": self.ack.calendar,
                "reopen": self.ack.reopen,
                "text": self.ack.text,
            }
        if self.ack_skipped is not None:
            out["ack_skipped"] = self.ack_skipped
        return out


def dry_run(
    config: ConfigDocument,
    message: Message,
    context: Context,
    now: datetime,
    *,
    standby: bool = False,
    acknowledged: bool = False,
) -> DryRun:
    """Evaluate ``message`` and draft its acknowledgement. ``acknowledged``: the conversation already was."""
    decision = evaluate(config, message, context, now)
    after = apply_decision(decision)(replace(context.conversation)) or context.conversation
    if decision.ack is None:
        return DryRun(decision, None, "no rule asked for an acknowledgement", after)
    reason = skip_reason(message, context.conversation, now, standby=standby)
    if reason is None and acknowledged:
        reason = "this conversation was already acknowledged"
    if reason is not None:
        return DryRun(decision, None, reason, after)
    prepared = draft(config, decision.ack, after, decision.language, now, decision.assignment)
    if isinstance(prepared, str):
        return DryRun(decision, None, prepared, after)
    return DryRun(decision, prepared, None, after)


@dataclass(frozen=True)
class Sample:
    """A made-up customer message: the inputs of ``carehooks rules test`` and ``POST /api/rules/test``."""

    channel: str
    text: str
    account_id: str | None = None
    contact_id: str | None = None
    name: str | None = None
    kind: str = "text"
    attachments: Sequence[str] = ()
    tags: Sequence[str] = ()  # tags the conversation already has
    assignee: str | None = None  # its current assignee


@dataclass(frozen=True)
class DryRunSetup:
    """What :func:`dry_run` runs on for a sample, and what could not be read (``notes``)."""

    message: Message
    context: Context
    acknowledged: bool
    notes: tuple[str, ...] = ()


def dry_run_setup(
    sample: Sample, now: datetime, store: Callable[[], Store] | None = None, *, lenient: bool = False
) -> DryRunSetup:
    """The sample's message and conversation context at ``now``.

    With ``store`` and the sample's ``contact_id``, that customer's conversations are read (never
    written) for "returning customer", "last agent" and "already acknowledged": an open latest one is the
    conversation the message joins. ``lenient``: a read that fails becomes a note, and the sample is
    evaluated without what it would have read (otherwise the error is raised).
    """
    channel = Channel(sample.channel)
    account = sample.account_id or DRY_RUN_ACCOUNT
    contact = sample.contact_id or DRY_RUN_CONTACT
    notes: list[str] = []
    history: tuple[Conversation, ...] = ()
    acknowledged = False
    reader: Store | None = None
    if sample.contact_id and store is not None:
        try:
            reader = store()
            history = tuple(
                reader.contact_conversations(channel, account, sample.contact_id, limit=HISTORY_LIMIT)
            )
        except Exception as exc:
            if not lenient:
                raise
            notes.append(f"customer history not read ({type(exc).__name__}: {exc}); evaluated without it")
    current = history[0] if history and history[0].status != "resolved" else None
    if current is not None and reader is not None:
        history = history[1:]
        try:
            acknowledged = reader.claim_exists("ack", current.id)
        except Exception as exc:
            if not lenient:
                raise
            notes.append(f"acknowledgement claim not read ({type(exc).__name__})")
    conv = current or Conversation(
        id=new_conversation_id(now),
        channel=channel,
        account_id=account,
        contact_id=contact,
        created_at=now,
        contact_name=sample.name,
    )
    conv.last_inbound_at = now
    conv.tags = [*conv.tags, *[t for t in sample.tags if t not in conv.tags]]
    if sample.assignee:
        conv.assignee = sample.assignee
    message = Message(
        conversation_id=conv.id,
        channel=channel,
        account_id=account,
        contact_id=contact,
        platform_message_id=DRY_RUN_MESSAGE_ID,
        direction=Direction.IN,
        sent_at=now,
        text=sample.text,
        kind=sample.kind,
        attachments=[{"kind": kind} for kind in sample.attachments],
        stored_at=now,
    )
    context = Context(conversation=conv, history=history, new_conversation=current is None)
    return DryRunSetup(message, context, acknowledged, tuple(notes))
