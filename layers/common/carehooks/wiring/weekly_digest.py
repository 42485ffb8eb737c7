"""WeeklyDigestFunction's composition: last week's digest to the ops recipients, once."""

from __future__ import annotations

from carehooks import clock
from carehooks.config.settings import settings
from carehooks.notify.email import send_message
from carehooks.reports.digest import DigestOutcome, send_weekly_digest
from carehooks.reports.service import business_calendar
from carehooks.wiring.config import load_config
from carehooks.wiring.store import get_store


def run_weekly_digest() -> DigestOutcome:
    """Last week's digest to the ops recipients, once."""
    config = load_config()
    return send_weekly_digest(
        get_store(),
        clock.now(),
        list(config.ops.recipients),
        send_message,
        settings().mail_from,
        business_calendar(config),
        names={agent.id: agent.name for agent in config.agents if agent.name},
    )
