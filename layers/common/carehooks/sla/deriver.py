"""The SLA deriver the store runs on every conversation write (the composition point gives it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from carehooks.domain.conversations import Deriver
from carehooks.domain.models import Conversation
from carehooks.observability import logger, metrics
from carehooks.sla.clocks import Attainment, derive_sla
from carehooks.sla.current import SlaSetup


def sla_deriver(setup: Callable[[], SlaSetup]) -> Deriver:
    """The deriver of the SLA clocks, ``sla_due_at`` and ``sla_state``, with the setup in force."""

    def derive_sla_due(conv: Conversation, now: datetime) -> Conversation:
        """Never raises: a fault in SLA bookkeeping is logged and counted, and the conversation is
        written without it, because losing customer messages would be worse than a late alert."""
        try:
            current = setup()
            updated, outcomes = derive_sla(conv, current.config, current.calendar_for)
        except Exception:
            logger.exception("SLA clocks could not be derived", extra={"conversation_id": conv.id})
            metrics.add_metric(name="SlaDeriveErrors", unit="Count", value=1)
            return conv
        for outcome in outcomes:
            _record_attainment(outcome)
        return updated

    return derive_sla_due


def _record_attainment(outcome: Attainment) -> None:
    """``SlaAttainment`` (percent; its average is the share of clocks that met their target) per policy."""
    with single_metric(
        name="SlaAttainment", unit=MetricUnit.Percent, value=100 if outcome.met else 0, namespace="carehooks"
    ) as metric:
        metric.add_dimension(name="policy", value=outcome.policy)
        metric.add_dimension(name="metric", value=outcome.metric.value)
