"""What Instagram accepts (pure): read through :func:`carehooks.channels.traits.traits_for`."""

from __future__ import annotations

from carehooks.outbound.platforms import ChannelTraits, MediaSupport
from carehooks.outbound.text import UTF8_BYTES

# Instagram messaging documents message text as "UTF-8 and 1000 bytes or less": a reply or a private
# reply is cut by its UTF-8 bytes (999 CJK characters are 2,997 bytes), on a character boundary.
TEXT_LIMIT = 1000
TEXT_MEASURE = UTF8_BYTES
# Instagram comments are limited to 2,200 characters (unverified in platforms.md).
COMMENT_LIMIT = 2200
# As Messenger: one attachment per message, the text as its own message. Instagram documents images
# (png, jpeg, 8 MB) and files (pdf, 25 MB) among the media a message may carry.
MEDIA = MediaSupport(types=frozenset({"image", "file"}), per_message=1)

TRAITS = ChannelTraits(
    label="Instagram",
    text_limit=TEXT_LIMIT,
    measure=TEXT_MEASURE,
    comment_limit=COMMENT_LIMIT,
    native_choices=True,  # quick replies
    window="meta_messaging",
    public_replies="comment_thread",
    media=MEDIA,
)
