"""The configuration document: rules, templates, calendars, agents, SLA policies, surveys (one YAML).

Sections are pydantic models of their own modules in :mod:`carehooks.config` (``rules``, ``calendars``,
``sla``, ``surveys``); this root model gathers them and checks what spans sections (a rule naming a
template, a team, a calendar). A default ships with the package (``default.yaml``); a deployment points
``CONFIG_PARAMETER`` at an SSM parameter; the local stack sets ``CAREHOOKS_CONFIG`` to a file path. :func:`load_config` (in :mod:`carehooks.config.loader`) picks one.

Top-level keys::

    version: "2025-06-01"        # recorded with every rule decision; change it with every edit
    defaults: {calendar: support, language: en}
    agents: [{id: alice, name: Alice, teams: [orders]}]
    teams: [{id: orders, name: Orders, calendar: support}]
    customers: {vip: ["messenger:6543210"]}      # <channel>:<customer id>
    calendars: {support: {...}}                 # carehooks.config.calendars.Calendar
    acknowledgement: {cooldown_hours: 12, templates: {default: {...}}}
    rules: [...]                                # carehooks.config.rules.Rule, evaluated in order
    ops: {recipients: [ops@example.com]}
    sla: {...}                                  # carehooks.config.sla.SlaConfig
    surveys: {...}                              # carehooks.config.surveys.SurveyConfig
    automation: {...}                           # carehooks.config.automation.AutomationConfig

Each further section is one field here pointing at a model in its own module of :mod:`carehooks.config`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import cached_property
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from carehooks.config.automation import AutomationConfig
from carehooks.config.automation import reference_problems as automation_problems
from carehooks.config.calendars import Calendar
from carehooks.config.rules import (
    ID_PATTERN,
    Acknowledge,
    AcknowledgementConfig,
    AllCondition,
    AnyCondition,
    Assign,
    FieldCondition,
    NotCondition,
    PrivateReply,
    Rule,
)
from carehooks.config.sla import BreachLevel, Escalation, SlaConfig, WarningLevel, reference_problems
from carehooks.config.surveys import SurveyConfig


class Defaults(BaseModel):
    """What applies when a rule or template does not say."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    calendar: str | None = Field(None, description="business hours for within_hours and acknowledgements")
    language: str = Field("en", description="when the message's language is undetermined or has no text")


class Agent(BaseModel):
    """A person who answers customers. ``active: false`` (leave, left) stops assignments to them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, description="the agent's id in the agent API (JWT sub)")
    name: str = ""
    email: str | None = None
    teams: list[str] = Field(default_factory=list)
    active: bool = True


class Team(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    name: str = ""
    calendar: str | None = None
    email: str | None = None


class Customers(BaseModel):
    """Customer attributes rules can test."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vip: list[str] = Field(
        default_factory=list, description="<channel>:<customer id>, e.g. whatsapp:33612345678"
    )


class OpsConfig(BaseModel):
    """Who operations emails go to (SLA warnings and breaches, low CSAT, reports)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recipients: list[str] = Field(default_factory=list)


class ConfigDocument(BaseModel):
    """The root of the configuration document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field("1", min_length=1, description="recorded with every rule decision")
    defaults: Defaults = Defaults()
    agents: list[Agent] = Field(default_factory=list)
    teams: list[Team] = Field(default_factory=list)
    customers: Customers = Customers()
    calendars: dict[str, Calendar] = Field(default_factory=dict)
    acknowledgement: AcknowledgementConfig = AcknowledgementConfig()
    rules: list[Rule] = Field(default_factory=list)
    ops: OpsConfig = OpsConfig()
    sla: SlaConfig = SlaConfig()
    surveys: SurveyConfig = SurveyConfig()
    automation: AutomationConfig = AutomationConfig()

    @cached_property
    def digest(self) -> str:
        """A short hash of the content: tells two documents with the same ``version`` apart."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]

    @cached_property
    def agents_by_id(self) -> dict[str, Agent]:
        return {agent.id: agent for agent in self.agents}

    @cached_property
    def teams_by_id(self) -> dict[str, Team]:
        return {team.id: team for team in self.teams}

    @cached_property
    def surveys_in_force(self) -> SurveyConfig:
        """The ``surveys`` section, with low-score alerts going to ``ops.recipients`` when it names none."""
        low = self.surveys.low_score
        if low.recipients or not self.ops.recipients:
            return self.surveys
        return self.surveys.model_copy(
            update={"low_score": low.model_copy(update={"recipients": list(self.ops.recipients)})}
        )

    @cached_property
    def vip_set(self) -> frozenset[str]:
        return frozenset(self.customers.vip)

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        problems = [*self._directory_problems(), *self._template_problems()]
        for index, rule in enumerate(self.rules):
            problems.extend(self._rule_problems(index, rule))
        problems.extend(reference_problems(self.sla, set(self.calendars), self.ops.recipients))
        problems.extend(automation_problems(self.automation, set(self.agents_by_id)))
        problems.extend(self._rung_action_problems())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _directory_problems(self) -> list[str]:
        problems: list[str] = []
        teams = {team.id for team in self.teams}
        if len(teams) != len(self.teams):
            problems.append("teams: ids must be unique")
        if len({agent.id for agent in self.agents}) != len(self.agents):
            problems.append("agents: ids must be unique")
        if self.defaults.calendar is not None and self.defaults.calendar not in self.calendars:
            problems.append(f"defaults.calendar: no calendar named {self.defaults.calendar!r}")
        problems.extend(
            f"teams.{team.id}.calendar: no calendar named {team.calendar!r}"
            for team in self.teams
            if team.calendar is not None and team.calendar not in self.calendars
        )
        problems.extend(
            f"agents.{agent.id}.teams: no team named {team_id!r}"
            for agent in self.agents
            for team_id in agent.teams
            if team_id not in teams
        )
        return problems

    def _template_problems(self) -> list[str]:
        language = self.defaults.language
        return [
            f"acknowledgement.templates.{name}: in_hours and out_of_hours need a text in the default "
            f"language {language!r}"
            for name, template in self.acknowledgement.templates.items()
            if language not in template.in_hours or language not in template.out_of_hours
        ] + [
            f"acknowledgement.templates.{name}.public: in_hours and out_of_hours need a text in the "
            f"default language {language!r}"
            for name, template in self.acknowledgement.templates.items()
            if template.public is not None
            and (language not in template.public.in_hours or language not in template.public.out_of_hours)
        ]

    def _rule_problems(self, index: int, rule: Rule) -> list[str]:
        where = f"rules.{index} ({rule.id})"
        problems: list[str] = []
        if any(other.id == rule.id for other in self.rules[:index]):
            problems.append(f"{where}: duplicate rule id")
        for action in rule.then:
            problems.extend(f"{where}: {problem}" for problem in self._action_problems(action))
        for field in _field_conditions(rule):
            if field.within_hours is None:
                continue
            calendar = field.within_hours.calendar or self.defaults.calendar
            if calendar is None:
                problems.append(f"{where}: within_hours needs a calendar (defaults.calendar or calendar:)")
            elif calendar not in self.calendars:
                problems.append(f"{where}: no calendar named {calendar!r}")
        return problems

    def _action_problems(self, action: object) -> list[str]:
        """What an action names that the document does not define."""
        problems: list[str] = []
        templates = self.acknowledgement.templates
        if isinstance(action, Acknowledge):
            if action.acknowledge.template not in templates:
                problems.append(f"no acknowledgement template named {action.acknowledge.template!r}")
            if action.acknowledge.calendar is not None and action.acknowledge.calendar not in self.calendars:
                problems.append(f"no calendar named {action.acknowledge.calendar!r}")
        elif isinstance(action, PrivateReply):
            if action.private_reply.template not in templates:
                problems.append(
                    f"private_reply: no acknowledgement template named {action.private_reply.template!r}"
                )
        elif isinstance(action, Assign):
            target = action.assign
            if target.agent is not None and target.agent not in self.agents_by_id:
                problems.append(f"no agent named {target.agent!r}")
            if target.team is not None and target.team not in self.teams_by_id:
                problems.append(f"no team named {target.team!r}")
        return problems

    def _rung_action_problems(self) -> list[str]:
        """What the SLA rungs' actions (issue 17) name that the document does not define."""
        problems: list[str] = []
        for index, policy in enumerate(self.sla.policies):
            rungs: list[tuple[str, WarningLevel | BreachLevel | Escalation | None]] = [
                ("warning", policy.warning),
                ("breach", policy.breach),
            ]
            rungs += [(f"escalations.{n}", e) for n, e in enumerate(policy.escalations)]
            for name, rung in rungs:
                for action in rung.actions if rung is not None else []:
                    problems.extend(
                        f"sla.policies.{index} ({policy.id}).{name}.actions: {problem}"
                        for problem in self._action_problems(action)
                    )
        return problems


def _field_conditions(rule: Rule) -> Iterator[FieldCondition]:
    stack = [rule.when] if rule.when is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, AllCondition):
            stack.extend(node.all)
        elif isinstance(node, AnyCondition):
            stack.extend(node.any)
        elif isinstance(node, NotCondition):
            stack.append(node.not_)
        elif isinstance(node, FieldCondition):
            yield node
