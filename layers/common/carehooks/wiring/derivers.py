"""What every conversation write derives (loaded by :mod:`carehooks.wiring.store` on the first write)."""

from __future__ import annotations

from carehooks.domain.conversations import Deriver, compose
from carehooks.domain.ledger import ledger_deriver
from carehooks.sla.current import setup_of
from carehooks.sla.deriver import sla_deriver
from carehooks.surveys.due import survey_deriver
from carehooks.wiring.config import ConfigSource


def derivers(config: ConfigSource) -> Deriver:
    """The survey due time, then the SLA clocks, their next due time and the state lists filter on, with
    the configuration ``config()`` in force at each write; then the agents' ledger credits the assignee
    and the SLA outcomes that just stopped (team reports)."""
    return compose(
        survey_deriver(lambda: config().surveys_in_force),
        sla_deriver(lambda: setup_of(config())),
        ledger_deriver,
    )
