"""The rules engine: a pure function of (config, message, context, now) → :class:`Decision`.

Rules run in their declared order. A rule whose condition holds runs its actions in order; ``stop``
ends the evaluation. Actions see what earlier ones did (a rule can test a tag an earlier rule added).
Nothing here does I/O: the inbound step, the dry run and the replay all call :func:`evaluate` and
differ only in what they do with the decision.

Conditions are compiled once per configuration document into closures; ``all``/``any`` children are
reordered cheapest first (the tests are pure, so order cannot change the result), and the facts a test
needs (normalized words, language, business hours) are computed on first use, once per message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from carehooks.clock import iso
from carehooks.config import rules as rc
from carehooks.config.calendars import is_open
from carehooks.config.text import compile_regex, phrase_key, words
from carehooks.domain.models import Conversation, Message
from carehooks.rules.language import UNDETERMINED, detect_language
from carehooks.rules.matching import WordMatcher

if TYPE_CHECKING:
    from carehooks.config.document import ConfigDocument

PRIORITY_RANK = {name: rank for rank, name in enumerate(rc.PRIORITIES)}
# Responders that are not people: automation and replies typed in the platform's own inbox (unknown who).
NOT_AGENTS = frozenset({"carehooks", "platform-inbox"})


@dataclass(frozen=True)
class Context:
    """What the rules may know besides the message: its conversation and the customer's history.

    ``history`` holds the customer's other conversations on this channel and account, newest first
    (needed for ``returning_customer`` and for assigning the last agent).
    """

    conversation: Conversation
    history: tuple[Conversation, ...] = ()
    new_conversation: bool = False
    reopened: bool = False


ActionStatus = Literal["ran", "skipped"]


class ActionRecord(NamedTuple):
    """One action of a matched rule: what it did, or why it did nothing (a tuple: cheap to make)."""

    rule: str
    action: str
    status: ActionStatus
    detail: str


@dataclass(frozen=True)
class Assignment:
    agent: str | None
    team: str | None
    rule: str
    reason: str


@dataclass(frozen=True)
class AckPlan:
    """An acknowledgement a rule asked for (whether it is sent is up to :mod:`carehooks.rules.acknowledge`)."""

    rule: str
    template: str
    calendar: str | None


@dataclass(frozen=True)
class HidePlan:
    """A rule asked to hide the comment (done by :mod:`carehooks.rules.step`)."""

    rule: str


@dataclass(frozen=True)
class PrivateReplyPlan:
    """A rule asked for a private reply to the comment, with the texts of ``template``."""

    rule: str
    template: str


@dataclass(frozen=True)
class Decision:
    """Everything the rules decided for one message."""

    config_version: str
    config_digest: str
    evaluated_at: datetime
    language: str
    matched: tuple[str, ...]
    actions: tuple[ActionRecord, ...]
    tags: tuple[str, ...]
    tags_added: tuple[str, ...]
    tags_removed: tuple[str, ...]
    priority: str | None
    assignment: Assignment | None
    ack: AckPlan | None
    stopped_by: str | None = None
    hide: HidePlan | None = None
    private_reply: PrivateReplyPlan | None = None

    @property
    def changes_conversation(self) -> bool:
        return bool(self.tags_added or self.tags_removed or self.priority or self.assignment)

    def as_record(self) -> dict[str, Any]:
        """The decision as stored with the message (plain JSON-like values)."""
        record: dict[str, Any] = {
            "config_version": self.config_version,
            "config_digest": self.config_digest,
            "evaluated_at": iso(self.evaluated_at),
            "language": self.language,
            "matched": list(self.matched),
            "actions": [
                {"rule": a.rule, "action": a.action, "status": a.status, "detail": a.detail}
                for a in self.actions
            ],
            "tags_added": list(self.tags_added),
            "tags_removed": list(self.tags_removed),
        }
        if self.priority is not None:
            record["priority"] = self.priority
        if self.assignment is not None:
            record["assignment"] = {
                "agent": self.assignment.agent,
                "team": self.assignment.team,
                "rule": self.assignment.rule,
                "reason": self.assignment.reason,
            }
        if self.ack is not None:
            record["ack_plan"] = {"rule": self.ack.rule, "template": self.ack.template}
            if self.ack.calendar is not None:
                record["ack_plan"]["calendar"] = self.ack.calendar
        if self.hide is not None:
            record["hide_plan"] = {"rule": self.hide.rule}
        if self.private_reply is not None:
            record["private_reply_plan"] = {
                "rule": self.private_reply.rule,
                "template": self.private_reply.template,
            }
        if self.stopped_by is not None:
            record["stopped_by"] = self.stopped_by
        return record


# -- facts ----------------------------------------------------------------------------------------------
class Facts:
    """The message's fields as the tests see them; derived ones are computed on first use.

    Tags, priority, assignee and team are the evaluation's running state (actions change them).
    """

    def __init__(self, config: ConfigDocument, message: Message, context: Context, now: datetime) -> None:
        conv = context.conversation
        self.config = config
        self.message = message
        self.context = context
        self.now = now
        self.text = message.text or ""
        self.channel = str(message.channel)
        self.account = message.account_id
        self.customer = message.contact_id
        self.kind = message.kind
        self.status = conv.status
        self.tags = list(conv.tags)
        self.tag_set = set(conv.tags)
        self.priority = conv.priority
        self.assignee = conv.assignee
        self.team: str | None = conv.extra.get("team")
        self.new_conversation = context.new_conversation
        self.reopened = context.reopened
        self.visibility = "public" if conv.public else "private"
        self._hours: dict[str, bool] = {}

    @cached_property
    def word_set(self) -> frozenset[str]:
        return frozenset(self.word_list)

    @cached_property
    def word_list(self) -> list[str]:
        return words(self.text)

    @cached_property
    def joined(self) -> str:
        return f" {' '.join(self.word_list)} "

    @cached_property
    def language(self) -> str:
        detected = detect_language(self.text, self.word_list)
        if detected == UNDETERMINED:
            known = self.context.conversation.extra.get("language")
            return str(known) if known else UNDETERMINED
        return detected

    @cached_property
    def attachment_kinds(self) -> frozenset[str]:
        return frozenset(str(a.get("kind", "")) for a in self.message.attachments)

    @cached_property
    def returning_customer(self) -> bool:
        current = self.context.conversation.id
        return any(conv.id != current for conv in self.context.history)

    @cached_property
    def vip(self) -> bool:
        return f"{self.channel}:{self.customer}" in self.config.vip_set

    def within_hours(self, calendar: str | None) -> bool:
        name = calendar or self.config.defaults.calendar or ""
        if name not in self._hours:
            found = self.config.calendars.get(name)
            self._hours[name] = True if found is None else is_open(found, self.now)
        return self._hours[name]


Test = Callable[[Facts], bool]


# -- compilation ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CompiledRule:
    rule: rc.Rule
    test: Test | None
    # (method of _Run, its argument) per action, in order; None marks ``stop``.
    steps: tuple[tuple[Callable[[_Run, str, Any], None], Any] | None, ...] = ()


@dataclass
class Program:
    """A configuration's rules, compiled.

    ``by_word`` indexes the rules that cannot match unless the message contains one of some words (a
    required keyword or phrase): a message only tests those rules whose words it has, plus
    ``unindexed`` (rules without such a requirement), which is what keeps 200 rules fast.
    """

    rules: tuple[CompiledRule, ...]
    needs_history: bool = False
    by_word: dict[str, tuple[int, ...]] = field(default_factory=dict)
    unindexed: tuple[int, ...] = ()

    def candidates(self, facts: Facts) -> list[int]:
        """Positions of the rules that may match, in declared order."""
        if not self.by_word:
            return list(range(len(self.rules)))
        found = set(self.unindexed)
        by_word = self.by_word
        for word in facts.word_set:
            hits = by_word.get(word)
            if hits:
                found.update(hits)
        return sorted(found)


_VALUE_FIELDS = (
    "channel",
    "account",
    "customer",
    "language",
    "kind",
    "status",
    "priority",
    "assignee",
    "team",
    "visibility",
)
_BOOL_FIELDS = ("returning_customer", "vip", "new_conversation", "reopened")


def _value_test(name: str, test: rc.ValueTest) -> tuple[int, Test]:
    cost = 4 if name == "language" else 1
    if test.equals is not None:
        value = test.equals

        def equals(f: Facts) -> bool:
            return bool(getattr(f, name) == value)

        return cost, equals
    allowed = frozenset(test.in_ or ())

    def within(f: Facts) -> bool:
        return getattr(f, name) in allowed

    return cost, within


def _list_test(getter: Callable[[Facts], Any], test: rc.ListTest) -> tuple[int, Test]:
    if test.equals is not None:
        value = test.equals
        return 1, lambda f: value in getter(f)
    if test.in_ is not None:
        allowed = frozenset(test.in_)
        return 1, lambda f: not allowed.isdisjoint(getter(f))
    expect_empty = bool(test.empty)
    return 1, lambda f: (len(getter(f)) == 0) is expect_empty


def _text_tests(test: rc.TextTest) -> list[tuple[int, Test]]:
    out: list[tuple[int, Test]] = []
    if test.equals is not None:
        key = phrase_key(test.equals)
        out.append((2, lambda f: f.joined == key))
    if test.in_ is not None:
        keys = frozenset(phrase_key(v) for v in test.in_)
        out.append((2, lambda f: f.joined in keys))
    if test.keyword is not None:
        keyword = WordMatcher(test.keyword)
        out.append((2, lambda f: keyword.matches(f.word_set, f.joined)))
    if test.phrase is not None:
        phrase = WordMatcher(test.phrase)
        out.append((3, lambda f: phrase.matches(f.word_set, f.joined)))
    if test.regex is not None:
        pattern = compile_regex(test.regex)
        search = pattern.search
        out.append((8, lambda f: search(f.text) is not None))
    return out


def _field_tests(node: rc.FieldCondition, program: Program) -> list[tuple[int, Test]]:
    tests: list[tuple[int, Test]] = []
    for name in _VALUE_FIELDS:
        value_test = getattr(node, name)
        if value_test is not None:
            tests.append(_value_test(name, value_test))
    if node.text is not None:
        tests.extend(_text_tests(node.text))
    if node.tags is not None:
        tests.append(_list_test(lambda f: f.tag_set, node.tags))
    if node.attachments is not None:
        tests.append(_list_test(lambda f: f.attachment_kinds, node.attachments))
    if node.within_hours is not None:
        calendar, expected = node.within_hours.calendar, node.within_hours.equals
        tests.append((5, lambda f: f.within_hours(calendar) is expected))
    for name in _BOOL_FIELDS:
        flag = getattr(node, name)
        if flag is not None:
            if name == "returning_customer":
                program.needs_history = True
            tests.append((1, _bool_test(name, flag)))
    if node.assigned is not None:
        assigned = node.assigned
        tests.append((1, lambda f: (f.assignee is not None) is assigned))
    return tests


def _bool_test(name: str, expected: bool) -> Test:
    def check(f: Facts) -> bool:
        return bool(getattr(f, name)) is expected

    return check


def _all(tests: Sequence[tuple[int, Test]]) -> tuple[int, Test]:
    ordered = sorted(tests, key=lambda t: t[0])
    cost = sum(t[0] for t in ordered)
    if len(ordered) == 1:
        return ordered[0]
    if len(ordered) == 2:
        first, second = ordered[0][1], ordered[1][1]
        return cost, lambda f: first(f) and second(f)
    funcs = tuple(t[1] for t in ordered)

    def every(f: Facts) -> bool:
        for test in funcs:  # noqa: SIM110 (a plain loop: no generator per call on the hot path)
            if not test(f):
                return False
        return True

    return cost, every


def _any(tests: Sequence[tuple[int, Test]]) -> tuple[int, Test]:
    ordered = sorted(tests, key=lambda t: t[0])
    cost = sum(t[0] for t in ordered)
    if len(ordered) == 1:
        return ordered[0]
    funcs = tuple(t[1] for t in ordered)

    def some(f: Facts) -> bool:
        for test in funcs:  # noqa: SIM110 (a plain loop: no generator per call on the hot path)
            if test(f):
                return True
        return False

    return cost, some


def _compile(node: Any, program: Program) -> tuple[int, Test]:
    if isinstance(node, rc.AllCondition):
        return _all([_compile(child, program) for child in node.all])
    if isinstance(node, rc.AnyCondition):
        return _any([_compile(child, program) for child in node.any])
    if isinstance(node, rc.NotCondition):
        cost, inner = _compile(node.not_, program)
        return cost, lambda f: not inner(f)
    assert isinstance(node, rc.FieldCondition)
    return _all(_field_tests(node, program))


def required_words(node: Any) -> frozenset[str] | None:
    """Words of which a message must contain at least one for ``node`` to hold; None when there are none.

    A keyword test needs one of its words; a phrase needs all of its words, so one (the longest, likely
    the rarest) stands for it. ``all`` needs what its most selective child needs; ``any`` needs the union
    of its children's, if each has one; ``not`` and the other tests need nothing in particular.
    """
    if isinstance(node, rc.AllCondition):
        options = [w for w in (required_words(child) for child in node.all) if w is not None]
        return min(options, key=len) if options else None
    if isinstance(node, rc.AnyCondition):
        union: set[str] = set()
        for child in node.any:
            found = required_words(child)
            if found is None:
                return None
            union |= found
        return frozenset(union)
    if isinstance(node, rc.FieldCondition) and node.text is not None:
        options = []
        if node.text.keyword is not None:
            options.append(_words_of(node.text.keyword))
        if node.text.phrase is not None:
            options.append(_words_of(node.text.phrase))
        return min(options, key=len) if options else None
    return None


def _words_of(items: list[str]) -> frozenset[str]:
    return frozenset(max(words(item), key=len) for item in items)


def _step(action: Any) -> tuple[Callable[[_Run, str, Any], None], Any] | None:
    """An action as (method, argument), so evaluation dispatches without type checks; None for ``stop``."""
    if isinstance(action, rc.Stop):
        return None
    method, argument = _ACTION_STEPS[type(action)]
    return method, argument(action)


def compile_rules(config: ConfigDocument) -> Program:
    """Compile every enabled rule of ``config`` (see :func:`program_for` for the cached form)."""
    program = Program(rules=())
    compiled: list[CompiledRule] = []
    by_word: dict[str, list[int]] = {}
    unindexed: list[int] = []
    for rule in config.rules:
        if not rule.enabled:
            continue
        test = _compile(rule.when, program)[1] if rule.when is not None else None
        for action in rule.then:
            if isinstance(action, rc.Assign) and action.assign.last_agent_within_days is not None:
                program.needs_history = True
        position = len(compiled)
        required = required_words(rule.when) if rule.when is not None else None
        if required is None:
            unindexed.append(position)
        else:
            for word in required:
                by_word.setdefault(word, []).append(position)
        compiled.append(CompiledRule(rule=rule, test=test, steps=tuple(_step(a) for a in rule.then)))
    program.rules = tuple(compiled)
    program.by_word = {word: tuple(positions) for word, positions in by_word.items()}
    program.unindexed = tuple(unindexed)
    return program


_PROGRAMS: dict[int, tuple[ConfigDocument, Program]] = {}
_MAX_PROGRAMS = 4


def program_for(config: ConfigDocument) -> Program:
    """The compiled rules of this document, compiled once (keyed by the document object)."""
    cached = _PROGRAMS.get(id(config))
    if cached is not None and cached[0] is config:
        return cached[1]
    program = compile_rules(config)
    if len(_PROGRAMS) >= _MAX_PROGRAMS:
        _PROGRAMS.pop(next(iter(_PROGRAMS)))
    _PROGRAMS[id(config)] = (config, program)
    return program


# -- evaluation -----------------------------------------------------------------------------------------
class _Run:
    """The running state of one evaluation."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.actions: list[ActionRecord] = []
        self.added: list[str] = []
        self.removed: list[str] = []
        self.priority: str | None = None
        self.assignment: Assignment | None = None
        self.ack: AckPlan | None = None
        self.hide: HidePlan | None = None
        self.private: PrivateReplyPlan | None = None

    def record(self, rule: str, action: str, status: ActionStatus, detail: str) -> None:
        self.actions.append(ActionRecord(rule, action, status, detail))

    def add_tags(self, rule: str, tags: Sequence[str]) -> None:
        f = self.facts
        new = [t for t in tags if t not in f.tag_set]
        for tag in new:
            f.tags.append(tag)
            f.tag_set.add(tag)
            if tag in self.removed:
                self.removed.remove(tag)
            else:
                self.added.append(tag)
        if new:
            self.record(rule, "add_tags", "ran", f"added {', '.join(new)}")
        else:
            self.record(rule, "add_tags", "skipped", f"already tagged {', '.join(tags)}")

    def remove_tags(self, rule: str, tags: Sequence[str]) -> None:
        f = self.facts
        gone = [t for t in tags if t in f.tag_set]
        for tag in gone:
            f.tags.remove(tag)
            f.tag_set.discard(tag)
            if tag in self.added:
                self.added.remove(tag)
            else:
                self.removed.append(tag)
        if gone:
            self.record(rule, "remove_tags", "ran", f"removed {', '.join(gone)}")
        else:
            self.record(rule, "remove_tags", "skipped", f"not tagged {', '.join(tags)}")

    def set_priority(self, rule: str, priority: str) -> None:
        f = self.facts
        current = f.priority
        if priority == current:
            self.record(rule, "set_priority", "skipped", f"priority is already {priority}")
        elif PRIORITY_RANK[priority] < PRIORITY_RANK.get(current, 0):
            self.record(
                rule, "set_priority", "skipped", f"rules never lower a priority ({current} > {priority})"
            )
        else:
            f.priority = priority
            self.priority = priority
            self.record(rule, "set_priority", "ran", f"{current} → {priority}")

    def assign(self, rule: str, target: rc.AssignTarget) -> None:
        f = self.facts
        if not target.override:
            if self.assignment is not None:
                self.record(rule, "assign", "skipped", f"rule {self.assignment.rule} already assigned it")
                return
            if f.assignee is not None or f.team is not None:
                who = f.assignee if f.assignee is not None else f"team {f.team}"
                self.record(rule, "assign", "skipped", f"already assigned to {who}")
                return
        agent: str | None = None
        reason = ""
        if target.last_agent_within_days is not None:
            found = last_agent(f.config, f.context, f.now, timedelta(days=target.last_agent_within_days))
            if found is not None:
                agent, served_at = found
                reason = f"last agent: {agent} served this customer on {iso(served_at)}"
            else:
                reason = (
                    f"no active agent served this customer in the last {target.last_agent_within_days:g} days"
                )
        if agent is None and target.agent is not None:
            if _is_active_agent(f.config, target.agent):
                agent = target.agent
                reason = f"{reason}; " if reason else ""
                reason += f"agent {agent}"
            else:
                reason = f"{reason}; " if reason else ""
                reason += f"agent {target.agent} is not active"
        team = target.team if target.team is not None else f.team
        if agent is None and target.team is None:
            self.record(rule, "assign", "skipped", f"{reason}, and no team to fall back to")
            return
        if agent is None:
            reason = f"{reason}; team {team}" if reason else f"team {team}"
        f.assignee = agent
        f.team = team
        self.assignment = Assignment(agent=agent, team=team, rule=rule, reason=reason)
        self.record(rule, "assign", "ran", reason)

    def acknowledge(self, rule: str, target: rc.AcknowledgeWith) -> None:
        if not self.facts.config.acknowledgement.enabled:
            self.record(rule, "acknowledge", "skipped", "acknowledgements are disabled in the configuration")
        elif self.ack is not None:
            self.record(
                rule, "acknowledge", "skipped", f"rule {self.ack.rule} already chose an acknowledgement"
            )
        else:
            self.ack = AckPlan(rule=rule, template=target.template, calendar=target.calendar)
            self.record(rule, "acknowledge", "ran", f"template {target.template}")

    def hide_comment(self, rule: str, _: None) -> None:
        if self.facts.visibility != "public":
            self.record(rule, "hide_comment", "skipped", "not a public comment: only comments are hidden")
        elif self.hide is not None:
            self.record(rule, "hide_comment", "skipped", f"rule {self.hide.rule} already hides it")
        else:
            self.hide = HidePlan(rule=rule)
            self.record(rule, "hide_comment", "ran", "hide the comment")

    def private_reply(self, rule: str, target: rc.PrivateReplyWith) -> None:
        if self.facts.visibility != "public":
            self.record(
                rule, "private_reply", "skipped", "not a public comment: private replies answer comments"
            )
        elif self.private is not None:
            self.record(
                rule, "private_reply", "skipped", f"rule {self.private.rule} already chose a private reply"
            )
        else:
            self.private = PrivateReplyPlan(rule=rule, template=target.template)
            self.record(rule, "private_reply", "ran", f"template {target.template}")


_ACTION_STEPS: dict[type, tuple[Callable[[_Run, str, Any], None], Callable[[Any], Any]]] = {
    rc.AddTags: (_Run.add_tags, lambda a: tuple(a.add_tags)),
    rc.RemoveTags: (_Run.remove_tags, lambda a: tuple(a.remove_tags)),
    rc.SetPriority: (_Run.set_priority, lambda a: a.set_priority),
    rc.Assign: (_Run.assign, lambda a: a.assign),
    rc.Acknowledge: (_Run.acknowledge, lambda a: a.acknowledge),
    rc.HideComment: (_Run.hide_comment, lambda a: None),
    rc.PrivateReply: (_Run.private_reply, lambda a: a.private_reply),
}


def _is_active_agent(config: ConfigDocument, agent_id: str) -> bool:
    """A configured, active agent; when no agents are configured, any person (not automation)."""
    if agent_id in NOT_AGENTS:
        return False
    if not config.agents:
        return True
    agent = config.agents_by_id.get(agent_id)
    return agent is not None and agent.active


def last_agent(
    config: ConfigDocument, context: Context, now: datetime, within: timedelta
) -> tuple[str, datetime] | None:
    """The active agent who most recently served this customer within ``within``, and when.

    "Served" is answering (``last_responder``, at ``last_outbound_at``) or being assigned (``assignee``, at
    the conversation's last activity), in this conversation or an earlier one of the customer.
    """
    best: tuple[str, datetime] | None = None
    since = now - within
    for conv in (context.conversation, *context.history):
        candidates = (
            (conv.last_responder, conv.last_outbound_at),
            (conv.assignee, conv.last_activity_at or conv.created_at),
        )
        for agent, at in candidates:
            if agent is None or at is None or at < since or at > now:
                continue
            if not _is_active_agent(config, agent):
                continue
            if best is None or at > best[1]:
                best = (agent, at)
    return best


def evaluate(config: ConfigDocument, message: Message, context: Context, now: datetime) -> Decision:
    """Run the configuration's rules on one message. Pure: no I/O, same inputs → same decision."""
    program = program_for(config)
    facts = Facts(config, message, context, now)
    run = _Run(facts)
    matched: list[str] = []
    stopped_by: str | None = None
    rules = program.rules
    for position in program.candidates(facts):
        compiled = rules[position]
        if compiled.test is not None and not compiled.test(facts):
            continue
        rule_id = compiled.rule.id
        matched.append(rule_id)
        for step in compiled.steps:
            if step is None:
                run.record(rule_id, "stop", "ran", "no further rule runs")
                stopped_by = rule_id
                break
            step[0](run, rule_id, step[1])
        if stopped_by is not None:
            break
    return Decision(
        config_version=config.version,
        config_digest=config.digest,
        evaluated_at=now,
        language=facts.language,
        matched=tuple(matched),
        actions=tuple(run.actions),
        tags=tuple(facts.tags),
        tags_added=tuple(run.added),
        tags_removed=tuple(run.removed),
        priority=run.priority,
        assignment=run.assignment,
        ack=run.ack,
        stopped_by=stopped_by,
        hide=run.hide,
        private_reply=run.private,
    )
