"""Automation over time: the ``automation`` section of the configuration document (issue 17).

```yaml
automation:
  auto_resolve:
    pending:                       # waiting on the customer (a person answered last)
      - after: 48h                 # first matching entry wins; `when` optional
        when: {channel: [messenger], tags: [billing], priority: [urgent]}
        message: "We're closing this conversation for now. Write to us any time to reopen it."
        survey: true               # default true: the usual CSAT survey follows
    open: []                       # off by default; same entry shape, counted from the last message
  assignee_timer: {enabled: false, after: 30m, reassign_to: team}   # team | next_agent | {agent: <id>}
  spikes: {...}                    # spike alerts: validated by their own module (issue 17b)
```

``after`` counts calendar time (not business hours): from the conversation's turn (when the person's reply
made it pending) for ``pending``, from its last message for ``open``, from when the customer started
waiting for the assignee timer. Durations are written as in ``sla`` (``90s``, ``45m``, ``1h30m``, ``2d``,
``PT1H``). SLA rungs' ``actions`` are in :mod:`carehooks.config.sla`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from carehooks.config.rules import Priority
from carehooks.config.sla import Duration
from carehooks.config.spikes import SpikesConfig
from carehooks.domain.models import Channel

# A closing message is one short platform message on every channel (SMS segments, X DMs included).
MAX_MESSAGE_CHARS = 640
MIN_AFTER = timedelta(minutes=1)
ResolvableStatus = Literal["pending", "open"]


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class When(_Model):
    """Which conversations an entry applies to. Every given criterion must hold; none given = all."""

    channel: list[Channel] = Field(default_factory=list, description="any of these channels")
    tags: list[str] = Field(default_factory=list, description="any of these tags")
    priority: list[Priority] = Field(default_factory=list, description="any of these priorities")

    _listify = field_validator("channel", "tags", "priority", mode="before")(_as_list)

    def matches(self, channel: str, tags: Sequence[str], priority: str) -> bool:
        if self.channel and channel not in self.channel:
            return False
        if self.tags and not set(self.tags) & set(tags):
            return False
        return not self.priority or priority in self.priority


class ResolveEntry(_Model):
    """Resolve the conversations this entry matches after ``after`` without activity."""

    after: Duration = Field(description="how long to wait, e.g. 48h (at least 1m)")
    when: When | None = None
    message: str | None = Field(
        None, min_length=1, max_length=MAX_MESSAGE_CHARS, description="closing message sent before resolving"
    )
    survey: bool = Field(True, description="false: no CSAT survey after this automatic resolution")

    @field_validator("after")
    @classmethod
    def _long_enough(cls, value: timedelta) -> timedelta:
        if value < MIN_AFTER:
            raise ValueError("after must be at least 1m")
        return value

    def matches(self, channel: str, tags: Sequence[str], priority: str) -> bool:
        return self.when is None or self.when.matches(channel, tags, priority)


class AutoResolve(_Model):
    """Entries per status, each list evaluated in order (the first matching entry applies)."""

    pending: list[ResolveEntry] = Field(default_factory=list)
    open: list[ResolveEntry] = Field(default_factory=list)

    def entries(self, status: ResolvableStatus) -> list[ResolveEntry]:
        return list(self.pending if status == "pending" else self.open)

    def entry_for(
        self, status: ResolvableStatus, channel: str, tags: Sequence[str], priority: str
    ) -> tuple[int, ResolveEntry] | None:
        """The first entry of ``status`` matching the conversation, with its index."""
        for index, entry in enumerate(self.entries(status)):
            if entry.matches(channel, tags, priority):
                return index, entry
        return None


class AgentTarget(_Model):
    agent: str = Field(min_length=1)


class AssigneeTimer(_Model):
    """Reassign a conversation whose customer waited longer than ``after`` for its assignee."""

    enabled: bool = False
    after: Duration = Field(timedelta(minutes=30), description="how long the customer may wait (≥ 1m)")
    reassign_to: Literal["team", "next_agent"] | AgentTarget = Field(
        "team",
        description="team (back to the team's queue), next_agent (round robin in the team) or {agent: id}",
    )

    @field_validator("after")
    @classmethod
    def _long_enough(cls, value: timedelta) -> timedelta:
        if value < MIN_AFTER:
            raise ValueError("after must be at least 1m")
        return value


class AutomationConfig(_Model):
    """The ``automation`` section. Without it nothing acts over time (the packaged default turns on
    auto-resolve of pending conversations after 48 h); spike alerts are on unless turned off."""

    auto_resolve: AutoResolve = AutoResolve()
    assignee_timer: AssigneeTimer = AssigneeTimer()
    # Spike alerts: validated by their own module (config/spikes.py, docs/spikes.md); on by default.
    spikes: SpikesConfig = SpikesConfig()


def reference_problems(automation: AutomationConfig, agents: set[str]) -> list[str]:
    """What the section names that the rest of the document must define (checked by the root)."""
    target = automation.assignee_timer.reassign_to
    if isinstance(target, AgentTarget) and target.agent not in agents:
        return [f"automation.assignee_timer.reassign_to.agent: no agent named {target.agent!r}"]
    return []
