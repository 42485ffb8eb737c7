"""What X accepts (pure): read through :func:`carehooks.channels.traits.traits_for`.

A public reply (a post) is at most 280 *weighted* characters, counted as twitter-text counts them
(:mod:`carehooks.channels.x.weighted`: CJK and emoji weigh 2, a URL 23). A direct message is at most
10,000 characters; X documents no weighting for it, so it is counted in UTF-16 code units, never less
than code points, whichever of the two X uses.
"""

from __future__ import annotations

from carehooks.channels.x.weighted import MAX_WEIGHTED_LENGTH, X_WEIGHTED
from carehooks.outbound.platforms import ChannelTraits, MediaSupport
from carehooks.outbound.text import UTF16

DM_LIMIT = 10_000
DM_MEASURE = UTF16
POST_LIMIT = MAX_WEIGHTED_LENGTH
POST_MEASURE = X_WEIGHTED
# The kind of a customer's public post (a mention or reply), which a public reply answers.
POST_KIND = "post"
# X's DMs carry media only as ids of media uploaded to X first (``attachments: [{"media_id"}]``), never
# a URL, and carehooks does not upload files: attachments are refused with this reason.
MEDIA = MediaSupport(
    refusal=(
        "X cannot carry attachments sent by URL: its direct messages take only media uploaded to X "
        "first, which carehooks does not do; send the link in the text instead"
    )
)

TRAITS = ChannelTraits(
    label="X",
    text_limit=DM_LIMIT,
    measure=DM_MEASURE,
    public_replies="latest_post",
    post_kind=POST_KIND,
    media=MEDIA,
)
