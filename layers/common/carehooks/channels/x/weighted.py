"""X's weighted length of a post (pure): how X counts the 280 characters of a public reply.

X counts a post with twitter-text's ``parseTweet`` and its version 3 configuration
(https://github.com/twitter/twitter-text, ``config/v3.json`` and ``js/src/parseTweet.js``; the
conformance cases are ``conformance/validate.yml``, ``WeightedTweetsWithDiscountedEmojiCounterTest``):

- the text is NFC-normalised first;
- a URL counts ``transformedURLLength`` (23), however long it is (X wraps it in a t.co link);
- an emoji, including a ZWJ sequence, a flag, a keycap or an emoji with a skin tone, counts as one
  character of the default weight (200, that is 2);
- every other code point weighs what its range in :data:`RANGES` says (100, that is 1: Latin, Greek,
  Cyrillic, Arabic, Hebrew, Devanagari and the other scripts below U+1100, and some general
  punctuation), or the default weight 200 (CJK, Hangul, most symbols, anything outside the BMP);
- the limit is ``maxWeightedTweetLength`` (280) at ``scale`` 100.

twitter-text finds URLs with a long regular expression and a list of top-level domains, and emoji with
the list of recommended emoji sequences. This module approximates both, and where it cannot know what
X will decide it counts the larger of the two answers, so a cut it approves is never too long:

- a URL with ``http://`` or ``https://`` and a valid host counts 23; trailing punctuation is not part
  of it;
- a host without a scheme (``example.com/help``) counts the larger of 23 and its own weight, whether or
  not X knows its top-level domain;
- an emoji sequence (:func:`_emoji_size`) counts 2, plus anything in its grapheme cluster that is not
  part of the sequence; ``©`` and ``®`` count 2 (X counts them as emoji when they are shown as such).
  A ZWJ sequence of up to four emoji that is well formed but not a recommended one counts 2, where X
  may count its parts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from carehooks.outbound.text import ZWJ, clusters

# twitter-text config/v3.json
MAX_WEIGHTED_LENGTH = 280
SCALE = 100
DEFAULT_WEIGHT = 200
TRANSFORMED_URL_LENGTH = 23
RANGES: tuple[tuple[int, int, int], ...] = (
    (0, 4351, 100),  # Latin to Georgian: Latin, Greek, Cyrillic, Arabic, Hebrew, Devanagari, Thai, ...
    (8192, 8205, 100),  # U+2000-U+200D: spaces, ZWSP, ZWNJ, ZWJ
    (8208, 8223, 100),  # U+2010-U+201F: dashes and quotation marks
    (8242, 8247, 100),  # U+2032-U+2037: primes
)

# The longest recommended ZWJ sequences join four emoji (families, a kiss); past that, X counts parts.
MAX_ZWJ_ELEMENTS = 4

_URL_UNITS = TRANSFORMED_URL_LENGTH * SCALE
_EMOJI_UNITS = DEFAULT_WEIGHT

_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_URL = re.compile(
    r"(?<![\w@#$./:-])"  # not inside a word, an address, a hashtag or a longer path
    r"(?P<scheme>https?://)?"
    rf"(?:{_LABEL}\.)+[^\W\d_]{{2,63}}(?![\w-])"  # host: labels of at most 63, letters in the TLD
    r"(?::\d{1,5})?"
    r"(?:[/?#][^\s]*)?",
    re.IGNORECASE,
)
# A URL does not end with punctuation that usually follows it in a sentence (twitter-text's
# validUrlPathEndingChars); a closing parenthesis stays when the URL opened one.
_TRAILING = ".,:;!?'\"*>]}"


def _weight(code: int) -> int:
    for start, end, weight in RANGES:
        if start <= code <= end:
            return weight
    return DEFAULT_WEIGHT


def _pictographic(code: int) -> bool:
    """Emoji that start a sequence (an approximation of Extended_Pictographic)."""
    return (
        code in (0xA9, 0xAE, 0x203C, 0x2049, 0x2122, 0x2139, 0x24C2, 0x3030, 0x303D, 0x3297, 0x3299)
        or 0x2194 <= code <= 0x21AA
        or 0x231A <= code <= 0x23FF
        or 0x25AA <= code <= 0x25FE
        or 0x2600 <= code <= 0x27BF
        or 0x2934 <= code <= 0x2935
        or 0x2B05 <= code <= 0x2B55
        or (0x1F000 <= code <= 0x1FAFF and not 0x1F1E6 <= code <= 0x1F1FF and not 0x1F3FB <= code <= 0x1F3FF)
        or 0x1FC00 <= code <= 0x1FFFD
    )


def _element_end(codes: list[int], index: int) -> int:
    """The end of one emoji element starting at ``index``: the emoji, FE0F, a skin tone, tags."""
    index += 1
    if index < len(codes) and codes[index] == 0xFE0F:
        index += 1
    if index < len(codes) and 0x1F3FB <= codes[index] <= 0x1F3FF:
        index += 1
    while index < len(codes) and 0xE0020 <= codes[index] <= 0xE007F:
        index += 1
    return index


def _emoji_size(cluster: str) -> int | None:
    """Weight units of a grapheme cluster that starts with an emoji sequence, else None."""
    codes = [ord(c) for c in cluster]
    first = codes[0]
    if chr(first) in "0123456789#*":
        rest = codes[1:]
        if rest[:2] == [0xFE0F, 0x20E3] or rest[:1] == [0x20E3]:
            end = 3 if rest[:1] == [0xFE0F] else 2
        else:
            return None
    elif 0x1F1E6 <= first <= 0x1F1FF:
        end = 2 if len(codes) > 1 and 0x1F1E6 <= codes[1] <= 0x1F1FF else 1
    elif _pictographic(first):
        end = _element_end(codes, 0)
        elements = 1
        while (
            elements < MAX_ZWJ_ELEMENTS
            and end + 1 < len(codes)
            and codes[end] == ZWJ
            and _pictographic(codes[end + 1])
        ):
            end = _element_end(codes, end + 1)
            elements += 1
    else:
        return None
    return _EMOJI_UNITS + sum(_weight(code) for code in codes[end:])


def _cluster_units(cluster: str) -> int:
    normal = unicodedata.normalize("NFC", cluster)
    emoji = _emoji_size(normal)
    return emoji if emoji is not None else sum(_weight(ord(c)) for c in normal)


def _urls(text: str) -> Iterator[tuple[int, int, bool]]:
    """``(start, end, has_scheme)`` of each URL in ``text``."""
    for match in _URL.finditer(text):
        url = match.group()
        while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
            url = url[:-1]
        yield match.start(), match.start() + len(url), bool(match.group("scheme"))


def _units(text: str) -> Iterator[tuple[int, int]]:
    """``(end, weight units)`` of each piece a cut may not split: URLs and grapheme clusters."""
    urls = _urls(text)
    url = next(urls, None)
    url_from: int | None = None
    for start, end in clusters(text):
        while url is not None and url[1] <= start:
            url = next(urls, None)
        if url is None or not url[0] <= start < url[1]:
            yield end, _cluster_units(text[start:end])
            continue
        # A URL is one piece, with the clusters it covers (and one it ends inside).
        url_from = start if url_from is None else url_from
        if end >= url[1]:
            pieces = [(e, _cluster_units(text[s:e])) for s, e in clusters(text[url_from:end])]
            own = sum(units for _, units in pieces)
            if url[2] or own < _URL_UNITS:
                yield end, _URL_UNITS
            else:
                # A host without a scheme that weighs 23 or more counts its own weight whether or not X
                # takes it for a link, so it may be cut like text.
                yield from ((url_from + e, units) for e, units in pieces)
            url, url_from = next(urls, None), None


def weighted_length(text: str) -> int:
    """X's weighted length of ``text`` (280 is the most a post may have)."""
    return sum(units for _, units in _units(unicodedata.normalize("NFC", text))) // SCALE


@dataclass(frozen=True)
class _XWeighted:
    """:class:`carehooks.outbound.text.Measure` for X posts."""

    name: str = "x_weighted"

    def size(self, text: str) -> int:
        return weighted_length(text)

    def pieces(self, text: str) -> Iterator[tuple[int, int]]:
        # Sizes of the pieces of the text as written; fit() checks the normalised whole at the end.
        for end, units in _units(text):
            yield end, -(-units // SCALE)


X_WEIGHTED = _XWeighted()
