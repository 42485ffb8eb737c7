"""The dry run: what the rules would do with a message, without any side effect (pure).

Used by ``carehooks rules test``, ``carehooks rules replay`` and (later) the agent API. The caller
provides the conversation and the customer's history (read-only, or made up); nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from carehooks.domain.models import Conversation, Message
from carehooks.rules.acknowledge import AckDraft, draft, skip_reason
from carehooks.rules.engine import Context, Decision, evaluate
from carehooks.rules.step import apply_decision

if TYPE_CHECKING:
    from carehooks.config.document import ConfigDocument


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
