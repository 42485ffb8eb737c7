"""The ``rules`` and ``acknowledgement`` sections of the configuration document (pydantic models).

A rule::

    - id: order-status                       # unique; recorded with every decision it takes part in
      description: Questions about an order
      when:                                  # a tree of all / any / not over typed fields
        all:
          - channel: [messenger, instagram, whatsapp]          # a list means "in"
          - any:
              - text: {phrase: ["where is my order", "order status"]}
              - text: {keyword: [tracking, parcel, colis]}
          - text: {regex: "#\\d{3,}"}                          # RE2 syntax: linear time, cannot hang
          - not: {tags: {equals: spam}}
      then:                                  # actions, in order
        - add_tags: [order, order-status]
        - set_priority: high
        - assign: {last_agent_within_days: 30, team: orders}   # the last agent, else the team
        - acknowledge: {template: order}
        - stop                                                 # no further rule runs

Public comment threads (Facebook Page and Instagram comments)::

    - id: troll
      when: {all: [{visibility: public}, {text: {keyword: [idiot, scam]}}]}
      then: [hide_comment, {add_tags: [abuse]}, stop]          # hidden, not deleted: reversible
    - id: complaint
      when: {all: [{visibility: public}, {text: {keyword: [broken, refund]}}]}
      then:
        - add_tags: [complaint]
        - acknowledge: {template: complaint}                   # in the thread: the template's ``public`` texts
        - private_reply: {template: complaint-dm}              # a direct message to the commenter

A mapping with several fields means all of them must hold. Fields and their tests:

| field | value | operators |
|---|---|---|
| ``text`` | the message text | ``keyword``, ``phrase`` (case- and accent-insensitive, whole words), ``regex`` (RE2, on the raw text), ``equals``, ``in`` (normalized whole text) |
| ``channel``, ``account``, ``customer``, ``language``, ``kind``, ``status``, ``priority``, ``assignee``, ``team`` | one string each | ``equals``, ``in`` (a bare string or list is shorthand) |
| ``visibility`` | ``public`` (a comment thread) or ``private`` | ``equals``, ``in`` |
| ``tags``, ``attachments`` | lists (the conversation's tags so far, attachment kinds) | ``equals`` (contains), ``in`` (contains any), ``empty`` |
| ``within_hours``, ``returning_customer``, ``vip``, ``new_conversation``, ``reopened``, ``assigned`` | booleans | ``true`` / ``false`` |

Actions: ``add_tags``, ``remove_tags``, ``set_priority``, ``assign``, ``acknowledge`` (on a public thread:
the template's ``public`` texts, in the thread), ``hide_comment`` (public threads: hide the comment),
``private_reply: {template}`` (public threads: a direct message to the commenter, once per comment),
``stop``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from carehooks.config.text import compile_regex, words
from carehooks.domain.models import Channel

ID_PATTERN = r"^[a-z0-9][a-z0-9_.:-]{0,63}$"
MAX_PATTERN_CHARS = 2000
PRIORITIES = ("low", "normal", "high", "urgent")
VISIBILITIES = ("public", "private")
Priority = Literal["low", "normal", "high", "urgent"]


def _equals_or_in(cls: type[BaseModel], value: Any) -> Any:
    """A bare string is ``equals``, a bare list ``in`` (the shorthand of value and list tests)."""
    if isinstance(value, str):
        return {"equals": value}
    if isinstance(value, list):
        return {"in": value}
    return value


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class ValueTest(BaseModel):
    """Tests on a single string value. ``equals: x`` or ``in: [x, y]``; a bare value/list is shorthand."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    equals: str | None = None
    in_: list[str] | None = Field(None, alias="in")

    _shorthand = model_validator(mode="before")(_equals_or_in)

    @model_validator(mode="after")
    def _one_operator(self) -> Self:
        if (self.equals is None) == (self.in_ is None):
            raise ValueError("give exactly one of equals, in")
        return self


class ListTest(BaseModel):
    """Tests on a list (tags, attachment kinds): ``equals`` = contains, ``in`` = contains any, ``empty``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    equals: str | None = None
    in_: list[str] | None = Field(None, alias="in")
    empty: bool | None = None

    _shorthand = model_validator(mode="before")(_equals_or_in)

    @model_validator(mode="after")
    def _one_operator(self) -> Self:
        if sum(v is not None for v in (self.equals, self.in_, self.empty)) != 1:
            raise ValueError("give exactly one of equals, in, empty")
        return self


class TextTest(BaseModel):
    """Tests on the message text; several operators in one test must all hold."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    keyword: list[str] | None = Field(None, description="any of these words (whole words)")
    phrase: list[str] | None = Field(None, description="any of these word sequences (whole words)")
    regex: str | None = Field(
        None, description="RE2 syntax, searched in the raw text; (?i) for case-insensitive"
    )
    equals: str | None = Field(None, description="the whole normalized text")
    in_: list[str] | None = Field(None, alias="in", description="the whole normalized text is one of these")

    _listify = field_validator("keyword", "phrase", "in_", mode="before")(_as_list)

    @field_validator("keyword", "phrase")
    @classmethod
    def _has_words(cls, value: list[str] | None) -> list[str] | None:
        for item in value or []:
            if not words(item):
                raise ValueError(f"{item!r} has no letters or digits to match")
        if value is not None and not value:
            raise ValueError("give at least one")
        return value

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if len(value) > MAX_PATTERN_CHARS:
            raise ValueError(f"patterns are limited to {MAX_PATTERN_CHARS} characters")
        compile_regex(value)
        return value

    @model_validator(mode="after")
    def _some_operator(self) -> Self:
        if all(v is None for v in (self.keyword, self.phrase, self.regex, self.equals, self.in_)):
            raise ValueError("give at least one of keyword, phrase, regex, equals, in")
        return self


class HoursTest(BaseModel):
    """``within_hours: true`` uses the default calendar; ``{calendar: name, equals: false}`` another."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    equals: bool = True
    calendar: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"equals": value} if isinstance(value, bool) else value


class FieldCondition(BaseModel):
    """Tests on fields of the message and its conversation; all the fields given must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: TextTest | None = None
    channel: ValueTest | None = None
    account: ValueTest | None = Field(None, description="the business account (page, number, bot) id")
    customer: ValueTest | None = Field(None, description="the customer's id on the channel")
    language: ValueTest | None = Field(None, description="detected language (ISO 639-1) or und")
    kind: ValueTest | None = Field(None, description="message kind: text, postback, button, image, comment…")
    status: ValueTest | None = Field(None, description="conversation status: open, pending, resolved")
    priority: ValueTest | None = Field(None, description="the conversation's priority so far")
    assignee: ValueTest | None = None
    team: ValueTest | None = None
    tags: ListTest | None = Field(
        None, description="the conversation's tags, including those added by earlier rules"
    )
    attachments: ListTest | None = Field(
        None, description="attachment kinds: image, video, audio, file, location…"
    )
    within_hours: HoursTest | None = None
    returning_customer: bool | None = Field(None, description="the customer had an earlier conversation")
    vip: bool | None = Field(None, description="the customer is on the configuration's VIP list")
    new_conversation: bool | None = None
    reopened: bool | None = None
    assigned: bool | None = Field(None, description="the conversation has an assignee (agent)")
    visibility: ValueTest | None = Field(
        None, description="public: a comment thread everyone can read; private: a direct conversation"
    )

    @model_validator(mode="after")
    def _some_field(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("a condition needs at least one field, or all / any / not")
        return self

    @field_validator("channel")
    @classmethod
    def _known_channels(cls, value: ValueTest | None) -> ValueTest | None:
        if value is not None:
            for name in [value.equals] if value.equals is not None else value.in_ or []:
                if name not in set(Channel):
                    raise ValueError(f"unknown channel {name!r}: use {', '.join(Channel)}")
        return value

    @field_validator("visibility")
    @classmethod
    def _known_visibilities(cls, value: ValueTest | None) -> ValueTest | None:
        if value is not None:
            for name in [value.equals] if value.equals is not None else value.in_ or []:
                if name not in VISIBILITIES:
                    raise ValueError(f"unknown visibility {name!r}: use {', '.join(VISIBILITIES)}")
        return value

    @field_validator("priority")
    @classmethod
    def _known_priorities(cls, value: ValueTest | None) -> ValueTest | None:
        if value is not None:
            for name in [value.equals] if value.equals is not None else value.in_ or []:
                if name not in PRIORITIES:
                    raise ValueError(f"unknown priority {name!r}: use {', '.join(PRIORITIES)}")
        return value


def _condition_kind(value: Any) -> str | None:
    """Which kind of node a condition is: by its model class, or by its key for raw input."""
    if isinstance(value, BaseModel):
        kinds: dict[type[BaseModel], str] = {AllCondition: "all", AnyCondition: "any", NotCondition: "not"}
        return kinds.get(type(value), "field")
    if not isinstance(value, dict):
        return None
    return next((key for key in ("all", "any", "not") if key in value), "field")


class AllCondition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    all: list[Condition] = Field(min_length=1)


class AnyCondition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    any: list[Condition] = Field(min_length=1)


class NotCondition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    not_: Condition = Field(alias="not")


Condition = Annotated[
    Annotated[AllCondition, Tag("all")]
    | Annotated[AnyCondition, Tag("any")]
    | Annotated[NotCondition, Tag("not")]
    | Annotated[FieldCondition, Tag("field")],
    Discriminator(_condition_kind),
]


# -- actions --------------------------------------------------------------------------------------------
class AddTags(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    add_tags: list[str] = Field(min_length=1)

    _listify = field_validator("add_tags", mode="before")(_as_list)


class RemoveTags(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    remove_tags: list[str] = Field(min_length=1)

    _listify = field_validator("remove_tags", mode="before")(_as_list)


class SetPriority(BaseModel):
    """Raise the priority. Rules never lower a priority (an agent or an earlier rule chose it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    set_priority: Priority


class AssignTarget(BaseModel):
    """Who gets the conversation.

    ``last_agent_within_days``: the agent who last served this customer (answered or was assigned, in
    this or an earlier conversation) within that many days, if still active; otherwise ``agent``, then
    ``team``. A conversation already assigned (to an agent or a team, earlier or by an earlier rule) keeps
    its assignment unless ``override`` is true.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: str | None = None
    team: str | None = None
    last_agent_within_days: float | None = Field(None, gt=0)
    override: bool = False

    @model_validator(mode="after")
    def _has_target(self) -> Self:
        if self.agent is None and self.team is None and self.last_agent_within_days is None:
            raise ValueError("give agent, team or last_agent_within_days")
        return self


class Assign(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    assign: AssignTarget


class AcknowledgeWith(BaseModel):
    """Acknowledge with a template set (``default`` unless named); ``calendar`` overrides the default one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template: str = "default"
    calendar: str | None = None


class Acknowledge(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    acknowledge: AcknowledgeWith

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            inner = value.get("acknowledge")
            if inner is True or inner is None:
                return {**value, "acknowledge": {}}
            if isinstance(inner, str):
                return {**value, "acknowledge": {"template": inner}}
        return value


class HideComment(BaseModel):
    """Hide the comment (public threads): only its author and their friends still see it. Reversible."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hide_comment: Literal[True] = True


class PrivateReplyWith(BaseModel):
    """The acknowledgement template set whose (private) texts the direct message uses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template: str


class PrivateReply(BaseModel):
    """Answer the comment with a direct message to its author (public threads; once per comment, within
    7 days of it). The conversation continues privately, linked to the public one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    private_reply: PrivateReplyWith

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("private_reply"), str):
            return {**value, "private_reply": {"template": value["private_reply"]}}
        return value


class Stop(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    stop: Literal[True] = True


def _action_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return next(iter(type(value).model_fields))
    value = _bare_action(value)
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in _ACTIONS else None
    return None


def _bare_action(value: Any) -> Any:
    """``stop``, ``acknowledge`` and ``hide_comment`` may be written as bare words."""
    if value == "stop":
        return {"stop": True}
    if value == "acknowledge":
        return {"acknowledge": {}}
    if value == "hide_comment":
        return {"hide_comment": True}
    return value


_ACTIONS = (
    "add_tags",
    "remove_tags",
    "set_priority",
    "assign",
    "acknowledge",
    "hide_comment",
    "private_reply",
    "stop",
)

Action = Annotated[
    Annotated[AddTags, Tag("add_tags")]
    | Annotated[RemoveTags, Tag("remove_tags")]
    | Annotated[SetPriority, Tag("set_priority")]
    | Annotated[Assign, Tag("assign")]
    | Annotated[Acknowledge, Tag("acknowledge")]
    | Annotated[HideComment, Tag("hide_comment")]
    | Annotated[PrivateReply, Tag("private_reply")]
    | Annotated[Stop, Tag("stop")],
    Discriminator(
        _action_kind,
        custom_error_type="invalid_action",
        custom_error_message=f"an action is one of: {', '.join(_ACTIONS)} (a mapping with one key; stop, acknowledge and hide_comment may be bare words)",
    ),
]


class Rule(BaseModel):
    """One rule: when the condition holds (or always, without ``when``), run the actions in order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    description: str = ""
    enabled: bool = True
    when: Condition | None = None
    then: list[Action] = Field(min_length=1)

    @field_validator("then", mode="before")
    @classmethod
    def _bare_actions(cls, value: Any) -> Any:
        return [_bare_action(v) for v in value] if isinstance(value, list) else value


# -- acknowledgement ------------------------------------------------------------------------------------
PLACEHOLDERS = {
    "contact_name": "the customer's first name (or the template set's fallback_name)",
    "reopen": "when the team is back, e.g. 'Monday 09:00' (out of hours; empty in hours)",
    "reopen_day": "the weekday of the reopening, e.g. 'Monday'",
    "reopen_time": "the local time of the reopening, e.g. '09:00'",
    "reopen_date": "the local date of the reopening, e.g. '2025-06-02'",
    "agent_name": "the assigned agent's name (empty when none)",
    "team_name": "the assigned team's name (empty when none)",
    "reference": "a short reference of the conversation (last 8 characters of its id)",
}

# Placeholders that would put the customer's personal data in a public reply.
PERSONAL_PLACEHOLDERS = ("contact_name",)

# A template's tokens: ``{{`` and ``}}`` (literal braces), ``{name}`` (a placeholder), a stray brace.
TEMPLATE_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def check_template(text: str, where: str = "") -> None:
    """Reject unknown placeholders and stray braces (``{{``/``}}`` write literal braces)."""
    prefix = f"{where}: " if where else ""
    if not text.strip():
        raise ValueError(f"{prefix}the text is empty")
    for match in TEMPLATE_TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise ValueError(
                f"{prefix}unbalanced {token!r} at {match.start()} (write {token * 2} for a brace)"
            )
        if name not in PLACEHOLDERS:
            raise ValueError(f"{prefix}unknown placeholder {{{name}}}: use {', '.join(sorted(PLACEHOLDERS))}")


def placeholders(text: str) -> set[str]:
    """The placeholder names a template text uses (``{{`` / ``}}`` are literal braces, not placeholders)."""
    return {m.group(1) for m in TEMPLATE_TOKEN.finditer(text) if m.group(1) is not None}


class TemplateTexts(BaseModel):
    """Texts per language (``en``, ``fr``, ``pt-BR``…), in business hours and out of hours."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    in_hours: dict[str, str] = Field(default_factory=dict)
    out_of_hours: dict[str, str] = Field(default_factory=dict)

    @field_validator("in_hours", "out_of_hours")
    @classmethod
    def _valid_texts(cls, value: dict[str, str]) -> dict[str, str]:
        for language, text in value.items():
            check_template(text, where=language)
        return value


class PublicTexts(TemplateTexts):
    """Texts for public comment threads: everyone reads them, so they never name the customer."""

    @field_validator("in_hours", "out_of_hours")
    @classmethod
    def _no_personal_data(cls, value: dict[str, str]) -> dict[str, str]:
        for language, text in value.items():
            for name in sorted(placeholders(text) & set(PERSONAL_PLACEHOLDERS)):
                raise ValueError(
                    f"{language}: {{{name}}} is personal data, which a public reply must not show"
                )
        return value


class TemplateSet(BaseModel):
    """One named acknowledgement: texts for every channel, and optional per-channel overrides.

    ``public``: the texts used in public comment threads (without them, a public thread gets no
    acknowledgement from this set: its other texts may greet the customer by name).
    """

    # Whether each text fits its channel is checked by carehooks.rules.templates (the limits are the
    # channels' own), which the loader and `carehooks config validate` run.

    model_config = ConfigDict(extra="forbid", frozen=True)

    in_hours: dict[str, str] = Field(default_factory=dict)
    out_of_hours: dict[str, str] = Field(default_factory=dict)
    channels: dict[Channel, TemplateTexts] = Field(default_factory=dict)
    public: PublicTexts | None = Field(
        None, description="texts for public comment threads (no {contact_name}: everyone reads them)"
    )
    fallback_name: dict[str, str] = Field(
        default_factory=dict,
        description="{contact_name} per language when the name is unknown (default: empty, and the space before it goes)",
    )

    @field_validator("in_hours", "out_of_hours")
    @classmethod
    def _valid_texts(cls, value: dict[str, str]) -> dict[str, str]:
        for language, text in value.items():
            check_template(text, where=language)
        return value


class AcknowledgementConfig(BaseModel):
    """How automatic acknowledgements behave (which messages get one is up to the rules)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    cooldown_hours: float = Field(
        12.0, ge=0, description="at most one acknowledgement per customer (channel + account) in this time"
    )
    templates: dict[str, TemplateSet] = Field(default_factory=dict)
