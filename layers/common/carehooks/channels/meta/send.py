"""The Send API client Messenger and Instagram share (``POST {META_GRAPH_URL}/{page-id}/messages``).

Each platform subclasses it with its limits (from its ``traits``), its path and its comment edges.

Inside the 24-hour window a send is ``messaging_type: RESPONSE`` when it answers the customer (an
acknowledgement, a rule's or an agent's reply) and ``UPDATE`` when carehooks sends it proactively (a
survey, a closing message): :func:`messaging_type`. A person's reply between 24 hours and 7 days is
``MESSAGE_TAG`` + ``HUMAN_AGENT``. ``message.metadata`` carries the origin tag, which the
echo returns, so the echo is recognised as carehooks' own. Choices become quick replies. An attachment
goes as ``message.attachment`` ``{"type": "image" | "file", "payload": {"url", "is_reusable": false}}``,
one per message and without text (:func:`carehooks.outbound.media.split` sends the text first).

Public comment threads (the conversation is ``public``):

- a reply in the thread is ``POST /{comment-id}/comments {"message"}`` (Instagram: ``/replies``), on the
  comment ``plan.public_reply_to`` names; the answer's ``id`` is the new comment's, which its ``feed``
  echo repeats;
- a private reply is the Send API with ``recipient: {"comment_id"}``: a direct message to the comment's
  author, whose page-scoped id comes back as ``recipient_id`` (in ``details``);
- :meth:`SendApiClient.hide` hides or shows a comment: ``POST /{comment-id} {"is_hidden": …}``
  (Instagram: ``{"hide": …}``).
"""

from __future__ import annotations

from typing import Any

from carehooks.channels.meta.graph import GraphClient
from carehooks.domain.models import Conversation
from carehooks.outbound.client import STANDARD, SendPlan
from carehooks.outbound.models import (
    OutboundMessage,
    OutcomeUnknownError,
    PermanentError,
    SendResult,
)
from carehooks.outbound.text import Measure, fit

# Meta's classification of a standard send (inside the 24-hour window): RESPONSE answers a message the
# customer sent; UPDATE is sent proactively, not in response to one (a survey; closing messages).
# A person's reply after the window is MESSAGE_TAG + HUMAN_AGENT whatever its kind. Kinds not listed
# here are proactive.
_RESPONSE_KINDS = frozenset({"ack", "agent_reply", "rule_reply", "public_reply", "private_reply"})

MAX_QUICK_REPLIES = 13
QUICK_REPLY_TITLE = 20
PAYLOAD_LIMIT = 1000
METADATA_LIMIT = 1000


class SendApiClient:
    """Meta's Send API and comment edges; subclasses set the limits, the path and the edge names."""

    text_limit: int
    text_measure: Measure
    comment_limit: int
    reply_edge: str
    hide_field: str

    def __init__(self, graph: GraphClient | None = None) -> None:
        self.graph = graph or GraphClient()

    def path(self, conversation: Conversation) -> str:
        """The Send API path for this conversation's account."""
        raise NotImplementedError

    def send(
        self, conversation: Conversation, message: OutboundMessage, plan: SendPlan = STANDARD
    ) -> SendResult:
        """Send one message; the result carries the ``message_id`` the echo will repeat."""
        if message.kind == "private_reply":
            return self.private_reply(conversation, message)
        if conversation.public:
            if not plan.public_reply_to:
                raise PermanentError("a reply in a comment thread needs the comment to answer")
            return self.public_reply(conversation, message, plan.public_reply_to)
        body, details = self.body(conversation, message, plan)
        answer = self.graph.call("POST", self.path(conversation), conversation.account_id, body)
        message_id = answer.get("message_id")
        if not message_id:
            raise OutcomeUnknownError("Meta accepted the send but returned no message_id")
        return SendResult(status="sent", platform_message_id=str(message_id), details=details)

    def public_reply(
        self, conversation: Conversation, message: OutboundMessage, comment_id: str
    ) -> SendResult:
        """A reply in a comment thread, under ``comment_id``: everyone who reads the post sees it."""
        fitted = fit(message.text, self.comment_limit)
        answer = self.graph.call(
            "POST", f"{comment_id}/{self.reply_edge}", conversation.account_id, {"message": fitted.text}
        )
        comment = answer.get("id")
        if not comment:
            raise OutcomeUnknownError("Meta accepted the comment but returned no id")
        return SendResult(status="sent", platform_message_id=str(comment), details=dict(fitted.details))

    def private_reply(self, conversation: Conversation, message: OutboundMessage) -> SendResult:
        """A direct message to the author of the comment ``message.reply_to`` (Meta's private replies)."""
        if not message.reply_to:
            raise PermanentError("a private reply needs the comment it answers")
        fitted = fit(message.text, self.text_limit, measure=self.text_measure)
        content: dict[str, Any] = {"text": fitted.text}
        if message.origin_tag:
            content["metadata"] = message.origin_tag[:METADATA_LIMIT]
        body = {"recipient": {"comment_id": message.reply_to}, "message": content}
        answer = self.graph.call("POST", self.path(conversation), conversation.account_id, body)
        message_id = answer.get("message_id")
        if not message_id:
            raise OutcomeUnknownError("Meta accepted the private reply but returned no message_id")
        details = dict(fitted.details)
        if answer.get("recipient_id"):
            details["recipient_id"] = str(answer["recipient_id"])
        return SendResult(status="sent", platform_message_id=str(message_id), details=details)

    def hide(self, account_id: str, comment_id: str, hidden: bool = True) -> None:
        """Hide a comment from everyone but its author and their friends (or show it again)."""
        answer = self.graph.call("POST", comment_id, account_id, {self.hide_field: hidden}, idempotent=True)
        if answer.get("success") is False:
            raise PermanentError(f"Meta did not {'hide' if hidden else 'unhide'} the comment")

    def body(
        self, conversation: Conversation, message: OutboundMessage, plan: SendPlan
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The Send API request body and what was adjusted to fit it."""
        if plan.mode == "template":
            raise PermanentError("templates are a WhatsApp feature; Messenger and Instagram have none")
        content: dict[str, Any]
        details: dict[str, str]
        if message.attachments:
            content, details = (
                attachment_content(message),
                {"attachment_type": str(message.attachments[0].type)},
            )
        else:
            fitted = fit(message.text, self.text_limit, measure=self.text_measure)
            details = dict(fitted.details)
            content = {"text": fitted.text}
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
            body["messaging_type"] = messaging_type(message)
        return body, details


def attachment_content(message: OutboundMessage) -> dict[str, Any]:
    """The ``message`` of a Send API call carrying one attachment by URL (no text: Meta takes either)."""
    if len(message.attachments) != 1 or message.text:
        raise PermanentError(
            "a Messenger or Instagram message carries one attachment and no text (split the message first)"
        )
    attachment = message.attachments[0]
    return {"attachment": {"type": attachment.type, "payload": {"url": attachment.url, "is_reusable": False}}}


def messaging_type(message: OutboundMessage) -> str:
    """``RESPONSE`` for an answer to the customer's message, ``UPDATE`` for a proactive send."""
    return "RESPONSE" if message.kind in _RESPONSE_KINDS else "UPDATE"
