"""What Telegram accepts (pure): read through :func:`carehooks.channels.traits.traits_for`.

Telegram counts text in UTF-16 code units (a character outside the BMP counts two).
"""

from __future__ import annotations

from carehooks.outbound.platforms import ChannelTraits

TEXT_LIMIT = 4096

TRAITS = ChannelTraits(
    label="Telegram",
    text_limit=TEXT_LIMIT,
    utf16=True,
    native_choices=True,  # inline keyboard
)
