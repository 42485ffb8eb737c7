"""What X accepts (pure): read through :func:`carehooks.channels.traits.traits_for`."""

from __future__ import annotations

from carehooks.outbound.platforms import ChannelTraits

DM_LIMIT = 10_000
POST_LIMIT = 280
# The kind of a customer's public post (a mention or reply), which a public reply answers.
POST_KIND = "post"

TRAITS = ChannelTraits(
    label="X",
    text_limit=DM_LIMIT,
    public_replies="latest_post",
    post_kind=POST_KIND,
)
