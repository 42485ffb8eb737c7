"""WhatsApp Cloud API client (``POST {META_GRAPH_URL}/{phone-number-id}/messages``, Bearer token).

Inside the 24-hour customer-service window: text, or interactive reply buttons (up to 3 choices,
titles up to 20 characters), or an interactive list (4 to 10 choices). Outside it: only the approved
template of the message's ``TemplateRef``. ``biz_opaque_callback_data`` carries the origin tag, which
status webhooks return. An attachment goes as an ``image`` or ``document`` message with a ``link``
(one per message), the text as its ``caption`` (at most 1024 characters) and a document's file name
from its URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from carehooks.channels.meta.graph import GraphClient
from carehooks.channels.whatsapp.traits import CAPTION_LIMIT, TEXT_LIMIT, TEXT_MEASURE
from carehooks.domain.models import Conversation
from carehooks.outbound.client import STANDARD, SendPlan
from carehooks.outbound.models import (
    OutboundMessage,
    OutcomeUnknownError,
    PermanentError,
    SendResult,
    TemplateRef,
)
from carehooks.outbound.text import fit

INTERACTIVE_BODY_LIMIT = 1024
MAX_BUTTONS = 3
BUTTON_TITLE = 20
BUTTON_ID = 256
MAX_LIST_ROWS = 10
ROW_TITLE = 24
ROW_ID = 200
LIST_BUTTON_LABEL = "Choose"
CALLBACK_DATA_LIMIT = 512
FILENAME_LIMIT = 240


class WhatsAppClient:
    """Cloud API sends for one phone number id (the conversation's ``account_id``)."""

    def __init__(self, graph: GraphClient | None = None) -> None:
        self.graph = graph or GraphClient()

    def send(
        self, conversation: Conversation, message: OutboundMessage, plan: SendPlan = STANDARD
    ) -> SendResult:
        """Send one message; the result carries the ``wamid`` statuses will refer to."""
        body, details = build_body(conversation, message, plan)
        answer = self.graph.call("POST", f"{conversation.account_id}/messages", conversation.account_id, body)
        sent = answer.get("messages")
        first = sent[0] if isinstance(sent, list) and sent and isinstance(sent[0], dict) else {}
        if not first.get("id"):
            raise OutcomeUnknownError("WhatsApp accepted the send but returned no message id")
        if first.get("message_status"):
            details["message_status"] = str(first["message_status"])
        return SendResult(status="sent", platform_message_id=str(first["id"]), details=details)


def build_body(
    conversation: Conversation, message: OutboundMessage, plan: SendPlan
) -> tuple[dict[str, Any], dict[str, str]]:
    """The Cloud API request body for ``message`` and what was adjusted to fit it (pure)."""
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": conversation.contact_id,
    }
    details: dict[str, str] = {}
    if plan.mode == "template":
        if message.template is None:
            raise PermanentError("outside the WhatsApp window a template is needed, and none was given")
        body.update(type="template", template=_template(message.template))
        details["template"] = message.template.name
    elif plan.mode == "human_agent":
        raise PermanentError("the HUMAN_AGENT tag is a Messenger/Instagram feature, not WhatsApp")
    elif message.attachments:
        kind, media = _media(message, details)
        body.update({"type": kind, kind: media})
    elif message.choices:
        body.update(type="interactive", interactive=_interactive(message, details))
    else:
        fitted = fit(message.text, TEXT_LIMIT, measure=TEXT_MEASURE)
        details.update(fitted.details)
        body.update(type="text", text={"preview_url": False, "body": fitted.text})
    if message.reply_to and plan.mode != "template":
        body["context"] = {"message_id": message.reply_to}
    if message.origin_tag:
        body["biz_opaque_callback_data"] = message.origin_tag[:CALLBACK_DATA_LIMIT]
    return body, details


def _media(message: OutboundMessage, details: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """An image or document message with a ``link`` WhatsApp fetches, the text as its caption."""
    if len(message.attachments) != 1:
        raise PermanentError("a WhatsApp message carries one attachment (split the message first)")
    attachment = message.attachments[0]
    kind = "image" if attachment.type == "image" else "document"
    media: dict[str, Any] = {"link": attachment.url}
    if message.text:
        fitted = fit(message.text, CAPTION_LIMIT, measure=TEXT_MEASURE, label="caption")
        details.update(fitted.details)
        media["caption"] = fitted.text
    if kind == "document":
        # Without a filename WhatsApp shows "Untitled"; the URL's last path segment names the file.
        name = filename(attachment.url)
        if name:
            media["filename"] = name
    details["attachment_type"] = attachment.type
    return kind, media


def filename(url: str) -> str:
    """The file name a URL ends with (decoded; '' when its path ends with a slash)."""
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])[:FILENAME_LIMIT]


def _template(template: TemplateRef) -> dict[str, Any]:
    shaped: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if template.parameters:
        shaped["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in template.parameters]}
        ]
    return shaped


def _interactive(message: OutboundMessage, details: dict[str, str]) -> dict[str, Any]:
    fitted = fit(message.text or " ", INTERACTIVE_BODY_LIMIT, measure=TEXT_MEASURE)
    details.update(fitted.details)
    choices = message.choices
    if len(choices) <= MAX_BUTTONS:
        return {
            "type": "button",
            "body": {"text": fitted.text},
            "action": {
                "buttons": [
                    {
                        "type": "reply",
                        "reply": {"id": c.id[:BUTTON_ID], "title": fit(c.title, BUTTON_TITLE).text},
                    }
                    for c in choices
                ]
            },
        }
    if len(choices) > MAX_LIST_ROWS:
        details["choices_dropped"] = str(len(choices) - MAX_LIST_ROWS)
    return {
        "type": "list",
        "body": {"text": fitted.text},
        "action": {
            "button": LIST_BUTTON_LABEL,
            "sections": [
                {
                    "rows": [
                        {"id": c.id[:ROW_ID], "title": fit(c.title, ROW_TITLE).text}
                        for c in choices[:MAX_LIST_ROWS]
                    ]
                }
            ],
        },
    }
