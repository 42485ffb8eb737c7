"""What the WhatsApp Cloud API accepts (pure): read through :func:`carehooks.channels.traits.traits_for`."""

from __future__ import annotations

from carehooks.outbound.platforms import ChannelTraits

TEXT_LIMIT = 4096

TRAITS = ChannelTraits(
    label="WhatsApp",
    text_limit=TEXT_LIMIT,
    native_choices=True,  # reply buttons or a list
    templates=True,
    window="whatsapp",
)
