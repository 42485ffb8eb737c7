"""Channel -> what its platform accepts (pure, cheap): the one table use cases read platform quirks from.

Each platform declares its own traits in ``carehooks.channels.<platform>.traits`` (text limit and how
it counts, comment limit, native choices, templates, messaging window, public replies); nothing
outside ``channels`` names a platform to decide how to send.
"""

from __future__ import annotations

from carehooks.channels.instagram import traits as instagram
from carehooks.channels.messenger import traits as messenger
from carehooks.channels.telegram import traits as telegram
from carehooks.channels.twilio import traits as twilio
from carehooks.channels.whatsapp import traits as whatsapp
from carehooks.channels.x import traits as x
from carehooks.domain.models import Channel
from carehooks.outbound.platforms import ChannelTraits

TRAITS: dict[Channel, ChannelTraits] = {
    Channel.MESSENGER: messenger.TRAITS,
    Channel.INSTAGRAM: instagram.TRAITS,
    Channel.WHATSAPP: whatsapp.TRAITS,
    Channel.X: x.TRAITS,
    Channel.TELEGRAM: telegram.TRAITS,
    Channel.SMS: twilio.SMS,
    Channel.TWILIO_WHATSAPP: twilio.WHATSAPP,
}

# Longest public reply every comment-thread channel accepts: one template set's public texts serve
# them all (Instagram's 2,200 characters today).
PUBLIC_TEXT_LIMIT = min(t.comment_limit for t in TRAITS.values() if t.comment_limit is not None)


def traits_for(channel: Channel) -> ChannelTraits:
    """The traits of ``channel``'s platform."""
    try:
        return TRAITS[channel]
    except KeyError:
        raise LookupError(f"no traits for channel {channel}") from None
