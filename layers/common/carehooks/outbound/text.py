"""Fitting outbound text to a channel's limits (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from carehooks.outbound.models import Choice

ELLIPSIS = "…"


@dataclass(frozen=True)
class Fitted:
    """Text cut to a limit, and what was done to it (for ``SendResult.details``)."""

    text: str
    details: dict[str, str] = field(default_factory=dict)


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units (how a platform whose ``ChannelTraits.utf16`` is set counts)."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int, *, utf16: bool = False, label: str = "text") -> Fitted:
    """``text`` unchanged when it fits, else cut at a word boundary with an ellipsis.

    ``utf16`` counts UTF-16 code units instead of code points (a character outside the BMP counts two),
    so an astral character is never split into half a surrogate pair.
    """
    size = utf16_length if utf16 else len
    if size(text) <= limit:
        return Fitted(text)
    budget = limit - size(ELLIPSIS)
    if utf16:
        used = end = 0
        for index, char in enumerate(text):
            used += 2 if ord(char) > 0xFFFF else 1
            if used > budget:
                break
            end = index + 1
        cut = text[:end]
    else:
        cut = text[:budget]
    # Prefer a word boundary when one is close (within the last fifth), so words are not cut in half.
    space = cut.rfind(" ")
    if space >= budget * 4 // 5:
        cut = cut[:space]
    cut = cut.rstrip()
    return Fitted(
        cut + ELLIPSIS,
        {
            f"{label}_truncated": "true",
            f"{label}_original_length": str(size(text)),
            f"{label}_limit": str(limit),
        },
    )


def choices_as_text(text: str, choices: Sequence[Choice]) -> str:
    """For channels without buttons: the choices as numbered lines after the text."""
    if not choices:
        return text
    lines = [f"{index}. {choice.title}" for index, choice in enumerate(choices, start=1)]
    return "\n".join([text, "", *lines]) if text else "\n".join(lines)
