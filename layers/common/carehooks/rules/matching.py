"""Compiled tests: word/phrase matchers over normalized text (regexes: :func:`carehooks.config.text.compile_regex`)."""

from __future__ import annotations

from collections.abc import Iterable

from carehooks.config.text import phrase_key, words


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
