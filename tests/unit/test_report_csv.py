"""Reports as CSV: RFC 4180, a header row, cells a spreadsheet never runs as formulas."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carehooks.api.routes.team_reports import wants_csv
from carehooks.reports.csv import flatten, safe_cell, to_csv
from carehooks.web.errors import InvalidInputError


@pytest.mark.parametrize("text", ["=1+1", "+33 6", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_a_formula_looking_text_is_defused(text: str) -> None:
    assert safe_cell(text) == "'" + text


def test_numbers_stay_numbers_and_none_is_empty() -> None:
    assert safe_cell(-2) == -2
    assert safe_cell(1.5) == 1.5
    assert safe_cell(None) == ""
    assert safe_cell(True) == "true"
    assert safe_cell(["a", "=b"]) == "a;=b"


def test_nested_figures_become_named_columns() -> None:
    assert flatten({"a": 1, "b": {"c": {"d": 2}}, "e": [1]}) == {"a": 1, "b_c_d": 2, "e": [1]}


def test_rfc_4180_quoting_and_crlf() -> None:
    text = to_csv([{"agent": 'a "b", c', "n": 1}, {"agent": "line\nbreak", "n": None}])
    assert text == 'agent,n\r\n"a ""b"", c",1\r\n"line\nbreak",\r\n'


def test_no_rows_still_has_the_header() -> None:
    assert to_csv([], ["agent", "replies"]) == "agent,replies\r\n"


@given(st.lists(st.dictionaries(st.sampled_from(["a", "b", "c"]), st.text(max_size=20)), max_size=5))
def test_what_is_written_reads_back(rows: list[dict[str, str]]) -> None:
    columns = ["a", "b", "c"]
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows, columns), newline="")))
    assert len(parsed) == len(rows)
    for got, want in zip(parsed, rows, strict=True):
        for column in columns:
            value = want.get(column, "")
            expected = "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value
            assert got[column] == expected


@pytest.mark.parametrize(
    ("fmt", "accept", "csv_wanted"),
    [
        ("csv", None, True),
        ("CSV", "application/json", True),
        ("json", "text/csv", False),
        (None, "text/csv", True),
        (None, "text/csv;q=0.9, application/json", True),
        (None, "application/json, text/csv", False),
        (None, "*/*", False),
        (None, None, False),
    ],
)
def test_format_or_accept_chooses_csv(fmt: str | None, accept: str | None, csv_wanted: bool) -> None:
    assert wants_csv(fmt, accept) is csv_wanted


@given(st.text(max_size=10).filter(lambda s: s.lower() not in {"csv", "json"}))
def test_any_other_format_is_refused(fmt: str) -> None:
    with pytest.raises(InvalidInputError):
        wants_csv(fmt, None)
