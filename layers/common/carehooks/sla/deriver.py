"""The SLA deriver the store runs on every conversation write (see :mod:`carehooks.domain.derived`)."""

from __future__ import annotations

from datetime import datetime

from carehooks.domain.models import Conversation
from carehooks.sla.clocks import Attainment, derive_sla
from carehooks.sla.current import current


def derive_sla_due(conv: Conversation, now: datetime) -> Conversation:
    """Advance the conversation's SLA clocks and set (or remove) its ``sla_due_pk`` / ``sla_due_at``.

    Never raises: a fault in SLA bookkeeping is logged and counted, and the conversation is written
    without it, because losing customer messages would be worse than a late alert.
    """
    from carehooks.observability import logger, metrics

    try:
        setup = current()
        updated, outcomes = derive_sla(conv, setup.config, setup.calendar_for)
    except Exception:
        logger.exception("SLA clocks could not be derived", extra={"conversation_id": conv.id})
        metrics.add_metric(name="SlaDeriveErrors", unit="Count", value=1)
        return conv
    for outcome in outcomes:
        _record_attainment(outcome)
    return updated


def _record_attainment(outcome: Attainment) -> None:
    """``SlaAttainment`` (percent; its average is the share of clocks that met their target) per policy."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(
        name="SlaAttainment", unit=MetricUnit.Percent, value=100 if outcome.met else 0, namespace="carehooks"
    ) as metric:
        metric.add_dimension(name="policy", value=outcome.policy)
        metric.add_dimension(name="metric", value=outcome.metric.value)
