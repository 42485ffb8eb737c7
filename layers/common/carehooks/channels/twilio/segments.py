"""How an SMS body travels (pure): GSM-7 or UCS-2, and in how many segments.

An SMS carries 160 GSM-7 characters (the GSM 03.38 default alphabet; its extension table's characters,
such as ``€`` and ``{``, take two), or 70 UCS-2 (UTF-16) code units. A longer message is split into
segments of 153 GSM-7 characters or 67 UCS-2 code units, the rest holding the header that joins them.
One character outside GSM-7 (an emoji, a CJK or Arabic letter, a curly quote) sends the whole body as
UCS-2: segments (and their cost) can then multiply by more than two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from carehooks.outbound.text import utf16_length

# GSM 03.38 default alphabet and its extension table (each extension character is sent as two).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
SINGLE = {"GSM-7": 160, "UCS-2": 70}
PER_SEGMENT = {"GSM-7": 153, "UCS-2": 67}

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SmsShape:
    """The encoding an SMS body needs, its length in that encoding's units, and its segments."""

    encoding: Encoding
    units: int
    segments: int


def sms_shape(body: str) -> SmsShape:
    """How ``body`` goes out as an SMS."""
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in body):
        encoding: Encoding = "GSM-7"
        units = sum(2 if char in GSM7_EXTENSION else 1 for char in body)
    else:
        encoding = "UCS-2"
        units = utf16_length(body)
    if units <= SINGLE[encoding]:
        return SmsShape(encoding, units, 1)
    return SmsShape(encoding, units, -(-units // PER_SEGMENT[encoding]))
