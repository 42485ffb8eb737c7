"""Which replies are ratings."""

from __future__ import annotations

import pytest

from carehooks.surveys.rating import parse_rating


@pytest.mark.parametrize(
    ("text", "payload", "score"),
    [
        ("5", None, 5),
        (" 4 ", None, 4),
        ("4/5", None, 4),
        ("3 / 5", None, 3),
        ("5⭐", None, 5),
        ("5 ⭐", None, 5),
        ("2.", None, 2),
        ("4️⃣", None, 4),
        ("1⃣", None, 1),
        ("⭐⭐⭐⭐", None, 4),
        ("★★", None, 2),
        ("🌟🌟🌟🌟🌟", None, 5),
        ("5 ⭐ Excellent", None, 5),
        ("Great", "CSAT_5", 5),
        ("", "csat_3", 3),
        ("", "csat:2", 2),
        ("csat_1", None, 1),
    ],
)
def test_ratings_are_read(text: str, payload: str | None, score: int) -> None:
    assert parse_rating(text, payload) == score


@pytest.mark.parametrize(
    ("text", "payload"),
    [
        ("0", None),
        ("6", None),
        ("10", None),
        ("45", None),
        ("4 items are missing", None),
        ("my order 5", None),
        ("⭐⭐⭐⭐⭐⭐", None),
        ("", None),
        (None, None),
        ("hello", "GET_STARTED"),
        ("", "csat_6"),
        ("", "csat_"),
    ],
)
def test_other_replies_are_not_ratings(text: str | None, payload: str | None) -> None:
    assert parse_rating(text, payload) is None
