"""The rules dry run of ``POST /api/rules/test``: the answer of ``carehooks rules test --json``.

It builds the same made-up message and context as the command (infra/cli/rules.py ``run_test``): the
customer's conversations on the channel and account are read (never written) when a ``contact_id`` is
given, for "returning customer", "last agent" and "already acknowledged"; then the pure
:func:`carehooks.rules.dryrun.dry_run` runs on the configuration the functions load. A test compares
both answers, so the two cannot drift apart silently.
"""

from __future__ import annotations

from typing import Any

from carehooks.api.deps import Services
from carehooks.api.models import RulesTestRequest

DRY_RUN_CONTACT = "dry-run-customer"
DRY_RUN_ACCOUNT = "dry-run-account"
DRY_RUN_MESSAGE_ID = "dry-run"
HISTORY_LIMIT = 21


def rules_test(services: Services, request: RulesTestRequest) -> dict[str, Any]:
    """What the rules would do with the request's message; no side effects."""
    from carehooks.domain.conversations import new_conversation_id
    from carehooks.domain.models import Channel, Conversation, Direction, Message
    from carehooks.rules.dryrun import dry_run
    from carehooks.rules.engine import Context
    from carehooks.store.rules import claim_exists

    config = services.config()
    now = request.at or services.now()
    channel = Channel(request.channel)
    account = request.account_id or DRY_RUN_ACCOUNT
    contact = request.contact_id or DRY_RUN_CONTACT
    history: tuple[Conversation, ...] = ()
    acknowledged = False
    if request.contact_id and request.read_history:
        history = tuple(
            services.store.contact_conversations(channel, account, request.contact_id, limit=HISTORY_LIMIT)
        )
    current = history[0] if history and history[0].status != "resolved" else None
    if current is not None:
        history = history[1:]
        acknowledged = claim_exists(services.store, "ack", current.id)
    conv = current or Conversation(
        id=new_conversation_id(now),
        channel=channel,
        account_id=account,
        contact_id=contact,
        created_at=now,
        contact_name=request.name,
    )
    conv.last_inbound_at = now
    conv.tags = [*conv.tags, *[t for t in request.tags if t not in conv.tags]]
    if request.assignee:
        conv.assignee = request.assignee
    message = Message(
        conversation_id=conv.id,
        channel=channel,
        account_id=account,
        contact_id=contact,
        platform_message_id=DRY_RUN_MESSAGE_ID,
        direction=Direction.IN,
        sent_at=now,
        text=request.text,
        kind=request.kind,
        attachments=[{"kind": kind} for kind in request.attachments],
        stored_at=now,
    )
    context = Context(conversation=conv, history=history, new_conversation=current is None)
    result = dry_run(config, message, context, now, acknowledged=acknowledged)
    return {**result.as_dict(), "notes": []}
