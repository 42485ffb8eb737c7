"""The one safe JSON reader: the webhooks' 400 and the agent API's 400/422 come from the same checks."""

from __future__ import annotations

import pytest

from carehooks.web.errors import MalformedBodyError
from carehooks.web.jsonbody import MAX_DEPTH, JsonBodyError, NumberTooLongError, load_object, parse


def test_any_json_value_parses() -> None:
    assert parse('{"a": [1, -2, 3.5, null, true, "x"]}') == {"a": [1, -2, 3.5, None, True, "x"]}
    assert parse("null") is None
    assert parse("[null, null]") == [None, None]


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
        "NaN",
        "[Infinity]",
        "{",
        "",
    ],
)
def test_deep_broken_or_non_standard_json_is_a_body_error(text: str) -> None:
    with pytest.raises(JsonBodyError) as raised:
        parse(text)
    assert not isinstance(raised.value, NumberTooLongError)


def test_json_at_the_depth_limit_parses() -> None:
    assert parse("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None


@pytest.mark.parametrize("digits", [1_001, 4_301, 5_000, 100_000])
def test_an_integer_of_thousands_of_digits_is_a_number_error_not_a_valueerror_from_the_decoder(
    digits: int,
) -> None:
    for text in ("9" * digits, '{"v": -' + "9" * digits + "}"):
        with pytest.raises(NumberTooLongError):
            parse(text)


def test_an_integer_of_a_thousand_digits_still_parses() -> None:
    assert parse("9" * 1_000) == int("9" * 1_000)


@pytest.mark.parametrize(
    "raw",
    [b"9" * 5_000, b'{"v": ' + b"9" * 5_000 + b"}", b"[" * 100_000, b"null", b"[null, null]", b"\xff{}"],
)
def test_the_webhooks_still_answer_every_such_body_with_malformed_body(raw: bytes) -> None:
    with pytest.raises(MalformedBodyError):
        load_object(raw)


def test_the_webhooks_still_repair_a_lone_surrogate() -> None:
    assert load_object(b'{"text": "ab\\ud800", "\\udfff": 1}') == {"text": "ab\ufffd", "\ufffd": 1}
