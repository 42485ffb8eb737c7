"""Text normalization for keyword and phrase matching: case- and accent-insensitive, on word boundaries.

"Où est ma COMMANDE ?" and "ou est ma commande" normalize to the same words. Keywords and phrases in the
configuration are normalized the same way once, when the configuration is compiled.
"""

from __future__ import annotations

import re
import unicodedata

# Combining marks left by NFKD decomposition (accents, cedillas, umlauts…). Removing them with one C-level
# substitution keeps a 60 KB message in the sub-millisecond range.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_WORD = re.compile(r"\w+")


def normalize(text: str) -> str:
    """Lower-cased (``casefold``), accents removed, compatibility forms folded (ﬁ → fi, full-width → ASCII)."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    return _COMBINING.sub("", unicodedata.normalize("NFKD", folded))


def words(text: str) -> list[str]:
    """The normalized words of ``text`` (letters, digits and underscores; everything else separates)."""
    return _WORD.findall(normalize(text))


def phrase_key(text: str) -> str:
    """A phrase as its words joined by single spaces, framed by spaces so ``in`` matches whole words only."""
    return f" {' '.join(words(text))} "
