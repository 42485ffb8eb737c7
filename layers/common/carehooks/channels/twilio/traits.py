"""What Twilio accepts, for SMS and for WhatsApp through Twilio (pure).

Read through :func:`carehooks.channels.traits.traits_for`. The body limit is the length Twilio accepts
before it refuses with error 21617 (1,600 characters, about ten SMS segments); Twilio counts a
character outside the BMP (most emoji) as two, so bodies are counted in UTF-16 code units. WhatsApp
through Twilio has WhatsApp's 24-hour window and its approved templates (``ContentSid``), whose
variables may not be empty (error 21656).
"""

from __future__ import annotations

from carehooks.outbound.platforms import ChannelTraits
from carehooks.outbound.text import UTF16

BODY_LIMIT = 1600
BODY_MEASURE = UTF16

SMS = ChannelTraits(label="SMS", text_limit=BODY_LIMIT, measure=BODY_MEASURE)
WHATSAPP = ChannelTraits(
    label="WhatsApp (Twilio)", text_limit=BODY_LIMIT, measure=BODY_MEASURE, templates=True, window="whatsapp"
)
