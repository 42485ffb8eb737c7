"""What X accepts (pure): read through :func:`carehooks.channels.traits.traits_for`."""

from __future__ import annotations

from carehooks.outbound.models import ChannelTraits

DM_LIMIT = 10_000
POST_LIMIT = 280

TRAITS = ChannelTraits(
    label="X",
    text_limit=DM_LIMIT,
    public_replies="latest_post",
)
