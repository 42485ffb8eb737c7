"""Messaging windows: may carehooks message this customer now, and how (pure).

| channel | window |
|---|---|
| Messenger, Instagram | 24 h after the customer's last message: any message (``RESPONSE``); 24 h to 7 days: only a person's reply, tagged ``HUMAN_AGENT``; later: nothing |
| WhatsApp (Cloud API and Twilio) | 24 h after the customer's last message: any message; later: only an approved template (``TemplateRef``), else nothing |
| X, Telegram, SMS | none (blocks, opt-outs and DM permissions are reported by the platform) |

Public comment threads (Facebook Page, Instagram) have no messaging window: a reply in the thread may
go out at any time. A **private reply** to a comment (a direct message the comment opens) is allowed
within 7 days of the comment, once per comment (the caller claims it; see ``carehooks.public``).

"The customer's last message" is ``Conversation.last_inbound_at``: only customer-originated messages
(texts, postbacks, button taps) move it; the business's own sends never reopen a window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from carehooks.domain.models import Channel
from carehooks.outbound.models import OutboundMessage

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
PRIVATE_REPLY_WINDOW = timedelta(days=7)
AUTOMATION = "carehooks"

SendMode = Literal["standard", "human_agent", "template"]

_META_TAGGED = (Channel.MESSENGER, Channel.INSTAGRAM)
_WHATSAPP = (Channel.WHATSAPP, Channel.TWILIO_WHATSAPP)


@dataclass(frozen=True)
class WindowDecision:
    """Whether a send may go out now, in which mode, and if not, why (readable)."""

    allowed: bool
    mode: SendMode = "standard"
    reason: str | None = None


def is_person(author: str) -> bool:
    """Only a person's reply may use HUMAN_AGENT; automation is always ``carehooks``."""
    return bool(author) and author != AUTOMATION


def decide(
    channel: Channel,
    last_inbound_at: datetime | None,
    message: OutboundMessage,
    now: datetime,
    *,
    public: bool = False,
    comment_at: datetime | None = None,
) -> WindowDecision:
    """The window decision for sending ``message`` on ``channel`` at ``now``.

    ``public``: the conversation is a Messenger / Instagram comment thread; ``comment_at``: when the
    comment a private reply answers was written.
    """
    if public and channel in _META_TAGGED:
        return _comment_thread(message, comment_at, now)
    return _messaging(channel, last_inbound_at, message, now)


def _messaging(
    channel: Channel, last_inbound_at: datetime | None, message: OutboundMessage, now: datetime
) -> WindowDecision:
    if channel not in _META_TAGGED and channel not in _WHATSAPP:
        return WindowDecision(allowed=True)
    if last_inbound_at is None:
        if channel in _WHATSAPP and message.template is not None:
            return WindowDecision(allowed=True, mode="template")
        return WindowDecision(
            allowed=False,
            reason="the customer has not written on this channel yet, so no messaging window is open",
        )
    age = now - last_inbound_at
    if age < CUSTOMER_SERVICE_WINDOW:
        return WindowDecision(allowed=True)
    if channel in _META_TAGGED:
        return _after_window_meta(age, message)
    return _after_window_whatsapp(age, message)


def _comment_thread(message: OutboundMessage, comment_at: datetime | None, now: datetime) -> WindowDecision:
    if message.kind != "private_reply":
        return WindowDecision(allowed=True)
    if comment_at is None:
        return WindowDecision(allowed=False, reason="the comment to answer privately is not known")
    age = now - comment_at
    if age > PRIVATE_REPLY_WINDOW:
        return WindowDecision(
            allowed=False,
            reason=f"a private reply must follow its comment within 7 days; this one is {_hours(age)} old",
        )
    return WindowDecision(allowed=True)


def _after_window_meta(age: timedelta, message: OutboundMessage) -> WindowDecision:
    if age >= HUMAN_AGENT_WINDOW:
        return WindowDecision(
            allowed=False,
            reason=f"outside the messaging window: the customer last wrote {_hours(age)} ago (more than 7 days)",
        )
    if is_person(message.author):
        return WindowDecision(allowed=True, mode="human_agent")
    return WindowDecision(
        allowed=False,
        reason=(
            f"outside the 24-hour messaging window (the customer last wrote {_hours(age)} ago); "
            "only a person's reply may be sent, with the HUMAN_AGENT tag, within 7 days"
        ),
    )


def _after_window_whatsapp(age: timedelta, message: OutboundMessage) -> WindowDecision:
    if message.template is not None:
        return WindowDecision(allowed=True, mode="template")
    return WindowDecision(
        allowed=False,
        reason=(
            f"outside the WhatsApp 24-hour customer-service window (the customer last wrote {_hours(age)} "
            "ago) and no approved template was given"
        ),
    )


def _hours(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.1f} days"
