"""What the WhatsApp Cloud API accepts (pure): read through :func:`carehooks.channels.traits.traits_for`."""

from __future__ import annotations

from carehooks.outbound.platforms import ChannelTraits
from carehooks.outbound.text import CODE_POINTS

# The Cloud API documents ``text.body`` as at most 4096 characters (platforms.md §4).
TEXT_LIMIT = 4096
TEXT_MEASURE = CODE_POINTS

TRAITS = ChannelTraits(
    label="WhatsApp",
    text_limit=TEXT_LIMIT,
    measure=TEXT_MEASURE,
    native_choices=True,  # reply buttons or a list
    templates=True,
    window="whatsapp",
)
