"""Fitting outbound text to a channel's limits, counted the way each platform counts (pure).

Platforms count length differently: Messenger and WhatsApp in characters (code points), Telegram and
Twilio in UTF-16 code units, Instagram in UTF-8 bytes, X in weighted characters (its own measure, in
``carehooks.channels.x.weighted``). A :class:`Measure` says how one platform counts; :func:`fit` cuts
any text to a limit in that measure, and only between user-perceived characters (an approximation of
Unicode's extended grapheme clusters, :func:`cluster_ends`), so a cut never splits a surrogate pair,
an emoji ZWJ sequence, a flag, a skin tone or a letter from its accents.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from carehooks.outbound.models import Choice

ELLIPSIS = "…"

ZWJ = 0x200D
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)


class Measure(Protocol):
    """How a platform counts the length of a text."""

    @property
    def name(self) -> str:
        """A short name for send logs (``code_points``, ``utf16``, ``utf8_bytes``, ``x_weighted``)."""
        ...

    def size(self, text: str) -> int:
        """The length of ``text`` as the platform counts it."""
        ...

    def pieces(self, text: str) -> Iterator[tuple[int, int]]:
        """The pieces a cut may not split, in order: ``(end index, size of the piece)``."""
        ...


@dataclass(frozen=True)
class _Additive:
    """A measure where a text's size is the sum of its characters' sizes."""

    name: str

    def size(self, text: str) -> int:
        if self.name == "utf16":
            return utf16_length(text)
        if self.name == "utf8_bytes":
            return utf8_length(text)
        return len(text)

    def pieces(self, text: str) -> Iterator[tuple[int, int]]:
        start = 0
        for end in cluster_ends(text):
            yield end, self.size(text[start:end])
            start = end


CODE_POINTS: Measure = _Additive("code_points")
UTF16: Measure = _Additive("utf16")
UTF8_BYTES: Measure = _Additive("utf8_bytes")


@dataclass(frozen=True)
class Fitted:
    """Text cut to a limit, and what was done to it (for ``SendResult.details``)."""

    text: str
    details: dict[str, str] = field(default_factory=dict)


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units (Telegram, Twilio): a character outside the BMP counts two."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def utf8_length(text: str) -> int:
    """Length in UTF-8 bytes (Instagram)."""
    return len(text.encode("utf-8", "surrogatepass"))


def fit(
    text: str,
    limit: int,
    *,
    utf16: bool = False,
    measure: Measure | None = None,
    label: str = "text",
) -> Fitted:
    """``text`` unchanged when it fits, else cut with an ellipsis, preferably at a word boundary.

    ``measure`` says how the platform counts (default: code points; ``utf16=True`` is :data:`UTF16`).
    The cut keeps whole user-perceived characters (:func:`cluster_ends`), and the result, ellipsis
    included, is at most ``limit`` in that measure. When even the ellipsis does not fit, the text is
    cut without one.
    """
    measure = measure or (UTF16 if utf16 else CODE_POINTS)
    original = measure.size(text)
    if original <= limit:
        return Fitted(text)
    ellipsis = ELLIPSIS if measure.size(ELLIPSIS) <= limit else ""
    budget = limit - measure.size(ellipsis)
    ends = [0]
    used = 0
    for end, size in measure.pieces(text):
        if used + size > budget:
            break
        used += size
        ends.append(end)
    cut = text[: ends[-1]]
    # Prefer a word boundary when one is close (within the last fifth), so words are not cut in half.
    space = cut.rfind(" ")
    if space > 0 and _is_end(ends, space) and measure.size(cut[:space]) >= budget * 4 // 5:
        cut = cut[:space]
    cut = text[: _snap(ends, len(cut.rstrip()))]
    # Measures that are not a plain sum (X's URLs and emoji) are checked on the whole result.
    while cut and measure.size(cut + ellipsis) > limit:
        cut = text[: _snap(ends, len(cut) - 1)]
    return Fitted(
        cut + ellipsis,
        {
            f"{label}_truncated": "true",
            f"{label}_original_length": str(original),
            f"{label}_limit": str(limit),
            f"{label}_counted_as": measure.name,
        },
    )


def _is_end(ends: list[int], index: int) -> bool:
    found = bisect.bisect_left(ends, index)
    return found < len(ends) and ends[found] == index


def _snap(ends: list[int], index: int) -> int:
    """The last allowed cut at or before ``index``."""
    return ends[max(0, bisect.bisect_right(ends, index) - 1)]


# -- user-perceived characters ----------------------------------------------------------------------
# An approximation of Unicode's extended grapheme clusters (UAX #29) from ``unicodedata`` alone: it never
# breaks where UAX #29 does not, and may keep a few more characters together (after any ZWJ, after any
# virama), which only makes a cut a little shorter.


def _extends(code: int, category: str) -> bool:
    """Joins the character before it: combining marks, ZWJ, variation selectors, skin tones, tags."""
    return (
        category in ("Mn", "Me", "Mc")
        or code == ZWJ
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
    )


def _hangul(code: int) -> str:
    """Hangul syllable type: L, V, T, LV, LVT, or '' for anything else."""
    if 0x1100 <= code <= 0x115F or 0xA960 <= code <= 0xA97C:
        return "L"
    if 0x1160 <= code <= 0x11A7 or 0xD7B0 <= code <= 0xD7C6:
        return "V"
    if 0x11A8 <= code <= 0x11FF or 0xD7CB <= code <= 0xD7FB:
        return "T"
    if 0xAC00 <= code <= 0xD7A3:
        return "LV" if (code - 0xAC00) % 28 == 0 else "LVT"
    return ""


def _joined(previous: str, current: str, regional_run: int) -> bool:
    """Whether ``current`` belongs to the same user-perceived character as ``previous``."""
    before, code = ord(previous), ord(current)
    if previous in "\r\n" or current in "\r\n":
        return previous == "\r" and current == "\n"
    if _extends(code, unicodedata.category(current)) or before == ZWJ:
        return True  # marks, selectors, skin tones, tags; what a ZWJ joins (emoji sequences, conjuncts)
    if code in _REGIONAL_INDICATORS and before in _REGIONAL_INDICATORS:
        return regional_run % 2 == 1  # flags are pairs
    if unicodedata.combining(previous) == 9 and unicodedata.category(current) == "Lo":
        return True  # a virama joins the next consonant (Indic conjuncts)
    left, right = _hangul(before), _hangul(code)
    return (
        (left == "L" and right in ("L", "V", "LV", "LVT"))
        or (left in ("LV", "V") and right in ("V", "T"))
        or (left in ("LVT", "T") and right == "T")
    )


def cluster_ends(text: str) -> Iterator[int]:
    """The index after each user-perceived character of ``text``: where a cut may fall."""
    regional_run = 0
    for index in range(1, len(text) + 1):
        previous = text[index - 1]
        regional_run = regional_run + 1 if ord(previous) in _REGIONAL_INDICATORS else 0
        if index == len(text) or not _joined(previous, text[index], regional_run):
            yield index


def clusters(text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each user-perceived character of ``text``."""
    start = 0
    for end in cluster_ends(text):
        yield start, end
        start = end


def choices_as_text(text: str, choices: Sequence[Choice]) -> str:
    """For channels without buttons: the choices as numbered lines after the text."""
    if not choices:
        return text
    lines = [f"{index}. {choice.title}" for index, choice in enumerate(choices, start=1)]
    return "\n".join([text, "", *lines]) if text else "\n".join(lines)
