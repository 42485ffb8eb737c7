"""AutomationFunction's composition: one automation run with the store, clock, configuration and channels.

Spike alerts (issue 17b) are called here too once merged: ``check_spikes(store, config, mailer, clock)``
after :func:`run_automation`, their counts added to the result's ``extra``.
"""

from __future__ import annotations

from carehooks import clock
from carehooks.automation.run import AutomationResult, run_automation
from carehooks.delivery.send import deliver
from carehooks.wiring.config import load_config
from carehooks.wiring.store import get_store


def run_automation_once() -> AutomationResult:
    """One automation run with the process's store, clock, configuration and the channels' ``deliver``."""
    return run_automation(get_store(), clock.now(), load_config(), deliver)
