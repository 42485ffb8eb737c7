"""What Instagram accepts (pure): read through :func:`carehooks.channels.traits.traits_for`."""

from __future__ import annotations

from carehooks.outbound.platforms import ChannelTraits

# Instagram documents text as "less than 1000 characters" (unverified in platforms.md).
TEXT_LIMIT = 1000
# Instagram comments are limited to 2,200 characters (unverified in platforms.md).
COMMENT_LIMIT = 2200

TRAITS = ChannelTraits(
    label="Instagram",
    text_limit=TEXT_LIMIT,
    comment_limit=COMMENT_LIMIT,
    native_choices=True,  # quick replies
    window="meta_messaging",
    public_replies="comment_thread",
)
