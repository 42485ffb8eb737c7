"""Which adapter parses which queued event, and which client sends on which channel.

Importable from every floor above ``channels`` (delivery, public, inbound): it imports only the domain (and
the client protocol, for typing) and, on first use, the one platform module asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from carehooks.domain.models import CanonicalEvent, Channel, QueuedEvent

if TYPE_CHECKING:
    from carehooks.outbound.client import ChannelClient

Parser = Callable[[QueuedEvent], list[CanonicalEvent]]


def parser_for(channel: Channel) -> Parser:
    """The pure ``parse`` function of the channel's adapter (imported on first use)."""
    # Lazy for cold start: one adapter ~3 ms, all six ~13 ms (python -X importtime, min of 5).
    if channel is Channel.MESSENGER:
        from carehooks.channels.messenger.adapter import parse
    elif channel is Channel.INSTAGRAM:
        from carehooks.channels.instagram.adapter import parse
    elif channel is Channel.WHATSAPP:
        from carehooks.channels.whatsapp.adapter import parse
    elif channel is Channel.X:
        from carehooks.channels.x.adapter import parse
    elif channel is Channel.TELEGRAM:
        from carehooks.channels.telegram.adapter import parse
    elif channel in (Channel.SMS, Channel.TWILIO_WHATSAPP):
        from carehooks.channels.twilio.adapter import parse
    else:
        raise LookupError(f"no adapter for channel {channel}")
    return parse


def client_for(channel: Channel) -> ChannelClient:
    """The outbound client of the channel (imported on first use)."""
    # Lazy for cold start: clients pull in requests (outbound.http ~126 ms; import boto3 ~165 ms).
    if channel is Channel.MESSENGER:
        from carehooks.channels.messenger.client import MessengerClient

        return MessengerClient()
    if channel is Channel.INSTAGRAM:
        from carehooks.channels.instagram.client import InstagramClient

        return InstagramClient()
    if channel is Channel.WHATSAPP:
        from carehooks.channels.whatsapp.client import WhatsAppClient

        return WhatsAppClient()
    if channel is Channel.X:
        from carehooks.channels.x.client import XClient

        return XClient()
    if channel is Channel.TELEGRAM:
        from carehooks.channels.telegram.client import TelegramClient

        return TelegramClient()
    if channel in (Channel.SMS, Channel.TWILIO_WHATSAPP):
        from carehooks.channels.twilio.client import TwilioClient

        return TwilioClient()
    raise LookupError(f"no outbound client for channel {channel}")
