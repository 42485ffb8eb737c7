"""What the WhatsApp Cloud API accepts (pure): read through :func:`carehooks.channels.traits.traits_for`."""

from __future__ import annotations

from carehooks.outbound.platforms import ChannelTraits, MediaSupport
from carehooks.outbound.text import CODE_POINTS

# The Cloud API documents ``text.body`` as at most 4096 characters (platforms.md §4).
TEXT_LIMIT = 4096
TEXT_MEASURE = CODE_POINTS
# Image and document messages with a ``link`` carry one file each, and a caption of at most 1024
# characters (Meta's image-messages and document-messages references); a longer text goes first, alone.
CAPTION_LIMIT = 1024
MEDIA = MediaSupport(types=frozenset({"image", "file"}), per_message=1, caption_limit=CAPTION_LIMIT)

TRAITS = ChannelTraits(
    label="WhatsApp",
    text_limit=TEXT_LIMIT,
    measure=TEXT_MEASURE,
    native_choices=True,  # reply buttons or a list
    templates=True,
    window="whatsapp",
    media=MEDIA,
)
