"""SlaMonitorFunction's composition: one monitor run with the store, clock, configuration and SES."""

from __future__ import annotations

from carehooks import clock
from carehooks.notify.email import send_email
from carehooks.sla.current import setup_of
from carehooks.sla.monitor import MonitorResult, default_link_for, run_monitor
from carehooks.wiring.config import load_config
from carehooks.wiring.store import get_store


def run_sla_monitor(run_id: str | None = None) -> MonitorResult:
    """One SLA monitor run with the process's store, clock, configuration and SES."""
    setup = setup_of(load_config())
    return run_monitor(get_store(), clock.now(), setup, send_email, default_link_for(setup), run_id)
