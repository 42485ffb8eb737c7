"""Which adapter parses which queued event."""

from __future__ import annotations

from collections.abc import Callable

from carehooks.domain.models import CanonicalEvent, Channel, QueuedEvent

Parser = Callable[[QueuedEvent], list[CanonicalEvent]]


def parser_for(channel: Channel) -> Parser:
    """The pure ``parse`` function of the channel's adapter (imported on first use)."""
    if channel is Channel.MESSENGER:
        from carehooks.channels.messenger.adapter import parse
    elif channel is Channel.INSTAGRAM:
        from carehooks.channels.instagram.adapter import parse
    elif channel is Channel.WHATSAPP:
        from carehooks.channels.whatsapp.adapter import parse
    else:
        raise LookupError(f"no adapter for channel {channel}")
    return parse
