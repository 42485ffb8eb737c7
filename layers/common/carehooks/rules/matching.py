"""Compiled tests: regular expressions (RE2, linear time) and word/phrase matchers over normalized text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from carehooks.rules.text import phrase_key, words

# RE2 memory budget per pattern: a pattern needing more is rejected when the configuration is validated.
REGEX_MAX_MEM = 8 << 20


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


class WordMatcher:
    """Any of some keywords/phrases, on word boundaries, case- and accent-insensitive.

    Single words are looked up in the message's word set; multi-word phrases are searched in the
    message's words joined by single spaces, framed by spaces, so only whole words match.
    """

    __slots__ = ("phrases", "single")

    def __init__(self, items: Iterable[str]) -> None:
        single: set[str] = set()
        phrases: list[str] = []
        for item in items:
            found = words(item)
            if len(found) == 1:
                single.add(found[0])
            elif found:
                phrases.append(phrase_key(item))
        self.single = frozenset(single)
        self.phrases = tuple(phrases)

    def matches(self, word_set: frozenset[str], joined: str) -> bool:
        if self.single and not self.single.isdisjoint(word_set):
            return True
        for phrase in self.phrases:  # noqa: SIM110 (a plain loop: no generator per call on the hot path)
            if phrase in joined:
                return True
        return False
