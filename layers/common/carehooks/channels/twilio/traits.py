"""What Twilio accepts, for SMS and for WhatsApp through Twilio (pure).

Read through :func:`carehooks.channels.traits.traits_for`. The body limit is the length Twilio accepts
before it refuses with error 21617 (1,600 characters, about ten SMS segments); Twilio counts a
character outside the BMP (most emoji) as two, so bodies are counted in UTF-16 code units. WhatsApp
through Twilio has WhatsApp's 24-hour window and its approved templates (``ContentSid``), whose
variables may not be empty (error 21656).

Attachments go as ``MediaUrl`` (Twilio fetches each URL):

- SMS becomes MMS, up to 10 media in one message with the text as its body, **only between numbers
  where Twilio sends MMS**: US and Canadian long codes (``+1``) to US and Canadian numbers, and
  Australian numbers (``+61``) to Australian numbers (Twilio's "Sending and receiving MMS messages";
  platforms.md says nothing about MMS). Elsewhere Twilio's MMS Converter would turn the message into
  an SMS with a link, or refuse it: an SMS-only route is refused (422) with :func:`mms_route`'s reason.
  ``+1`` also covers the other NANP countries (the Caribbean), where the converter may send a link.
- WhatsApp through Twilio: one medium per message; the body is the caption of an image only (Twilio
  sets no caption or filename on documents), so a text with a file goes first, alone.
"""

from __future__ import annotations

from carehooks.outbound.platforms import ChannelTraits, MediaSupport
from carehooks.outbound.text import UTF16

BODY_LIMIT = 1600
BODY_MEASURE = UTF16
# Twilio refuses more than 10 MediaUrl on one message (error 21623).
MAX_MEDIA = 10
# Country codes whose numbers Twilio sends MMS between (both ends in the same one).
MMS_COUNTRY_CODES = ("+1", "+61")


def mms_route(business: str, customer: str) -> str | None:
    """Why an SMS from ``business`` to ``customer`` cannot carry media (None: Twilio sends MMS there)."""
    for code in MMS_COUNTRY_CODES:
        if business.startswith(code) and customer.startswith(code):
            return None
    if not business.startswith("+"):
        return (
            f"the business sends from {business[:20]!r}, a short code or sender id, which carehooks "
            "cannot send MMS from; this SMS conversation can only carry text"
        )
    return (
        "this is an SMS-only route: Twilio sends MMS (pictures and files) only between US and Canadian "
        "numbers, or between Australian numbers; send the link in the text instead"
    )


SMS_MEDIA = MediaSupport(
    types=frozenset({"image", "file"}),
    per_message=MAX_MEDIA,
    caption_limit=BODY_LIMIT,
    max_per_reply=MAX_MEDIA,
    route=mms_route,
)
WHATSAPP_MEDIA = MediaSupport(
    types=frozenset({"image", "file"}),
    per_message=1,
    caption_limit=BODY_LIMIT,
    caption_types=frozenset({"image"}),
)

SMS = ChannelTraits(label="SMS", text_limit=BODY_LIMIT, measure=BODY_MEASURE, media=SMS_MEDIA)
WHATSAPP = ChannelTraits(
    label="WhatsApp (Twilio)",
    text_limit=BODY_LIMIT,
    measure=BODY_MEASURE,
    templates=True,
    window="whatsapp",
    media=WHATSAPP_MEDIA,
)
