"""Twilio client: ``POST {TWILIO_API_URL}/2010-04-01/Accounts/{sid}/Messages.json`` (basic auth, form).

SMS and WhatsApp-via-Twilio share it: WhatsApp addresses get the ``whatsapp:`` prefix back. Outside
the WhatsApp window the message's template goes as ``ContentSid`` + ``ContentVariables`` (``{"1": …}``);
text in ``Body`` would fail with 63016. ``StatusCallback`` points at this deployment's Twilio webhook
(when ``PUBLIC_BASE_URL`` is set), so delivery statuses come back to the stored message. Choices are
listed as numbered lines (buttons need a Content template). Attachments are ``MediaUrl`` fields:
an MMS (SMS between numbers where Twilio sends MMS) carries up to 10, a WhatsApp message one.

Bodies are cut to 1,600 UTF-16 code units. An SMS's ``details`` say how it will travel
(``sms_encoding`` GSM-7 or UCS-2, ``sms_segments``): one character outside GSM-7 sends the whole body
as UCS-2, in segments of 67 code units instead of 153 characters. A template is never sent with an
empty variable (Twilio refuses it with error 21656).
"""

from __future__ import annotations

import json

from carehooks.channels.twilio.errors import classify
from carehooks.channels.twilio.segments import sms_shape
from carehooks.channels.twilio.traits import BODY_LIMIT, BODY_MEASURE, MAX_MEDIA
from carehooks.channels.twilio.webhook import public_url
from carehooks.config.settings import secret, secret_list
from carehooks.domain.models import Channel, Conversation
from carehooks.outbound import http
from carehooks.outbound.client import STANDARD, SendPlan
from carehooks.outbound.models import (
    AuthConfigError,
    OutboundMessage,
    OutcomeUnknownError,
    PermanentError,
    SendResult,
)
from carehooks.outbound.text import choices_as_text, fit

PLATFORM = "Twilio"
API_URL = "https://api.twilio.com"  # unless TWILIO_API_URL says otherwise


class TwilioClient:
    """Sends from the conversation's business number (``account_id``) to its customer (``contact_id``)."""

    def __init__(self, base_url: str | None = None) -> None:
        self._base_url = base_url

    @property
    def base_url(self) -> str:
        return (self._base_url or secret("TWILIO_API_URL") or API_URL).rstrip("/")

    def send(
        self, conversation: Conversation, message: OutboundMessage, plan: SendPlan = STANDARD
    ) -> SendResult:
        """Send one SMS / WhatsApp message; the result's id is the ``MessageSid``."""
        account_sid = secret("TWILIO_ACCOUNT_SID")
        tokens = secret_list("TWILIO_AUTH_TOKEN")
        if not account_sid or not tokens:
            raise AuthConfigError(
                "Twilio credentials are not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)"
            )
        form, details = build_form(conversation, message, plan)
        response = http.request(
            "POST",
            f"{self.base_url}/2010-04-01/Accounts/{account_sid}/Messages.json",
            platform=PLATFORM,
            data=form,
            auth=(account_sid, tokens[0]),
        )
        answer = http.json_body(response)
        if response.status_code >= 400:
            raise classify(
                response.status_code,
                answer.get("code"),
                str(answer.get("message") or ""),
                http.retry_after(response),
            )
        sid = answer.get("sid")
        if not sid:
            raise OutcomeUnknownError("Twilio accepted the message but returned no sid")
        if answer.get("status"):
            details["twilio_status"] = str(answer["status"])
        return SendResult(status="sent", platform_message_id=str(sid), details=details)


def build_form(
    conversation: Conversation, message: OutboundMessage, plan: SendPlan
) -> tuple[dict[str, str | list[str]], dict[str, str]]:
    """The Messages API form fields and what was adjusted to fit them (pure apart from settings).

    Attachments are ``MediaUrl`` fields (repeated: an MMS carries up to 10), the text, if any, the body.
    """
    whatsapp = conversation.channel is Channel.TWILIO_WHATSAPP
    prefix = "whatsapp:" if whatsapp else ""
    form: dict[str, str | list[str]] = {
        "To": prefix + conversation.contact_id,
        "From": prefix + conversation.account_id,
    }
    details: dict[str, str] = {}
    if plan.mode == "template":
        if not whatsapp or message.template is None:
            raise PermanentError("a Twilio template send needs WhatsApp and a template (ContentSid)")
        form["ContentSid"] = message.template.name
        if message.template.parameters:
            variables = {str(i): value for i, value in enumerate(message.template.parameters, start=1)}
            empty = [key for key, value in variables.items() if not value.strip()]
            if empty:
                # Twilio refuses a template with an empty variable (error 21656): never send one.
                raise PermanentError(
                    f"the template {message.template.name} would go out with its variable "
                    f"{' and '.join(empty)} empty, which Twilio refuses (error 21656)"
                )
            form["ContentVariables"] = json.dumps(variables, ensure_ascii=False)
        details["template"] = message.template.name
    elif plan.mode == "human_agent":
        raise PermanentError("the HUMAN_AGENT tag is a Messenger/Instagram feature, not Twilio")
    elif message.attachments:
        if len(message.attachments) > (1 if whatsapp else MAX_MEDIA):
            raise PermanentError("too many attachments for one Twilio message (split the message first)")
        form["MediaUrl"] = [a.url for a in message.attachments]
        text = choices_as_text(message.text, message.choices)
        if text:
            fitted = fit(text, BODY_LIMIT, measure=BODY_MEASURE)
            form["Body"] = fitted.text
            details.update(fitted.details)
        details["media"] = str(len(message.attachments))
    else:
        fitted = fit(choices_as_text(message.text, message.choices), BODY_LIMIT, measure=BODY_MEASURE)
        form["Body"] = fitted.text
        details.update(fitted.details)
        if not whatsapp:
            shape = sms_shape(fitted.text)
            details["sms_encoding"] = shape.encoding
            details["sms_segments"] = str(shape.segments)
    base_url = secret("PUBLIC_BASE_URL")
    if base_url:
        form["StatusCallback"] = public_url(base_url)
    return form, details
