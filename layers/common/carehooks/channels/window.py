"""Messaging windows: may carehooks message this customer now, and how (pure).

| channel | window |
|---|---|
| Messenger, Instagram | 24 h after the customer's last message: any message (``RESPONSE``); 24 h to 7 days: only a person's reply, tagged ``HUMAN_AGENT``; later: nothing |
| WhatsApp (Cloud API and Twilio) | 24 h after the customer's last message: any message; later: only an approved template (``TemplateRef``), else nothing |
| X, Telegram, SMS | none (blocks, opt-outs and DM permissions are reported by the platform) |

Which rule a channel has is its platform's trait (``ChannelTraits.window``); Meta's rules (the
HUMAN_AGENT tag, private replies to comments) are in :mod:`carehooks.channels.meta.window`. WhatsApp's
24-hour rule is the network's, whichever provider sends (the Cloud API or Twilio), so it is here.

Public comment threads (Facebook Page, Instagram) have no messaging window: a reply in the thread may
go out at any time. A **private reply** to a comment (a direct message the comment opens) is allowed
within 7 days of the comment, once per comment (the caller claims it; see ``carehooks.public``).

"The customer's last message" is ``Conversation.last_inbound_at``: only customer-originated messages
(texts, postbacks, button taps) move it; the business's own sends never reopen a window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from carehooks.channels.meta.window import after_window, age_text, comment_thread
from carehooks.channels.traits import traits_for
from carehooks.domain.models import Channel
from carehooks.outbound.models import OutboundMessage
from carehooks.outbound.platforms import WindowDecision, WindowKind

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)


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
    traits = traits_for(channel)
    if public and traits.public_replies == "comment_thread":
        return comment_thread(message, comment_at, now)
    return _messaging(traits.window, last_inbound_at, message, now)


def _messaging(
    window: WindowKind, last_inbound_at: datetime | None, message: OutboundMessage, now: datetime
) -> WindowDecision:
    if window == "none":
        return WindowDecision(allowed=True)
    if last_inbound_at is None:
        if window == "whatsapp" and message.template is not None:
            return WindowDecision(allowed=True, mode="template")
        return WindowDecision(
            allowed=False,
            reason="the customer has not written on this channel yet, so no messaging window is open",
        )
    age = now - last_inbound_at
    if age < CUSTOMER_SERVICE_WINDOW:
        return WindowDecision(allowed=True)
    if window == "meta_messaging":
        return after_window(age, message)
    return _after_window_whatsapp(age, message)


def _after_window_whatsapp(age: timedelta, message: OutboundMessage) -> WindowDecision:
    if message.template is not None:
        return WindowDecision(allowed=True, mode="template")
    return WindowDecision(
        allowed=False,
        reason=(
            f"outside the WhatsApp 24-hour customer-service window (the customer last wrote {age_text(age)} "
            "ago) and no approved template was given"
        ),
    )
