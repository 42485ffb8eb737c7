"""What Twilio accepts, for SMS and for WhatsApp through Twilio (pure).

Read through :func:`carehooks.channels.traits.traits_for`. The body limit is the length Twilio accepts
before it refuses (about ten SMS segments). WhatsApp through Twilio has WhatsApp's 24-hour window and
its approved templates (``ContentSid``).
"""

from __future__ import annotations

from carehooks.outbound.platforms import ChannelTraits

BODY_LIMIT = 1600

SMS = ChannelTraits(label="SMS", text_limit=BODY_LIMIT)
WHATSAPP = ChannelTraits(label="WhatsApp (Twilio)", text_limit=BODY_LIMIT, templates=True, window="whatsapp")
