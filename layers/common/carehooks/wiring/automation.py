"""AutomationFunction's composition: one automation run with the store, clock, configuration and channels,
then the spike check (``check_spikes``), whose counts go into the result's ``extra`` and its metrics."""

from __future__ import annotations

from dataclasses import asdict

from carehooks import clock
from carehooks.automation.run import AutomationResult, run_automation
from carehooks.automation.spikes import check_spikes
from carehooks.delivery.send import deliver
from carehooks.notify.email import send_email
from carehooks.observability import metrics
from carehooks.wiring.config import load_config
from carehooks.wiring.store import get_store


def run_automation_once() -> AutomationResult:
    """One automation run with the process's store, clock, configuration and the channels' ``deliver``,
    then one spike check (it never raises: a fault is counted in ``SpikeCheckFailures``)."""
    store, now, config = get_store(), clock.now(), load_config()
    result = run_automation(store, now, config, deliver)
    spikes = check_spikes(store, config, send_email, now)
    result.extra["spikes"] = {k: v for k, v in asdict(spikes).items() if k != "findings"}
    metrics.add_metric(name="SpikesActive", unit="Count", value=spikes.active)
    metrics.add_metric(name="SpikeCheckFailures", unit="Count", value=spikes.failures)
    return result
