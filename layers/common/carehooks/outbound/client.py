"""The one interface every channel's outbound client implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from carehooks.domain.models import Conversation
from carehooks.outbound.models import OutboundMessage, SendResult
from carehooks.outbound.platforms import SendMode


@dataclass(frozen=True)
class SendPlan:
    """How :func:`carehooks.delivery.send.deliver` decided a message goes out.

    ``mode`` comes from the window check (``human_agent``: Messenger/Instagram ``MESSAGE_TAG`` +
    ``HUMAN_AGENT``; ``template``: WhatsApp template / Twilio ``ContentSid``). ``public_reply_to`` is
    set on X when the answer is a public reply to that post; otherwise X sends a direct message.
    """

    mode: SendMode = "standard"
    public_reply_to: str | None = None


STANDARD = SendPlan()


class ChannelClient(Protocol):
    """Send one message to the customer of a conversation.

    Returns a ``sent`` :class:`SendResult` carrying the platform's message id (the id its echo and
    status webhooks will carry); raises a :class:`~carehooks.outbound.models.SendError` subclass,
    classified from the platform's own error codes, when the platform refuses or cannot be reached.
    Text longer than the channel allows is cut, and ``details`` says so.
    """

    def send(
        self, conversation: Conversation, message: OutboundMessage, plan: SendPlan = STANDARD
    ) -> SendResult:
        """Send ``message``; see the class docstring."""
        ...
