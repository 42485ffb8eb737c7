"""ChannelHealthFunction's composition: the Meta subscriptions checked, ops emailed about broken ones."""

from __future__ import annotations

from carehooks import clock
from carehooks.reports.channel_health import HealthReport, check_channels
from carehooks.wiring.store import get_store


def run_channel_health() -> HealthReport:
    """Check the Meta webhook subscriptions; email ops about the broken ones."""
    return check_channels(get_store(), clock.now())
