"""Meta's messaging rules for Messenger and Instagram (pure): the HUMAN_AGENT tag, private replies.

After the 24-hour window, only a person's reply may go out, tagged ``HUMAN_AGENT``, until 7 days after
the customer's last message. In a public comment thread, a reply may go out at any time; a private
reply (a direct message the comment opens) must follow its comment within 7 days. The channel table
is :func:`carehooks.channels.window.decide`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from carehooks.outbound.models import OutboundMessage
from carehooks.outbound.platforms import WindowDecision

HUMAN_AGENT_WINDOW = timedelta(days=7)
PRIVATE_REPLY_WINDOW = timedelta(days=7)
AUTOMATION = "carehooks"


def is_person(author: str) -> bool:
    """Only a person's reply may use HUMAN_AGENT; automation is always ``carehooks``."""
    return bool(author) and author != AUTOMATION


def comment_thread(message: OutboundMessage, comment_at: datetime | None, now: datetime) -> WindowDecision:
    """A send in a public comment thread: free, except a private reply (7 days from its comment)."""
    if message.kind != "private_reply":
        return WindowDecision(allowed=True)
    if comment_at is None:
        return WindowDecision(allowed=False, reason="the comment to answer privately is not known")
    age = now - comment_at
    if age > PRIVATE_REPLY_WINDOW:
        return WindowDecision(
            allowed=False,
            reason=f"a private reply must follow its comment within 7 days; this one is {age_text(age)} old",
        )
    return WindowDecision(allowed=True)


def after_window(age: timedelta, message: OutboundMessage) -> WindowDecision:
    """A message ``age`` after the customer's last one, past the 24-hour window."""
    if age >= HUMAN_AGENT_WINDOW:
        return WindowDecision(
            allowed=False,
            reason=f"outside the messaging window: the customer last wrote {age_text(age)} ago (more than 7 days)",
        )
    if is_person(message.author):
        return WindowDecision(allowed=True, mode="human_agent")
    return WindowDecision(
        allowed=False,
        reason=(
            f"outside the 24-hour messaging window (the customer last wrote {age_text(age)} ago); "
            "only a person's reply may be sent, with the HUMAN_AGENT tag, within 7 days"
        ),
    )


def age_text(age: timedelta) -> str:
    """``age`` as people read it: hours below two days, else days."""
    hours = age.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.1f} days"
