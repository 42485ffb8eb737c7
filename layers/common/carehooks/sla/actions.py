"""What an SLA rung does besides emailing (issue 17): its ``actions``, written like rule actions.

``breach: {recipients: [...], actions: [{set_priority: urgent}, {add_tags: [escalated]}, {assign: {team: leads}}]}``

Applying them is pure (:func:`apply_actions`): the changed conversation and a trace, one entry per action
in the shape of a rule decision's ``actions`` (``action``, ``status`` ran | skipped, ``detail``, and
``rule``: here the rung, e.g. ``messaging/first_response/breach``). The monitor claims each rung's actions
once (``sla-action#<alert scope>``), then writes the change, a conversation event (action ``sla_actions``,
actor ``carehooks``, the trace in its details) and the claim's final state in one transaction.

Differences from rules, on purpose: a rung's ``assign`` always reassigns (escalating is moving the
conversation; ``override`` is implied), and ``last_agent_within_days`` is not used (the monitor does not
read the customer's history): ``agent``, else ``team``. ``set_priority`` only raises the priority, as in
rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from carehooks.config.rules import PRIORITIES, AddTags, Assign, RemoveTags, SetPriority
from carehooks.domain.models import Conversation

MAX_TAGS = 20  # as the agent API's MAX_TAGS_PER_CONVERSATION
TEAM_ATTR = "team"


def apply_actions(  # noqa: PLR0912 - one branch per action and outcome
    conv: Conversation, actions: Sequence[Any], rung: str
) -> tuple[Conversation, list[dict[str, str]]]:
    """``conv`` with the rung's actions applied, and the trace of each (ran or skipped, and why)."""
    tags = list(conv.tags)
    priority = conv.priority
    assignee = conv.assignee
    extra = dict(conv.extra)
    trace: list[dict[str, str]] = []

    def record(action: str, status: str, detail: str) -> None:
        trace.append({"rule": rung, "action": action, "status": status, "detail": detail})

    for action in actions:
        if isinstance(action, AddTags):
            added = [t for t in dict.fromkeys(action.add_tags) if t not in tags]
            if not added:
                record("add_tags", "skipped", "already tagged " + ", ".join(action.add_tags))
            elif len(tags) + len(added) > MAX_TAGS:
                record("add_tags", "skipped", f"a conversation has at most {MAX_TAGS} tags")
            else:
                tags.extend(added)
                record("add_tags", "ran", "added " + ", ".join(added))
        elif isinstance(action, RemoveTags):
            removed = [t for t in tags if t in action.remove_tags]
            tags = [t for t in tags if t not in action.remove_tags]
            record(
                "remove_tags", "ran" if removed else "skipped", "removed " + ", ".join(removed or ["none"])
            )
        elif isinstance(action, SetPriority):
            wanted = action.set_priority
            if PRIORITIES.index(wanted) <= PRIORITIES.index(priority if priority in PRIORITIES else "normal"):
                record("set_priority", "skipped", f"already {priority} (rungs never lower a priority)")
            else:
                record("set_priority", "ran", f"{priority} → {wanted}")
                priority = wanted
        elif isinstance(action, Assign):
            target = action.assign
            if target.agent is not None:
                if assignee == target.agent:
                    record("assign", "skipped", f"already assigned to {target.agent}")
                else:
                    record("assign", "ran", f"agent {target.agent} (was {assignee or 'unassigned'})")
                    assignee = target.agent
                    if target.team is not None:
                        extra[TEAM_ATTR] = target.team
            elif target.team is not None:
                if assignee is None and extra.get(TEAM_ATTR) == target.team:
                    record("assign", "skipped", f"already with team {target.team}")
                else:
                    record(
                        "assign",
                        "ran",
                        f"team {target.team} (was {assignee or extra.get(TEAM_ATTR) or 'unassigned'})",
                    )
                    assignee = None
                    extra[TEAM_ATTR] = target.team
            else:
                record(
                    "assign", "skipped", "last_agent_within_days is not used by SLA rungs: give agent or team"
                )
    changed = replace(conv, tags=tags, priority=priority, assignee=assignee, extra=extra)
    return changed, trace
