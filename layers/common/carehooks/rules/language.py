"""A tiny, pure language guess for choosing an acknowledgement's language and for ``language`` conditions.

Customer-care messages are short ("where is my order?"), where statistical detectors are least reliable
and a wrong guess is worse than none. So: the writing system decides for non-Latin scripts; for Latin
script, the most frequent function words of eight languages are counted, and a guess is made only with
a clear winner. Otherwise the answer is ``und`` (undetermined) and the configuration's default language
applies. No model to load: nothing at import time, microseconds per message.
"""

from __future__ import annotations

import re

from carehooks.config.text import words

UNDETERMINED = "und"

# Function words frequent in short requests, and rare in the other languages listed.
_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "is",
            "are",
            "was",
            "my",
            "your",
            "you",
            "i",
            "we",
            "it",
            "to",
            "of",
            "and",
            "in",
            "on",
            "for",
            "with",
            "this",
            "that",
            "what",
            "where",
            "when",
            "why",
            "how",
            "can",
            "could",
            "please",
            "thanks",
            "thank",
            "hello",
            "hi",
            "not",
            "have",
            "has",
            "do",
            "does",
            "did",
            "order",
            "help",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "la",
            "los",
            "las",
            "es",
            "mi",
            "tu",
            "yo",
            "usted",
            "por",
            "para",
            "que",
            "donde",
            "cuando",
            "como",
            "con",
            "una",
            "uno",
            "del",
            "al",
            "pero",
            "gracias",
            "hola",
            "esta",
            "estoy",
            "pedido",
            "ayuda",
            "no",
            "se",
            "lo",
            "muy",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "est",
            "mon",
            "ma",
            "mes",
            "vous",
            "je",
            "nous",
            "et",
            "ou",
            "est",
            "pour",
            "avec",
            "une",
            "un",
            "des",
            "du",
            "au",
            "que",
            "qui",
            "quand",
            "comment",
            "bonjour",
            "merci",
            "pas",
            "commande",
            "aide",
            "ce",
            "cette",
            "suis",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "ist",
            "mein",
            "meine",
            "sie",
            "ich",
            "wir",
            "und",
            "oder",
            "fur",
            "mit",
            "ein",
            "eine",
            "nicht",
            "wo",
            "wann",
            "wie",
            "warum",
            "bitte",
            "danke",
            "hallo",
            "bestellung",
            "hilfe",
            "auf",
            "zu",
            "den",
            "dem",
        ]
    ),
    "it": frozenset(
        [
            "il",
            "lo",
            "la",
            "gli",
            "le",
            "e",
            "mio",
            "mia",
            "tu",
            "io",
            "noi",
            "per",
            "con",
            "una",
            "uno",
            "del",
            "della",
            "che",
            "dove",
            "quando",
            "come",
            "grazie",
            "ciao",
            "ordine",
            "aiuto",
            "non",
            "sono",
            "questo",
        ]
    ),
    "pt": frozenset(
        [
            "o",
            "a",
            "os",
            "as",
            "e",
            "meu",
            "minha",
            "voce",
            "eu",
            "nos",
            "para",
            "com",
            "uma",
            "um",
            "do",
            "da",
            "que",
            "onde",
            "quando",
            "como",
            "obrigado",
            "obrigada",
            "ola",
            "pedido",
            "ajuda",
            "nao",
            "sou",
            "este",
            "esta",
        ]
    ),
    "nl": frozenset(
        [
            "de",
            "het",
            "een",
            "is",
            "mijn",
            "jij",
            "ik",
            "wij",
            "en",
            "of",
            "voor",
            "met",
            "niet",
            "waar",
            "wanneer",
            "hoe",
            "waarom",
            "alstublieft",
            "dank",
            "bedankt",
            "hallo",
            "bestelling",
            "hulp",
            "op",
            "te",
            "van",
        ]
    ),
    "tr": frozenset(
        [
            "bir",
            "ve",
            "bu",
            "da",
            "de",
            "ne",
            "nerede",
            "nasil",
            "siparis",
            "siparisim",
            "yardim",
            "merhaba",
            "tesekkurler",
            "lutfen",
            "icin",
            "ile",
            "degil",
            "ben",
            "sen",
        ]
    ),
}

# Characters that (after case folding) only some Latin-script languages use: a strong hint each.
_LETTER_HINTS: dict[str, str] = {
    "ñ": "es",
    "¿": "es",
    "¡": "es",
    "ß": "de",
    "ã": "pt",
    "õ": "pt",
    "ğ": "tr",
    "ı": "tr",  # noqa: RUF001 (the Turkish dotless i is the point)
    "ş": "tr",
    "ij": "nl",
}

_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ja", re.compile("[\u3040-\u30ff]")),  # kana: Japanese even when mixed with kanji
    ("ko", re.compile("[\uac00-\ud7af\u1100-\u11ff]")),
    ("zh", re.compile("[\u4e00-\u9fff]")),
    ("ar", re.compile("[\u0600-\u06ff]")),
    ("he", re.compile("[\u0590-\u05ff]")),
    ("el", re.compile("[\u0370-\u03ff]")),
    ("th", re.compile("[\u0e00-\u0e7f]")),
    ("hi", re.compile("[\u0900-\u097f]")),
    ("uk", re.compile("[іїєґ]")),  # letters Russian does not use
    ("ru", re.compile("[\u0400-\u04ff]")),
)

# Only the start of a long message is looked at: the guess does not get better, and it stays cheap.
_SAMPLE_CHARS = 2000
_SAMPLE_WORDS = 400

# Word → the languages whose list has it (one dict lookup per word).
_WORD_LANGUAGES: dict[str, tuple[str, ...]] = {}
for _code, _vocabulary in _STOPWORDS.items():
    for _word in _vocabulary:
        _WORD_LANGUAGES[_word] = (*_WORD_LANGUAGES.get(_word, ()), _code)


def detect_language(text: str, known_words: list[str] | None = None) -> str:
    """An ISO 639-1 code (``en``, ``es``, ``ja``…) or ``und`` when the text gives no clear answer.

    ``known_words``: the text's normalized words when the caller has them already.
    """
    sample = text[:_SAMPLE_CHARS].casefold()
    if not sample.strip():
        return UNDETERMINED
    if not sample.isascii():
        for code, pattern in _SCRIPTS:
            if pattern.search(sample):
                return code
    scores = dict.fromkeys(_STOPWORDS, 0)
    for word in words(sample) if known_words is None else known_words[:_SAMPLE_WORDS]:
        for code in _WORD_LANGUAGES.get(word, ()):
            scores[code] += 1
    for hint, code in _LETTER_HINTS.items():
        if hint in sample:
            scores[code] += 2
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top in (0, second):
        return UNDETERMINED
    return best
