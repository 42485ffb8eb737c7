"""The low-score alert: one email to operations when a customer rates a conversation low."""

from __future__ import annotations

from carehooks.config.settings import secret
from carehooks.config.surveys import SurveyConfig
from carehooks.domain.models import Conversation
from carehooks.notify.email import send_email
from carehooks.notify.render import environment, render_email
from carehooks.observability import logger


def render_alert(conv: Conversation, link: str | None) -> tuple[str, str, str]:
    """(subject, html, text) of the alert for a rated conversation."""
    csat = conv.csat or {}
    score = csat.get("score")
    customer = conv.contact_name or conv.contact_id
    subject = f"Low CSAT {score}/5 on {conv.channel} from {customer}"
    rows = [
        ("Conversation", conv.id),
        ("Channel", str(conv.channel)),
        ("Customer", customer),
        ("Agent", str(csat.get("agent") or "unassigned")),
        ("Tags", ", ".join(conv.tags) or "-"),
        ("Answered", str(csat.get("answered_at") or "-")),
    ]
    context = {"subject": subject, "score": score, "rows": rows, "comment": csat.get("comment"), "link": link}
    html, text = render_email(environment("carehooks.surveys"), "low_score", context)
    return subject, html, text


def recipients(config: SurveyConfig) -> list[str]:
    """``surveys.low_score.recipients`` (the document's ``ops.recipients`` when the section names none: see
    :attr:`carehooks.config.document.ConfigDocument.surveys_in_force`)."""
    return list(config.low_score.recipients)


def email_ops(conv: Conversation, config: SurveyConfig) -> None:
    """Email operations about a low rating (the caller claims it once per conversation).

    Raises :class:`carehooks.notify.email.EmailError` when the email cannot be sent, so the caller can
    give the claim back.
    """
    to = recipients(config)
    if not to:
        logger.warning("low csat alert not sent: no recipients", extra={"conversation_id": conv.id})
        return

    base = secret("PUBLIC_BASE_URL").rstrip("/")
    link = f"{base}/api/conversations/{conv.id}" if base else None
    subject, html, text = render_alert(conv, link)
    send_email(to, subject, html, text)
    logger.info("low csat alert sent", extra={"conversation_id": conv.id, "recipients": len(to)})
