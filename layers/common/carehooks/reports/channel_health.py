"""Channel health: check every configured Meta subscription and email operations about problems.

Run on a schedule by ChannelHealthFunction. Each problem is emailed at most once per
:data:`ALERT_EVERY` per Page/WABA (a claim), and the claim is given back when the subscription is
healthy again, so the next failure is reported at once. Recipients: ``OPS_EMAIL`` (comma-separated).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from carehooks.channels.meta.graph import GraphClient
from carehooks.channels.meta.subscriptions import Kind, SubscriptionCheck, check
from carehooks.clock import iso
from carehooks.config.settings import secret, secret_list
from carehooks.notify.email import send_email
from carehooks.notify.render import render
from carehooks.observability import logger, metrics
from carehooks.store import Store

ALERT_EVERY = timedelta(hours=6)
CLAIM_KIND = "channel-health"

Mailer = Callable[[Sequence[str], str, str, str], object]


@dataclass
class HealthReport:
    checks: list[SubscriptionCheck] = field(default_factory=list)
    alerted: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[SubscriptionCheck]:
        return [c for c in self.checks if not c.ok]


def ops_recipients() -> list[str]:
    """Operations addresses (``OPS_EMAIL``, comma-separated)."""
    return [a.strip() for a in os.environ.get("OPS_EMAIL", "").split(",") if a.strip()]


def configured_objects() -> list[tuple[str, Kind]]:
    """Pages and WhatsApp Business Accounts to check."""
    pages: list[tuple[str, Kind]] = [(p, "page") for p in secret_list("META_PAGE_IDS")]
    wabas: list[tuple[str, Kind]] = [(w, "whatsapp_business_account") for w in secret_list("META_WABA_IDS")]
    return pages + wabas


def check_channels(
    store: Store, now: datetime, graph: GraphClient | None = None, mailer: Mailer | None = None
) -> HealthReport:
    """Check every subscription; email operations once per problem and period."""
    graph = graph or GraphClient()
    app_id = secret("META_APP_ID")
    report = HealthReport()
    for object_id, kind in configured_objects():
        result = check(graph, object_id, kind, app_id)
        report.checks.append(result)
        scope = f"{kind}#{object_id}"
        if result.ok:
            store.release_claim(CLAIM_KIND, scope)
            continue
        metrics.add_metric(name="MetaSubscriptionProblems", unit="Count", value=1)
        logger.error(
            "Meta subscription problem",
            extra={
                "object_id": object_id,
                "kind": kind,
                "problem": result.problem,
                "resubscribed": result.resubscribed,
            },
        )
        if store.claim(CLAIM_KIND, scope, now, ALERT_EVERY, owner="channel-health"):
            report.alerted.append(scope)
    alerts = [c for c in report.problems if f"{c.kind}#{c.object_id}" in report.alerted]
    if alerts:
        _email(alerts, now, store, mailer)
    logger.info(
        "channel health checked", extra={"checked": len(report.checks), "problems": len(report.problems)}
    )
    return report


def _email(alerts: list[SubscriptionCheck], now: datetime, store: Store, mailer: Mailer | None) -> None:
    recipients = ops_recipients()
    if not recipients:
        logger.error("channel problems found but OPS_EMAIL is not set; nobody was emailed")
        return

    context = {"checks": alerts, "checked_at": iso(now)}
    subject = f"[carehooks] {len(alerts)} Meta webhook subscription problem(s)"
    if mailer is None:
        mailer = send_email
    try:
        mailer(
            recipients,
            subject,
            render("channel_health.html", **context),
            render("channel_health.txt", **context),
        )
    except Exception:
        # Give the claims back so the next run tries again, then fail the run (its errors alarm fires).
        for alert in alerts:
            store.release_claim(CLAIM_KIND, f"{alert.kind}#{alert.object_id}")
        raise
    metrics.add_metric(name="ChannelHealthEmails", unit="Count", value=1)
