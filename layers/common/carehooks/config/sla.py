"""SLA policies: the ``sla`` section of the configuration document.

```yaml
sla:
  recipients: [support-ops@example.com]      # every level without recipients of its own
  link: "https://desk.example.com/conversations/{conversation_id}"
  policies:                                  # the first policy whose `when` matches applies
    - id: vip
      when: {tags: [vip]}
      calendar: support                      # business hours (``calendars:``); omit = calendar time
      first_response: 15m
      next_response: 30m
      resolution: 8h
      warning: 0.8                           # warn at 80 % of the target (or {at: 0.8, recipients: [...]})
      escalations:                           # after the breach, in the policy's time
        - {after: 30m, recipients: [team-lead@example.com]}
        - {after: 2h, recipients: [head-of-support@example.com]}
    - id: messenger
      when: {channels: [messenger]}
      first_response: 1h
```

Durations are ``90s``, ``45m``, ``1h30m``, ``2d``, ISO 8601 (``PT1H``) or a number of seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from carehooks.config.rules import AddTags, Assign, RemoveTags, SetPriority
from carehooks.domain.models import Channel, Conversation

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(min|d|h|m|s)", re.IGNORECASE)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "min": 60, "s": 1}


def _parse_duration(value: Any) -> Any:
    """Accept ``1h30m`` style strings; anything else is left to pydantic (ISO 8601, seconds)."""
    if not isinstance(value, str):
        return value
    text = value.strip().replace(" ", "")
    if not text or text.upper().startswith("P") or ":" in text:
        return value
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(f"{n}{u}" for n, u in parts).lower() != text.lower():
        raise ValueError(f"not a duration: {value!r} (use e.g. 30m, 1h30m, 2d, PT1H)")
    return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in parts))


Duration = Annotated[timedelta, BeforeValidator(_parse_duration)]


class Metric(StrEnum):
    """What an SLA measures."""

    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class LevelKind(StrEnum):
    """The rungs of the ladder, in order of severity."""

    WARNING = "warning"
    BREACH = "breach"
    ESCALATION = "escalation"


def _addresses(value: list[str]) -> list[str]:
    for address in value:
        if "@" not in address or address.startswith("@") or address.endswith("@"):
            raise ValueError(f"not an email address: {address!r}")
    return value


Recipients = Annotated[list[str], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Model):
    """Which conversations a policy applies to. Every given criterion must hold; none given = all."""

    channels: list[Channel] = Field(default_factory=list)
    priorities: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list, description="any of these tags")
    public: bool | None = Field(None, description="true: public posts and comments only; false: private only")

    def matches(self, conv: Conversation) -> bool:
        """True when the conversation satisfies every criterion."""
        if self.channels and conv.channel not in self.channels:
            return False
        if self.priorities and conv.priority not in self.priorities:
            return False
        if self.tags and not set(self.tags) & set(conv.tags):
            return False
        return self.public is None or conv.public == self.public


_RUNG_ACTIONS = ("add_tags", "remove_tags", "set_priority", "assign")


def _rung_action_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return next(iter(type(value).model_fields))
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in _RUNG_ACTIONS else None
    return None


# What a rung may do besides emailing (issue 17), written like rule actions; each runs once per rung.
RungAction = Annotated[
    Annotated[AddTags, Tag("add_tags")]
    | Annotated[RemoveTags, Tag("remove_tags")]
    | Annotated[SetPriority, Tag("set_priority")]
    | Annotated[Assign, Tag("assign")],
    Discriminator(
        _rung_action_kind,
        custom_error_type="invalid_action",
        custom_error_message=f"a rung action is one of: {', '.join(_RUNG_ACTIONS)} (a mapping with one key)",
    ),
]


class WarningLevel(_Model):
    """An early warning at a fraction of the target."""

    at: float = Field(0.8, gt=0, lt=1, description="fraction of the target, e.g. 0.8 for 80 %")
    recipients: Recipients = Field(default_factory=list)
    actions: list[RungAction] = Field(default_factory=list)

    _check = field_validator("recipients")(_addresses)


class BreachLevel(_Model):
    recipients: Recipients = Field(default_factory=list)
    actions: list[RungAction] = Field(default_factory=list)

    _check = field_validator("recipients")(_addresses)


class Escalation(_Model):
    """A rung after the breach: ``after`` counts from the due time, in the policy's time."""

    after: Duration = Field(gt=timedelta(0))
    recipients: Recipients = Field(min_length=1)
    actions: list[RungAction] = Field(default_factory=list)

    _check = field_validator("recipients")(_addresses)


@dataclass(frozen=True)
class Step:
    """One rung of a metric's ladder: when it is due (as open time since the clock started) and who hears."""

    name: str  # warning | breach | escalation-1 | escalation-2 ...
    kind: LevelKind
    at: timedelta
    recipients: tuple[str, ...]
    actions: tuple[Any, ...] = ()  # RungAction models, run once when the rung falls due


class Policy(_Model):
    """Targets for the conversations a policy matches, and who hears about them."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    when: Match = Field(default_factory=Match)
    calendar: str | None = Field(None, description="a business-hours calendar name; none = calendar time")
    first_response: Duration | None = None
    next_response: Duration | None = None
    resolution: Duration | None = None
    warning: WarningLevel | None = Field(default_factory=WarningLevel)
    breach: BreachLevel = Field(default_factory=BreachLevel)
    escalations: list[Escalation] = Field(default_factory=list)
    recipients: Recipients = Field(default_factory=list)

    _check = field_validator("recipients")(_addresses)

    @field_validator("warning", mode="before")
    @classmethod
    def _warning_shorthand(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"at": value}
        return value

    @field_validator("first_response", "next_response", "resolution")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("a target must be positive")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not (self.first_response or self.next_response or self.resolution):
            raise ValueError(
                f"policy {self.id}: set at least one of first_response, next_response, resolution"
            )
        afters = [e.after for e in self.escalations]
        if afters != sorted(set(afters)):
            raise ValueError(f"policy {self.id}: escalations must be in increasing order of `after`")
        return self

    def target(self, metric: Metric) -> timedelta | None:
        """The target for a metric, or None when this policy does not measure it."""
        value: timedelta | None = getattr(self, metric.value)
        return value

    def ladder(self, metric: Metric, fallback: tuple[str, ...] = ()) -> list[Step]:
        """The metric's rungs in order (warning, breach, escalations); empty when it has no target."""
        target = self.target(metric)
        if target is None:
            return []
        default = tuple(self.recipients) or fallback
        steps: list[Step] = []
        if self.warning is not None:
            steps.append(
                Step(
                    "warning",
                    LevelKind.WARNING,
                    target * self.warning.at,
                    tuple(self.warning.recipients) or default,
                    tuple(self.warning.actions),
                )
            )
        steps.append(
            Step(
                "breach",
                LevelKind.BREACH,
                target,
                tuple(self.breach.recipients) or default,
                tuple(self.breach.actions),
            )
        )
        for number, escalation in enumerate(self.escalations, start=1):
            steps.append(
                Step(
                    f"escalation-{number}",
                    LevelKind.ESCALATION,
                    target + escalation.after,
                    tuple(escalation.recipients),
                    tuple(escalation.actions),
                )
            )
        return steps


class SlaConfig(_Model):
    """The ``sla`` section: policies in order of precedence, default recipients, the link in emails."""

    recipients: Recipients = Field(default_factory=list, description="default recipients of every level")
    link: str | None = Field(
        None, description="link to a conversation, with {conversation_id}; default: the agent API resource"
    )
    policies: list[Policy] = Field(default_factory=list)

    _check = field_validator("recipients")(_addresses)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [p.id for p in self.policies]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"policy ids must be unique: {', '.join(duplicates)}")
        if self.link is not None:
            try:
                filled = self.link.format(conversation_id="")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"sla.link may only use {{conversation_id}}: {exc}") from exc
            if filled == self.link:
                raise ValueError("sla.link must contain {conversation_id}")
        return self

    def policy_for(self, conv: Conversation) -> Policy | None:
        """The first policy whose ``when`` matches the conversation."""
        for policy in self.policies:
            if policy.when.matches(conv):
                return policy
        return None

    def ladder(self, policy: Policy, metric: Metric) -> list[Step]:
        """A policy's ladder for a metric, with the section's default recipients filled in."""
        return policy.ladder(metric, tuple(self.recipients))


def reference_problems(sla: SlaConfig, calendars: set[str], ops_recipients: list[str]) -> list[str]:
    """What the ``sla`` section names that the rest of the document must provide (checked by the root).

    Every policy's calendar must exist; every rung must reach somebody: its own recipients, the policy's,
    ``sla.recipients`` or, last, ``ops.recipients``.
    """
    problems: list[str] = []
    fallback = tuple(sla.recipients) or tuple(ops_recipients)
    for index, policy in enumerate(sla.policies):
        where = f"sla.policies.{index} ({policy.id})"
        if policy.calendar is not None and policy.calendar not in calendars:
            problems.append(f"{where}: no calendar named {policy.calendar!r}")
        unreached = {s.name: None for m in Metric for s in policy.ladder(m, fallback) if not s.recipients}
        for name in unreached:
            problems.append(
                f"{where}: nobody receives the {name} (set recipients on the level or the policy, "
                "sla.recipients or ops.recipients)"
            )
    return problems
