"""Split a verified Twilio webhook (form-encoded) into a queued event (pure).

One request is one message or one status callback. Addresses ``whatsapp:+E164`` make the channel
``twilio_whatsapp``, plain numbers ``sms``; ids are stored without the ``whatsapp:`` prefix (the
channel already says it). The business number is the account: ``To`` of an inbound message, ``From``
of a status callback about a message carehooks sent. Dedupe: ``MessageSid`` for messages,
``MessageSid:MessageStatus`` for statuses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from carehooks.domain.models import Channel, QueuedEvent
from carehooks.web.errors import MalformedBodyError

WHATSAPP_PREFIX = "whatsapp:"
# MessageStatus values that describe an inbound message rather than one carehooks sent.
INBOUND_STATUSES = ("received", "receiving")


def form_pairs(raw: bytes) -> list[tuple[str, str]]:
    """Every form field, blanks included, in order (the signature covers them all)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBodyError("form body is not UTF-8") from exc
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError as exc:
        raise MalformedBodyError("body is not form-encoded") from exc


def address(value: str) -> tuple[str, str]:
    """(scheme, bare address): ``whatsapp:+1415…`` → (``whatsapp``, ``+1415…``); ``+1415…`` → (``sms``, …)."""
    scheme, sep, rest = value.partition(":")
    if not sep:
        return "sms", value
    return scheme.lower(), rest


def split(raw: bytes, received_at: datetime) -> list[QueuedEvent]:
    """One :class:`QueuedEvent` (none for a channel carehooks does not handle, e.g. ``messenger:``)."""
    params = dict(form_pairs(raw))
    sid = params.get("MessageSid") or params.get("SmsSid") or params.get("SmsMessageSid") or ""
    sender, recipient = params.get("From", ""), params.get("To", "")
    if not sid or not sender or not recipient:
        raise MalformedBodyError("Twilio webhook without MessageSid/From/To")
    (from_scheme, from_addr), (to_scheme, to_addr) = address(sender), address(recipient)
    schemes = {from_scheme, to_scheme}
    if schemes == {"sms"}:
        channel = Channel.SMS
    elif schemes == {"whatsapp"}:
        channel = Channel.TWILIO_WHATSAPP
    else:
        return []
    status = params.get("MessageStatus", "")
    is_status = bool(status) and status not in INBOUND_STATUSES
    payload: dict[str, Any] = {"kind": "status" if is_status else "message", "params": params}
    return [
        QueuedEvent(
            source="twilio",
            channel=channel,
            account_id=from_addr if is_status else to_addr,
            contact_id=to_addr if is_status else from_addr,
            event_id=f"{sid}:{status}" if is_status else sid,
            received_at=received_at,
            payload=payload,
        )
    ]
