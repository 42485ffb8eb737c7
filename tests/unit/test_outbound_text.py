"""Fitting text to channel limits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from carehooks.outbound.models import Choice
from carehooks.outbound.text import ELLIPSIS, choices_as_text, fit, utf16_length


def test_text_that_fits_is_unchanged_and_says_nothing() -> None:
    fitted = fit("hello", 5)
    assert (fitted.text, fitted.details) == ("hello", {})


def test_long_text_is_cut_at_a_word_with_an_ellipsis_and_says_so() -> None:
    fitted = fit("one two three four five six", 20)
    assert fitted.text == "one two three four" + ELLIPSIS
    assert fitted.details == {
        "text_truncated": "true",
        "text_original_length": "27",
        "text_limit": "20",
        "text_counted_as": "code_points",
    }


def test_utf16_counting_never_splits_an_astral_character() -> None:
    text = "😀" * 10  # 20 UTF-16 code units
    fitted = fit(text, 7, utf16=True)
    assert utf16_length(fitted.text) <= 7
    assert fitted.text == "😀" * 3 + ELLIPSIS


@given(st.text(), st.integers(min_value=2, max_value=300), st.booleans())
def test_fitted_text_never_exceeds_the_limit(text: str, limit: int, utf16: bool) -> None:
    fitted = fit(text, limit, utf16=utf16)
    size = utf16_length(fitted.text) if utf16 else len(fitted.text)
    assert size <= limit
    assert (fitted.text == text) == (not fitted.details)


def test_choices_become_numbered_lines() -> None:
    text = choices_as_text("How did we do?", (Choice("csat:5", "Excellent"), Choice("csat:1", "Poor")))
    assert text == "How did we do?\n\n1. Excellent\n2. Poor"
