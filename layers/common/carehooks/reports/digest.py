"""The weekly digest to operations: last week's summary figures and a chart, the per-agent table and the
staffing heatmap, in one email, once a week.

Run by ``WeeklyDigestFunction`` (Mondays). The week is the seven UTC days before the Monday of the run;
the email is claimed per week (``CLAIM#digest#<monday>``) so a retried run never sends it twice, and the
claim is given back when sending fails so the retry can send it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any

from carehooks.config.calendars import Calendar
from carehooks.notify.email import build_message
from carehooks.notify.render import environment, render_email
from carehooks.observability import logger, metrics
from carehooks.reports.agents import agents_report
from carehooks.reports.chart import Day, daily_chart, duration_label, heatmap_chart
from carehooks.reports.hours import hours_report
from carehooks.reports.performance import cohort, default_zone
from carehooks.reports.summary import Filters, Period, summarize
from carehooks.store import Store

DIGEST_CLAIM = "digest"
DIGEST_CLAIM_TTL = timedelta(days=30)
CHART_CID = "daily-chart@carehooks"
HEATMAP_CID = "heatmap@carehooks"

Mailer = Callable[[EmailMessage, Sequence[str]], str]


@dataclass(frozen=True)
class DigestOutcome:
    status: str  # sent | already_sent | no_recipients
    period: Period
    message_id: str | None = None


def last_week(now: datetime) -> Period:
    """Monday 00:00 UTC to Monday 00:00 UTC, the week before the one ``now`` is in."""
    today = now.astimezone(UTC).date()
    monday = datetime.combine(today - timedelta(days=today.weekday()), time(0), tzinfo=UTC)
    return Period(monday - timedelta(days=7), monday)


def _seconds(value: float | None) -> str:
    return "-" if value is None else duration_label(value)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _figures(summary: dict[str, Any]) -> list[dict[str, str]]:
    conversations = summary["conversations"]
    first, resolution, csat = summary["first_response"], summary["resolution"], summary["csat"]
    rows = [
        {
            "label": "Conversations",
            "value": str(conversations["total"]),
            "note": f"previous week {conversations['previous_total']}",
        },
        {
            "label": "First response (median / p90)",
            "value": f"{_seconds(first['calendar']['median_seconds'])} / {_seconds(first['calendar']['p90_seconds'])}",
            "note": _business_note(first),
        },
        {
            "label": "Resolution (median / p90)",
            "value": f"{_seconds(resolution['calendar']['median_seconds'])} / {_seconds(resolution['calendar']['p90_seconds'])}",
            "note": _business_note(resolution),
        },
        {
            "label": "CSAT",
            "value": "-" if csat["average"] is None else f"{csat['average']:.2f} / 5",
            "note": f"{csat['responses']} answers, response rate {_percent(csat['response_rate'])}",
        },
    ]
    for metric, figures in summary["sla"].items():
        rows.append(
            {
                "label": f"SLA {metric.replace('_', ' ')}",
                "value": _percent(figures["attainment"]),
                "note": f"{figures['met']} met, {figures['missed']} missed",
            }
        )
    return rows


def _agent_rows(agents: dict[str, Any] | None) -> list[dict[str, str]]:
    """The per-agent table: one row per person who acted in the week's conversations."""
    rows = []
    for row in (agents or {}).get("items", []):
        first = row["first_response"]["calendar"]
        sla = row["sla"]["first_response"]
        rows.append(
            {
                "agent": row["name"] or row["agent"],
                "handled": str(row["conversations_handled"]),
                "replies": str(row["replies"]),
                "first_response": _seconds(first["median_seconds"]),
                "resolution": _seconds(row["resolution"]["calendar"]["median_seconds"]),
                "sla": _percent(sla["attainment"]),
                "csat": "-" if row["csat"]["average"] is None else f"{row['csat']['average']:.2f}",
                "fcr": _percent(row["first_contact_resolution"]["rate"]),
            }
        )
    return rows


def _business_note(durations: dict[str, Any]) -> str:
    business = durations.get("business")
    if not business:
        return ""
    return f"business hours {_seconds(business['median_seconds'])} / {_seconds(business['p90_seconds'])}"


@dataclass(frozen=True)
class Rendered:
    """A digest as sent: subject, HTML and text bodies, and its inline pictures (content id → PNG)."""

    subject: str
    html: str
    text: str
    images: dict[str, bytes]


def render_digest(
    summary: dict[str, Any],
    period: Period,
    agents: dict[str, Any] | None = None,
    hours: dict[str, Any] | None = None,
) -> Rendered:
    """The digest for ``summary``, with the per-agent table (``agents``) and heatmap (``hours``)."""
    last_day = (period.end - timedelta(days=1)).date()
    period_label = f"{period.start.date().isoformat()} to {last_day.isoformat()} (UTC)"
    csat = summary["csat"]
    subject = f"Weekly care report {period_label}: {summary['conversations']['total']} conversations"
    if csat["average"] is not None:
        subject += f", CSAT {csat['average']:.2f}"
    tags = [
        {
            **tag,
            "change_label": f"{tag['change']:+d}"
            + (f" ({tag['change_pct']:+.0f}%)" if tag["change_pct"] is not None else ""),
        }
        for tag in summary["tags"]
    ]
    context = {
        "subject": subject,
        "period_label": period_label,
        "figures": _figures(summary),
        "tags": tags,
        "distribution": [(score, csat["distribution"][score]) for score in ("5", "4", "3", "2", "1")],
        "chart_cid": CHART_CID,
        "agents": _agent_rows(agents),
        "heatmap_cid": HEATMAP_CID if hours is not None else None,
        "timezone": (hours or {}).get("timezone", "UTC"),
    }
    html, text = render_email(environment("carehooks.reports"), "weekly_digest", context)
    days = [
        Day(
            label=d["date"][5:],
            conversations=d["conversations"],
            first_response_seconds=d["first_response_median_seconds"],
        )
        for d in summary["daily"]
    ]
    images = {CHART_CID: daily_chart(days)}
    if hours is not None:
        images[HEATMAP_CID] = heatmap_chart(hours["cells"], hours["timezone"])
    return Rendered(subject, html, text, images)


_FILENAMES = {CHART_CID: "daily.png", HEATMAP_CID: "heatmap.png"}


def build_digest_email(sender: str, to: Sequence[str], digest: Rendered) -> EmailMessage:
    """The notify module's text + HTML message, with the pictures inline (``cid:``) in the HTML part."""
    message = build_message(sender, to, digest.subject, digest.html, digest.text)
    html_part = message.get_body(preferencelist=("html",))
    assert isinstance(html_part, EmailMessage)
    for cid, png in digest.images.items():
        html_part.add_related(
            png, maintype="image", subtype="png", cid=f"<{cid}>", filename=_FILENAMES.get(cid, "chart.png")
        )
    return message


def send_weekly_digest(
    store: Store,
    now: datetime,
    recipients: Sequence[str],
    mail: Mailer,
    sender: str,
    calendar: Calendar | None = None,
    names: dict[str, str] | None = None,
) -> DigestOutcome:
    """Compute last week's summary, per-agent table and heatmap and email them to ``recipients``, once per
    week."""
    period = last_week(now)
    if not recipients:
        logger.warning("weekly digest not sent: no ops recipients configured")
        return DigestOutcome("no_recipients", period)
    week = period.start.date().isoformat()
    if not store.claim(DIGEST_CLAIM, week, now, DIGEST_CLAIM_TTL, owner="weekly-digest"):
        return DigestOutcome("already_sent", period)
    try:
        # The week's conversations are read once for the summary, the agents and the heatmap.
        current = list(cohort(store, period))
        earlier = store.conversations_created(period.previous().start, period.previous().end)
        summary = summarize(current, earlier, period, Filters(), calendar)
        agents = agents_report(current, period, Filters(), calendar, names=names)
        hours = hours_report(current, period, default_zone(calendar))
        digest = render_digest(summary, period, agents, hours)
        message_id = mail(build_digest_email(sender, recipients, digest), recipients)
    except Exception:
        store.release_claim(DIGEST_CLAIM, week)
        raise
    store.mark_claim(DIGEST_CLAIM, week, message_id=message_id)
    metrics.add_metric(name="DigestsSent", unit="Count", value=1)
    logger.info("weekly digest sent", extra={"week": week, "recipients": len(recipients)})
    return DigestOutcome("sent", period, message_id)
