"""The assignee timer: reassign a conversation whose customer waited longer than ``after`` for its assignee.

Once per wait: the claim ``assignee-timer#<conversation id>#<turn ms>`` is written, as ``done``, in the same
transaction as the reassignment and its conversation event (action ``assign``, actor ``carehooks``, the
reason in its details). The new assignee is not timed again until the customer waits again (their wait
started before the new assignee had it: timing them would pass the conversation on at once).

Targets (``reassign_to``):

- ``team``: unassigned, back to the conversation's team queue (its ``team``, else the assignee's first
  team);
- ``next_agent``: the next active agent of that team after the current assignee, in the order of
  ``agents:`` (round robin); the team when nobody else is active;
- ``{agent: <id>}``: that agent when active and not the assignee already; otherwise the team.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from carehooks.automation.due import DONE, HOLD, SKIP, Outcome, assignee_due, turn_of
from carehooks.config.automation import AgentTarget
from carehooks.config.document import ConfigDocument
from carehooks.domain.models import AUTOMATION_AUTHOR, Conversation
from carehooks.observability import logger
from carehooks.store import ConflictError, Store, keys
from carehooks.store.events import ConversationEvent
from carehooks.store.retry import attempts

CLAIM_OWNER = "automation"
CLAIM_TTL = timedelta(minutes=15)  # a run that stopped between claim and write: taken again after this
CLAIM_KEEP = timedelta(days=90)
SAVE_ATTEMPTS = 5
TEAM_ATTR = "team"


def target_of(conv: Conversation, config: ConfigDocument) -> tuple[str | None, str | None, str]:
    """(new assignee or None, team, how it was chosen) for an overdue conversation (pure)."""
    current = conv.assignee
    team = conv.extra.get(TEAM_ATTR)
    if not isinstance(team, str) or not team:
        agent = config.agents_by_id.get(current or "")
        team = agent.teams[0] if agent is not None and agent.teams else None
    wanted = config.automation.assignee_timer.reassign_to
    if isinstance(wanted, AgentTarget):
        agent = config.agents_by_id.get(wanted.agent)
        if agent is not None and agent.active and agent.id != current:
            return agent.id, team, f"agent {agent.id}"
        return None, team, f"agent {wanted.agent} is not available; team {team or '(none)'}"
    if wanted == "next_agent" and team is not None:
        members = [a.id for a in config.agents if team in a.teams]
        start = members.index(current) + 1 if current in members else 0
        for candidate in members[start:] + members[:start]:
            agent = config.agents_by_id[candidate]
            if candidate != current and agent.active:
                return candidate, team, f"next agent of team {team}"
        return None, team, f"no other active agent in team {team}; team {team}"
    return None, team, f"team {team or '(none)'}"


def reassign_one(  # noqa: PLR0911 - one answer per outcome
    store: Store, conv: Conversation, now: datetime, config: ConfigDocument
) -> tuple[Outcome, dict[str, Any]]:
    """Reassign ``conv`` (read consistently this run) if its assignee timer has fired."""
    due_at = assignee_due(conv, config.automation)
    if due_at is None:
        return SKIP, {}
    if due_at > now:
        return HOLD, {}
    turn = turn_of(conv)
    claim = (keys.ASSIGNEE_TIMER_CLAIM_KIND, keys.assignee_timer_scope(conv.id, turn))
    held = attempts(lambda: store.get_claim(*claim))
    if held is not None and held.get("state") == "done":
        return DONE, {}  # read again inside the cursor's margin: reassigned already
    if not attempts(lambda: store.claim(*claim, now, CLAIM_TTL, owner=CLAIM_OWNER)):
        return HOLD, {}
    after = config.automation.assignee_timer.after
    current: Conversation | None = conv
    for _ in range(SAVE_ATTEMPTS):
        if (
            current is None
            or current.status != "open"
            or current.assignee is None
            or turn_of(current) != turn
        ):
            attempts(lambda: store.release_claim(*claim))
            return SKIP, {}
        assignee, team, how = target_of(current, config)
        minutes = int(after.total_seconds() // 60)
        details: dict[str, Any] = {
            "from": current.assignee,
            "to": assignee,
            "team": team,
            "reason": f"the customer waited more than {minutes} min for {current.assignee}; {how}",
            "by": "assignee_timer",
        }
        extra = dict(current.extra)
        if team is not None:
            extra[TEAM_ATTR] = team
        changed = replace(current, assignee=assignee, tags=list(current.tags), extra=extra)
        event = ConversationEvent(
            conversation_id=conv.id, action="assign", at=now, actor=AUTOMATION_AUTHOR, details=details
        )
        try:
            attempts(
                partial(
                    store.save_with_event_and_claim,
                    changed,
                    event,
                    claim,
                    {"outcome": str(assignee or "")},
                    CLAIM_KEEP,
                )
            )
        except ConflictError:
            current = attempts(lambda: store.get_conversation(conv.id))
            continue
        logger.info(
            "conversation reassigned by the assignee timer", extra={"conversation_id": conv.id, **details}
        )
        return DONE, details
    attempts(lambda: store.release_claim(*claim))
    return HOLD, {}
