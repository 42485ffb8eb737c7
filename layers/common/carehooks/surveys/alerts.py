"""The low-score alert to operations."""

from __future__ import annotations

from carehooks.domain.models import Conversation
from carehooks.observability import logger
from carehooks.surveys.config import SurveyConfig


def email_ops(conv: Conversation, config: SurveyConfig) -> None:
    """Tell operations about a low rating (once per conversation; the caller claims it)."""
    score = (conv.csat or {}).get("score")
    logger.warning(
        "low csat score",
        extra={
            "conversation_id": conv.id,
            "channel": conv.channel,
            "score": score,
            "agent": (conv.csat or {}).get("agent"),
            "recipients": config.low_score.recipients,
        },
    )
