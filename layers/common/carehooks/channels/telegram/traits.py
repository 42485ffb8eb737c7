"""What Telegram accepts (pure): read through :func:`carehooks.channels.traits.traits_for`.

Telegram counts text in UTF-16 code units (a character outside the BMP counts two): ``sendMessage``
takes "1-4096 characters after entities parsing", and its entity offsets are UTF-16 code units.
"""

from __future__ import annotations

from carehooks.outbound.platforms import ChannelTraits, MediaSupport
from carehooks.outbound.text import UTF16

TEXT_LIMIT = 4096
# sendPhoto / sendDocument with an HTTP URL Telegram fetches: one file per message, a caption of
# 0-1024 characters after entities parsing (UTF-16 code units, like the text).
CAPTION_LIMIT = 1024
MEDIA = MediaSupport(types=frozenset({"image", "file"}), per_message=1, caption_limit=CAPTION_LIMIT)

TRAITS = ChannelTraits(
    label="Telegram",
    text_limit=TEXT_LIMIT,
    measure=UTF16,
    native_choices=True,  # inline keyboard
    media=MEDIA,
)
