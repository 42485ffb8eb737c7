"""Text matching primitives of the rules: normalization for keywords and phrases, RE2 for regexes.

Normalization is case- and accent-insensitive, on word boundaries: "Où est ma COMMANDE ?" and
"ou est ma commande" normalize to the same words. Keywords and phrases in the configuration are
normalized the same way once, when the configuration is compiled. Regular expressions are RE2 (linear
time); the configuration is validated with :func:`compile_regex`, and the rules engine compiles with it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# RE2 memory budget per pattern: a pattern needing more is rejected when the configuration is validated.
REGEX_MAX_MEM = 8 << 20

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


class RegexError(ValueError):
    """A pattern RE2 cannot compile (syntax, or beyond the memory budget)."""


def compile_regex(pattern: str) -> Any:
    """Compile with RE2: matching time is linear in the text, whatever the pattern (no backtracking)."""
    import re2

    options = re2.Options()
    options.max_mem = REGEX_MAX_MEM
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        raise RegexError(f"invalid regular expression {pattern!r}: {exc}") from exc
