"""Automatic acknowledgements: at most one per conversation, a cooldown per customer, never to ourselves.

The pure half (:func:`skip_reason`, :func:`draft`) decides whether a message may be acknowledged and what
the text is: template set, channel, language and in/out of business hours, placeholders rendered safely,
cut to the channel's limit. The dry run uses only that half.

:func:`acknowledge` adds the side effect, exactly once:

1. claim ``ack#<conversation id>`` (a DynamoDB conditional put, owned by the message): only one
   processing of one record of a conversation ever gets past it, also under redelivery and concurrent
   processing. The claim is reentrant for its own message while it is only ``claimed``, so a retry
   whose earlier attempt failed before sending (or could not give the claim back) is not locked out;
2. claim ``ack-contact#<channel>#<account>#<contact>`` with a TTL of the cooldown (owned by the
   conversation, reentrant likewise): a customer who opens several conversations in a row is
   acknowledged once (the conversation claim is given back);
3. move the claim to ``sending`` (a compare-and-set only one attempt wins), then send through
   :func:`carehooks.delivery.send.deliver`. A retryable failure (rate limit, outage, a bug) gives
   both claims back and re-raises, so the record is retried; a permanent failure (blocked, outside the
   window, bad credentials) is recorded on the claim and the decision, and not retried. An unknown
   outcome (the platform may have accepted it: a read timeout) keeps both claims and is recorded as
   ``unknown``: never sent twice. A sent acknowledgement's outcome is recorded on its claim only (the
   message's decision keeps ``pending``; readers settle it from the claim: ``store/rules.py``), which
   saves the message a second write.

Every skip has a readable reason, stored with the message's decision.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from carehooks.channels.traits import PUBLIC_TEXT_LIMIT, traits_for
from carehooks.channels.window import decide
from carehooks.clock import iso
from carehooks.config.calendars import is_open, local_time, next_opening
from carehooks.config.rules import TEMPLATE_TOKEN, TemplateSet
from carehooks.delivery.send import deliver
from carehooks.domain.models import Channel, Conversation, Direction, Message
from carehooks.outbound.models import OutboundMessage, OutcomeUnknownError, SendError, SendResult
from carehooks.outbound.text import fit
from carehooks.rules.language import UNDETERMINED

if TYPE_CHECKING:
    from carehooks.config.document import ConfigDocument
    from carehooks.rules.engine import AckPlan, Assignment
    from carehooks.store import Store

ACK_CLAIM = "ack"
ALREADY_ACKNOWLEDGED = "this conversation was already acknowledged"
ACK_CONTACT_CLAIM = "ack-contact"
# A conversation is acknowledged at most once in its life; the claim outlives any conversation.
CONVERSATION_CLAIM_TTL = timedelta(days=400)
MAX_VALUE_CHARS = 60

Deliver = Callable[[Conversation, OutboundMessage, "Store", datetime], SendResult]
AckStatus = Literal["sent", "skipped", "failed", "unknown"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")

WEEKDAYS: dict[str, tuple[str, ...]] = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "it": ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"),
    "pt": (
        "segunda-feira",
        "terça-feira",
        "quarta-feira",
        "quinta-feira",
        "sexta-feira",
        "sábado",
        "domingo",
    ),
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
}


# -- templates ------------------------------------------------------------------------------------------
def clean_value(value: str) -> str:
    """A placeholder value as plain text: no control or direction characters, one line, bounded."""
    flat = " ".join(_CONTROL.sub(" ", value).split())
    return flat[:MAX_VALUE_CHARS]


def render(text: str, values: dict[str, str]) -> str:
    """Substitute ``{name}`` placeholders with cleaned values; nothing else is interpreted.

    Unlike ``str.format`` there is no attribute or index access, and a value is never re-scanned for
    placeholders. An empty value takes the space before it along when punctuation follows
    ("Thanks {contact_name}, …" → "Thanks, …").
    """
    out: list[str] = []
    position = 0
    for match in TEMPLATE_TOKEN.finditer(text):
        out.append(text[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            out.append(token[0])
            continue
        value = clean_value(values.get(match.group(1) or "", ""))
        if (
            not value
            and out
            and out[-1].endswith(" ")
            and text[position : position + 1] in (",", ".", "!", "?", "")
        ):
            out[-1] = out[-1].rstrip(" ")
        out.append(value)
    out.append(text[position:])
    return "".join(out).strip()


def _pick(texts: dict[str, str], language: str) -> tuple[str, str] | None:
    base = language.split("-", maxsplit=1)[0].split("_", maxsplit=1)[0].lower()
    for candidate in (language, base):
        if candidate in texts:
            return candidate, texts[candidate]
    return None


def choose_text(
    template: TemplateSet,
    channel: Channel,
    language: str,
    in_hours: bool,
    default_language: str,
    public: bool = False,
) -> tuple[str, str] | None:
    """(language, text): the channel's override first, then the generic text; the language, then the default.

    ``public`` (a comment thread): only the set's ``public`` texts, never the others.
    """
    hours = "in_hours" if in_hours else "out_of_hours"
    if public:
        texts: dict[str, str] = getattr(template.public, hours) if template.public is not None else {}
        for wanted in (language, default_language):
            found = _pick(texts, wanted) if wanted != UNDETERMINED else None
            if found:
                return found
        return None
    override = template.channels.get(channel)
    for wanted in (language, default_language):
        if wanted == UNDETERMINED:
            continue
        if override is not None:
            found = _pick(getattr(override, hours), wanted)
            if found:
                return found
        found = _pick(getattr(template, hours), wanted)
        if found:
            return found
    return None


def format_reopen(reopen_local: datetime, now_local: datetime, language: str) -> dict[str, str]:
    """The ``reopen*`` placeholder values: "Monday 09:00", or the date when a week or more away."""
    names = WEEKDAYS.get(language.split("-", maxsplit=1)[0].lower(), WEEKDAYS["en"])
    day = names[reopen_local.weekday()]
    clock_text = reopen_local.strftime("%H:%M")
    date_text = reopen_local.date().isoformat()
    far = (reopen_local.date() - now_local.date()).days >= 7
    return {
        "reopen": f"{date_text} {clock_text}" if far else f"{day} {clock_text}",
        "reopen_day": day,
        "reopen_time": clock_text,
        "reopen_date": date_text,
    }


# -- the pure decision ----------------------------------------------------------------------------------
def skip_reason(message: Message, conv: Conversation, now: datetime, *, standby: bool = False) -> str | None:
    """Why this message must not be acknowledged, or None when it may be."""
    checks: tuple[tuple[bool, str], ...] = (
        (
            message.direction is not Direction.IN,
            "the message is from the business (an echo), not from the customer",
        ),
        (bool(message.origin_tag) or message.author == "carehooks", "the message is carehooks' own"),
        (standby, "another app owns this thread (standby): it answers, not carehooks"),
        (
            conv.status == "resolved",
            "the conversation is resolved (a late message from before the resolution)",
        ),
        (
            conv.last_outbound_at is not None
            and bool(conv.last_responder)
            and conv.last_outbound_at >= message.sent_at,
            f"{conv.last_responder} already replied after this message",
        ),
    )
    for failed, reason in checks:
        if failed:
            return reason
    window = decide(
        conv.channel, conv.last_inbound_at, OutboundMessage(text="", kind="ack"), now, public=conv.public
    )
    if not window.allowed:
        return window.reason or "outside the messaging window"
    return None


@dataclass(frozen=True)
class AckDraft:
    """The acknowledgement that would be sent."""

    template: str
    language: str
    in_hours: bool
    text: str
    calendar: str | None = None
    reopen: str | None = None
    details: dict[str, str] = field(default_factory=dict)


def _calendar_name(config: ConfigDocument, plan: AckPlan, team_id: str | None) -> str | None:
    if plan.calendar is not None:
        return plan.calendar
    team = config.teams_by_id.get(team_id or "")
    if team is not None and team.calendar is not None:
        return team.calendar
    return config.defaults.calendar


def draft(
    config: ConfigDocument,
    plan: AckPlan,
    conv: Conversation,
    language: str,
    now: datetime,
    assignment: Assignment | None = None,
) -> AckDraft | str:
    """The acknowledgement text for ``plan``, or a reason why there is none. Pure.

    ``assignment`` is what the rules just decided (the conversation may not show it yet): its team's
    calendar decides in/out of hours when the plan names none, and it fills ``{agent_name}``/``{team_name}``.
    """
    template = config.acknowledgement.templates.get(plan.template)
    if template is None:
        return f"no acknowledgement template named {plan.template!r}"
    agent_id = assignment.agent if assignment else conv.assignee
    team_id = assignment.team if assignment else conv.extra.get("team")
    calendar_name = _calendar_name(config, plan, str(team_id) if team_id else None)
    calendar = config.calendars.get(calendar_name or "")
    in_hours = True if calendar is None else is_open(calendar, now)
    chosen = choose_text(template, conv.channel, language, in_hours, config.defaults.language, conv.public)
    if chosen is None and conv.public:
        return (
            f"template {plan.template!r} has no public text for a comment thread (its other texts may "
            "name the customer, which a public reply must not)"
        )
    if chosen is None:
        hours = "in hours" if in_hours else "out of hours"
        return f"template {plan.template!r} has no {hours} text for {conv.channel} in {language!r} or the default language"
    used_language, text = chosen
    values = _values(config, template, conv, used_language, agent_id, team_id)
    reopen_text: str | None = None
    if calendar is not None and not in_hours:
        reopen = next_opening(calendar, now)
        if reopen is not None:
            values.update(
                format_reopen(local_time(calendar, reopen), local_time(calendar, now), used_language)
            )
            reopen_text = values["reopen"]
    rendered = render(text, values)
    # The channel's limit, counted its way (Telegram: UTF-16 units); a comment thread's for a public one.
    traits = traits_for(conv.channel)
    fitted = fit(rendered, PUBLIC_TEXT_LIMIT if conv.public else traits.text_limit, measure=traits.measure)
    return AckDraft(
        template=plan.template,
        language=used_language,
        in_hours=in_hours,
        text=fitted.text,
        calendar=calendar_name,
        reopen=reopen_text,
        details=dict(fitted.details),
    )


def _values(
    config: ConfigDocument,
    template: TemplateSet,
    conv: Conversation,
    language: str,
    agent_id: str | None,
    team_id: Any,
) -> dict[str, str]:
    # A public reply never carries the customer's name, whatever the template says.
    name = [] if conv.public else (conv.contact_name or "").split()
    fallback = _pick(template.fallback_name, language) or _pick(
        template.fallback_name, config.defaults.language
    )
    agent = config.agents_by_id.get(agent_id or "")
    team = config.teams_by_id.get(str(team_id or ""))
    return {
        "contact_name": name[0] if name else (fallback[1] if fallback else ""),
        "agent_name": (agent.name or agent.id) if agent else "",
        "team_name": (team.name or team.id) if team else "",
        "reference": conv.id[-8:],
    }


# -- the side effect ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AckOutcome:
    """What happened to an acknowledgement a rule asked for."""

    status: AckStatus
    reason: str = ""
    rule: str | None = None
    template: str | None = None
    language: str | None = None
    in_hours: bool | None = None
    text: str | None = None
    platform_message_id: str | None = None
    error_class: str | None = None

    def as_record(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None and v != ""}


def contact_scope(conv: Conversation) -> str:
    return f"{conv.channel}#{conv.account_id}#{conv.contact_id}"


def _default_deliver() -> Deliver:

    return deliver


def acknowledge(
    store: Store,
    config: ConfigDocument,
    plan: AckPlan,
    conv: Conversation,
    message: Message,
    now: datetime,
    *,
    language: str,
    assignment: Assignment | None = None,
    standby: bool = False,
    deliver: Deliver | None = None,
) -> AckOutcome:
    """Send the acknowledgement ``plan`` asks for, at most once per conversation.

    Returns the outcome (sent, skipped or permanently failed, with the reason). Raises when the send
    should be retried; both claims are given back first.
    """
    reason = skip_reason(message, conv, now, standby=standby)
    if reason is not None:
        return AckOutcome(status="skipped", reason=reason, rule=plan.rule, template=plan.template)
    prepared = draft(config, plan, conv, language, now, assignment)
    if isinstance(prepared, str):
        return AckOutcome(status="skipped", reason=prepared, rule=plan.rule, template=plan.template)
    owner = message.platform_message_id
    if not store.claim(ACK_CLAIM, conv.id, now, CONVERSATION_CLAIM_TTL, owner=owner, reentrant=True):
        return AckOutcome(
            status="skipped",
            reason=ALREADY_ACKNOWLEDGED,
            rule=plan.rule,
            template=plan.template,
        )
    cooldown = timedelta(hours=config.acknowledgement.cooldown_hours)
    scope = contact_scope(conv)
    if cooldown > timedelta(0) and not store.claim(
        ACK_CONTACT_CLAIM, scope, now, cooldown, owner=conv.id, reentrant=True
    ):
        store.release_claim(ACK_CLAIM, conv.id)
        hours = config.acknowledgement.cooldown_hours
        return AckOutcome(
            status="skipped",
            reason=f"cooldown: this customer was acknowledged in the last {hours:g} hours",
            rule=plan.rule,
            template=plan.template,
        )
    return _send(store, plan, prepared, conv, now, scope, cooldown, owner, deliver or _default_deliver())


def _send(
    store: Store,
    plan: AckPlan,
    prepared: AckDraft,
    conv: Conversation,
    now: datetime,
    scope: str,
    cooldown: timedelta,
    owner: str,
    send: Deliver,
) -> AckOutcome:
    """Send a claimed acknowledgement and settle the claims (see the module docstring)."""

    def outcome(status: AckStatus, **extra: Any) -> AckOutcome:
        return AckOutcome(
            status=status,
            rule=plan.rule,
            template=plan.template,
            language=prepared.language,
            in_hours=prepared.in_hours,
            text=prepared.text,
            **extra,
        )

    outbound = OutboundMessage(
        text=prepared.text, kind="ack", author="carehooks", origin_tag=f"ack:{conv.id}"
    )
    if not store.begin_send(ACK_CLAIM, conv.id, owner):
        # A concurrent attempt of the same message got there first and is sending it.
        return AckOutcome(
            status="skipped",
            reason=ALREADY_ACKNOWLEDGED,
            rule=plan.rule,
            template=plan.template,
        )
    try:
        result = send(conv, outbound, store, now)
    except SendError as exc:
        if exc.retryable:
            _release(store, conv, scope, cooldown, owner)
            raise
        result = SendResult(status="failed", reason=exc.reason, error_class=exc.error_class)
    except BaseException:
        _release(store, conv, scope, cooldown, owner)
        raise
    if result.status == "sent":
        # The outcome's one record: the message's decision keeps ``pending`` and readers settle it
        # from here (carehooks.store.rules.settle_ack), so the message is not written again.
        store.mark_claim(
            ACK_CLAIM,
            conv.id,
            outcome="sent",
            platform_message_id=result.platform_message_id or "",
            at=iso(now),
            rule=plan.rule or "",
            template=plan.template,
            language=prepared.language,
            in_hours="true" if prepared.in_hours else "false",
        )
        return outcome("sent", platform_message_id=result.platform_message_id)
    if result.retryable:
        _release(store, conv, scope, cooldown, owner)
        raise SendRetryError(result.reason or "the acknowledgement could not be sent; retrying")
    if result.error_class == OutcomeUnknownError.error_class:
        # The customer may have it: keep both claims, so it is never sent twice.
        store.mark_claim(ACK_CLAIM, conv.id, outcome="unknown", reason=result.reason or "", at=iso(now))
        return outcome("unknown", reason=result.reason or "unknown", error_class=result.error_class)
    # Permanent: keep the conversation's claim (marked) so no later message retries it; the customer
    # was not acknowledged, so the cooldown is given back.
    store.mark_claim(ACK_CLAIM, conv.id, outcome=result.status, reason=result.reason or "", at=iso(now))
    _release_cooldown(store, scope, cooldown)
    return outcome(
        "failed" if result.status == "failed" else "skipped",
        reason=result.reason or result.status,
        error_class=result.error_class,
    )


class SendRetryError(RuntimeError):
    """A send reported a retryable failure: the record is retried."""


def _release(
    store: Store, conv: Conversation, scope: str, cooldown: timedelta, owner: str | None = None
) -> None:
    if owner is not None:
        # Nothing went out: say so first, so a failed release cannot lock the retry out.
        store.cancel_send(ACK_CLAIM, conv.id, owner)
    store.release_claim(ACK_CLAIM, conv.id)
    _release_cooldown(store, scope, cooldown)


def _release_cooldown(store: Store, scope: str, cooldown: timedelta) -> None:
    if cooldown > timedelta(0):
        store.release_claim(ACK_CONTACT_CLAIM, scope)
