"""Reading a rating out of a customer's reply (pure).

Accepted, for scores 1 to 5: a bare digit (``4``, ``4/5``, ``4 ⭐``), a keycap emoji (``4️⃣``), one to
five stars (``⭐⭐⭐⭐``), and button payloads (``csat_4``, ``CSAT_4``, ``csat:4``). Anything else, such as
``4 items are missing``, is not a rating.
"""

from __future__ import annotations

import re

_PAYLOAD = re.compile(r"^\s*csat[_:]([1-5])\s*$", re.IGNORECASE)
_DIGIT = re.compile(r"^([1-5])\s*(?:/\s*5)?\s*(?:[⭐★🌟]\ufe0f?\s*)?[.!]?$")
_KEYCAP = re.compile(r"^([1-5])\ufe0f?\u20e3$")
_STARS = re.compile(r"^(?:[⭐★🌟]\ufe0f?\s*){1,5}$")


def parse_rating(text: str | None, payload: str | None = None) -> int | None:
    """The score 1-5 a reply gives, or None when it is not a rating."""
    if payload:
        match = _PAYLOAD.match(payload)
        if match:
            return int(match.group(1))
    value = (text or "").strip()
    if not value or len(value) > 20:
        return None
    # Button titles (``5 ⭐ Excellent``) come back as text on some platforms: accept the score.
    match = _PAYLOAD.match(value) or _DIGIT.match(value) or _KEYCAP.match(value)
    if match is None:
        match = re.match(r"^([1-5]) ⭐ \S.*$", value)
    if match:
        return int(match.group(1))
    if _STARS.match(value):
        return sum(value.count(star) for star in "⭐★🌟")
    return None
