"""What Messenger accepts (pure): read through :func:`carehooks.channels.traits.traits_for`."""

from __future__ import annotations

from carehooks.outbound.platforms import ChannelTraits, MediaSupport
from carehooks.outbound.text import CODE_POINTS

# The Send API documents message text as "UTF-8 and has a 2000 character limit": characters.
TEXT_LIMIT = 2000
TEXT_MEASURE = CODE_POINTS
# Facebook accepts long comments; 8000 characters is the documented cap (unverified in platforms.md).
COMMENT_LIMIT = 8000
# Send API attachments by URL (``message.attachment`` {type, payload.url}): one per message, and a
# message with an attachment has no text, so the text goes as its own message first. Meta fetches the
# URL (images up to 8 MB, files up to 25 MB).
MEDIA = MediaSupport(types=frozenset({"image", "file"}), per_message=1)

TRAITS = ChannelTraits(
    label="Messenger",
    text_limit=TEXT_LIMIT,
    measure=TEXT_MEASURE,
    comment_limit=COMMENT_LIMIT,
    native_choices=True,  # quick replies
    window="meta_messaging",
    public_replies="comment_thread",
    media=MEDIA,
)
