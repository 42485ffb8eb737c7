"""Messenger Send API client (``POST {META_GRAPH_URL}/{page-id}/messages``).

Inside the 24-hour window a send is ``messaging_type: RESPONSE``; a person's reply between 24 hours and
7 days is ``MESSAGE_TAG`` + ``HUMAN_AGENT``. ``message.metadata`` carries the origin tag, which the
echo returns, so the echo is recognised as carehooks' own. Choices become quick replies.
"""

from __future__ import annotations

from typing import Any

from carehooks.channels.meta.graph import GraphClient
from carehooks.domain.models import Conversation
from carehooks.outbound.client import STANDARD, SendPlan
from carehooks.outbound.models import OutboundMessage, PermanentError, SendResult, TransientError
from carehooks.outbound.text import fit

MAX_QUICK_REPLIES = 13
QUICK_REPLY_TITLE = 20
PAYLOAD_LIMIT = 1000
METADATA_LIMIT = 1000


class MessengerClient:
    """Send API for Facebook Pages (the conversation's ``account_id`` is the Page id)."""

    text_limit = 2000

    def __init__(self, graph: GraphClient | None = None) -> None:
        self.graph = graph or GraphClient()

    def path(self, conversation: Conversation) -> str:
        return f"{conversation.account_id}/messages"

    def send(
        self, conversation: Conversation, message: OutboundMessage, plan: SendPlan = STANDARD
    ) -> SendResult:
        """Send one message; the result carries the ``message_id`` the echo will repeat."""
        body, details = self.body(conversation, message, plan)
        answer = self.graph.call("POST", self.path(conversation), conversation.account_id, body)
        message_id = answer.get("message_id")
        if not message_id:
            raise TransientError("Meta accepted the send but returned no message_id")
        return SendResult(status="sent", platform_message_id=str(message_id), details=details)

    def body(
        self, conversation: Conversation, message: OutboundMessage, plan: SendPlan
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The Send API request body and what was adjusted to fit it."""
        if plan.mode == "template":
            raise PermanentError("templates are a WhatsApp feature; Messenger and Instagram have none")
        fitted = fit(message.text, self.text_limit)
        details = dict(fitted.details)
        content: dict[str, Any] = {"text": fitted.text}
        if message.origin_tag:
            content["metadata"] = message.origin_tag[:METADATA_LIMIT]
        if message.choices:
            if len(message.choices) > MAX_QUICK_REPLIES:
                details["choices_dropped"] = str(len(message.choices) - MAX_QUICK_REPLIES)
            content["quick_replies"] = [
                {
                    "content_type": "text",
                    "title": fit(choice.title, QUICK_REPLY_TITLE).text,
                    "payload": choice.id[:PAYLOAD_LIMIT],
                }
                for choice in message.choices[:MAX_QUICK_REPLIES]
            ]
        body: dict[str, Any] = {"recipient": {"id": conversation.contact_id}, "message": content}
        if plan.mode == "human_agent":
            body["messaging_type"] = "MESSAGE_TAG"
            body["tag"] = "HUMAN_AGENT"
            details["messaging_type"] = "MESSAGE_TAG/HUMAN_AGENT"
        else:
            body["messaging_type"] = "RESPONSE"
        return body, details
