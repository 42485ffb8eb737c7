"""The scheduled functions' compositions: SLA monitor, survey dispatch, channel health, weekly digest."""

from __future__ import annotations

from carehooks import clock
from carehooks.config.loader import load_config
from carehooks.config.settings import settings
from carehooks.notify.email import send_email, send_message
from carehooks.reports.channel_health import HealthReport, check_channels
from carehooks.reports.digest import DigestOutcome, send_weekly_digest
from carehooks.reports.service import business_calendar
from carehooks.sla.current import setup_of
from carehooks.sla.monitor import MonitorResult, default_link_for, run_monitor
from carehooks.surveys.dispatch import DispatchReport, default_sender, dispatch_surveys
from carehooks.wiring.store import get_store


def run_sla_monitor(run_id: str | None = None) -> MonitorResult:
    """One SLA monitor run with the process's store, clock, configuration and SES."""
    setup = setup_of(load_config())
    return run_monitor(get_store(), clock.now(), setup, send_email, default_link_for(setup), run_id)


def run_survey_dispatch() -> DispatchReport:
    """Send the surveys due now."""
    return dispatch_surveys(get_store(), clock.now(), load_config().surveys_in_force, default_sender())


def run_channel_health() -> HealthReport:
    """Check the Meta webhook subscriptions; email ops about the broken ones."""
    return check_channels(get_store(), clock.now())


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
    )
