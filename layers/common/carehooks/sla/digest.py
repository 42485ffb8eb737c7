"""SLA digests: the alerts of one monitor run, grouped into one email per recipient group (pure).

Each digest lists one row per alert (channel, customer, the first words of their message, how long they
have waited, the target, the assignee and a link), grouped by severity, under a subject with the counts
and the longest wait: ``SLA breach: 3 conversations, longest 2 h 14 min``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from carehooks.channels.traits import traits_for
from carehooks.config.sla import LevelKind, Metric
from carehooks.domain.models import Conversation
from carehooks.notify.render import notify_environment, render_email
from carehooks.sla.clocks import Due

PREVIEW_WORDS = 12
PREVIEW_CHARS = 90

METRIC_LABELS = {
    Metric.FIRST_RESPONSE: "first response",
    Metric.NEXT_RESPONSE: "next response",
    Metric.RESOLUTION: "resolution",
}
SEVERITY = {LevelKind.ESCALATION: 0, LevelKind.BREACH: 1, LevelKind.WARNING: 2}
COLORS = {LevelKind.ESCALATION: "#7f1d1d", LevelKind.BREACH: "#b91c1c", LevelKind.WARNING: "#b45309"}
SECTION_TITLES = {
    LevelKind.ESCALATION: "Escalations",
    LevelKind.BREACH: "Breaches",
    LevelKind.WARNING: "Warnings",
}
PLURALS = {LevelKind.ESCALATION: "escalations", LevelKind.BREACH: "breaches", LevelKind.WARNING: "warnings"}

LinkFor = Callable[[str], str | None]


@dataclass(frozen=True)
class Alert:
    """One due rung of one conversation's clock, claimed for sending in this run."""

    conversation: Conversation
    due: Due
    scope: str  # the claim scope


@dataclass(frozen=True)
class Row:
    """What a digest shows about one alert (all plain strings: the template escapes them)."""

    kind: str
    level: str
    channel: str
    customer: str
    message: str
    waiting: str
    target: str
    metric: str
    calendar: str | None
    assignee: str
    link: str | None
    wait_seconds: float


@dataclass(frozen=True)
class Digest:
    """One email: who receives it, what it says, and which alerts it carries."""

    recipients: tuple[str, ...]
    subject: str
    html: str
    text: str
    alerts: tuple[Alert, ...]


def format_wait(value: timedelta) -> str:
    """``48 min``, ``2 h 14 min``, ``3 d 2 h``: minutes are enough precision for a wait."""
    minutes = max(0, int(value.total_seconds() // 60))
    if minutes < 1:
        return "under 1 min"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def first_words(text: str) -> str:
    """The first words of a message, on one line, cut at a word boundary with an ellipsis."""
    words = text.split()
    if not words:
        return "(no text)"
    short = " ".join(words[:PREVIEW_WORDS])
    if len(short) > PREVIEW_CHARS:
        short = short[:PREVIEW_CHARS].rsplit(" ", 1)[0] or short[:PREVIEW_CHARS]
    return short + ("…" if short != " ".join(words) else "")


def level_label(due: Due) -> str:
    if due.step.kind is LevelKind.ESCALATION:
        return f"Escalation {due.step.name.rsplit('-', 1)[-1]}"
    return due.step.kind.value.capitalize()


def row_for(alert: Alert, now: datetime, link_for: LinkFor) -> Row:
    conv, due = alert.conversation, alert.due
    wait = now - due.waiting_since
    return Row(
        kind=due.step.kind.value,
        level=level_label(due),
        channel=traits_for(conv.channel).label,
        customer=conv.contact_name or conv.contact_id,
        message=first_words(conv.preview),
        waiting=format_wait(wait),
        target=format_wait(due.target),
        metric=METRIC_LABELS[due.metric],
        calendar=due.policy.calendar,
        assignee=conv.assignee or "unassigned",
        link=link_for(conv.id),
        wait_seconds=wait.total_seconds(),
    )


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def subject_for(alerts: list[Alert], now: datetime) -> str:
    """``SLA breach: 3 conversations, longest 2 h 14 min``; mixed levels add their counts."""
    kinds = sorted({a.due.step.kind for a in alerts}, key=SEVERITY.__getitem__)
    conversations = len({a.conversation.id for a in alerts})
    longest = max(now - a.due.waiting_since for a in alerts)
    head = f"SLA {kinds[0].value}: {_plural(conversations, 'conversation', 'conversations')}"
    if len(kinds) > 1:
        counts = ", ".join(
            _plural(sum(1 for a in alerts if a.due.step.kind is k), k.value, PLURALS[k]) for k in kinds
        )
        head += f" ({counts})"
    return f"{head}, longest {format_wait(longest)}"


def build_digests(alerts: list[Alert], now: datetime, link_for: LinkFor) -> list[Digest]:
    """One digest per recipient group (the same set of addresses), rows by severity then longest wait."""
    groups: dict[tuple[str, ...], list[Alert]] = {}
    for alert in alerts:
        recipients = tuple(sorted({r.strip().lower() for r in alert.due.step.recipients}))
        groups.setdefault(recipients, []).append(alert)
    digests = []
    for recipients, members in sorted(groups.items()):
        members.sort(key=lambda a: (SEVERITY[a.due.step.kind], a.due.waiting_since, a.conversation.id))
        subject = subject_for(members, now)
        rows = [row_for(a, now, link_for) for a in members]
        sections = []
        for kind in sorted({a.due.step.kind for a in members}, key=SEVERITY.__getitem__):
            section_rows = [r for r in rows if r.kind == kind.value]
            sections.append(
                {
                    "kind": kind.value,
                    "title": SECTION_TITLES[kind],
                    "color": COLORS[kind],
                    "rows": section_rows,
                }
            )
        worst = min((a.due.step.kind for a in members), key=SEVERITY.__getitem__)
        context = {
            "subject": subject,
            "color": COLORS[worst],
            "sections": sections,
            "generated_at": now.strftime("%Y-%m-%d %H:%M UTC"),
            "recipients": ", ".join(recipients),
        }
        html, text = render_email(notify_environment(), "sla_digest", context)
        digests.append(
            Digest(recipients=recipients, subject=subject, html=html, text=text, alerts=tuple(members))
        )
    return digests
