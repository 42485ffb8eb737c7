"""What Telegram accepts (pure): read through :func:`carehooks.channels.traits.traits_for`.

Telegram counts text in UTF-16 code units (a character outside the BMP counts two): ``sendMessage``
takes "1-4096 characters after entities parsing", and its entity offsets are UTF-16 code units.
"""

from __future__ import annotations

from carehooks.outbound.platforms import ChannelTraits
from carehooks.outbound.text import UTF16

TEXT_LIMIT = 4096

TRAITS = ChannelTraits(
    label="Telegram",
    text_limit=TEXT_LIMIT,
    measure=UTF16,
    native_choices=True,  # inline keyboard
)
