"""Report requests: periods, filters and their refusals; the quantile definition."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carehooks.reports.query import ReportQueryError, parse_summary_query
from carehooks.reports.summary import quantile

NOW = datetime(2026, 3, 9, 12, 30, tzinfo=UTC)


def test_dates_cover_whole_days_with_to_included() -> None:
    period, filters = parse_summary_query({"from": "2026-03-02", "to": "2026-03-08"}, NOW)
    assert period.start == datetime(2026, 3, 2, tzinfo=UTC)
    assert period.end == datetime(2026, 3, 9, tzinfo=UTC)
    assert period.previous().start == datetime(2026, 2, 23, tzinfo=UTC)
    assert filters.channel is None


def test_instants_are_taken_as_given_with_to_excluded() -> None:
    period, _ = parse_summary_query({"from": "2026-03-02T08:00:00Z", "to": "2026-03-02T10:00:00+01:00"}, NOW)
    assert period.start == datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert period.end == datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_the_default_is_the_last_seven_days() -> None:
    period, _ = parse_summary_query({}, NOW)
    assert (period.start, period.end) == (NOW - timedelta(days=7), NOW)


def test_filters_are_read() -> None:
    _, filters = parse_summary_query({"channel": "whatsapp", "tag": "vip", "agent": "ann"}, NOW)
    assert filters.as_dict() == {"channel": "whatsapp", "tag": "vip", "agent": "ann", "visibility": None}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "yesterday"}, "from must be a date"),
        ({"from": "2026-03-02T08:00:00"}, "from needs a time zone"),
        ({"from": "2026-03-09", "to": "2026-03-01"}, "from must be before to"),
        ({"from": "2025-01-01", "to": "2026-03-01"}, "at most 93 days"),
        ({"channel": "fax"}, "unknown channel"),
        ({"form": "2026-03-01"}, "unknown parameter(s): form"),
    ],
)
def test_bad_requests_say_what_is_wrong(params: dict[str, str], message: str) -> None:
    with pytest.raises(ReportQueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_summary_query(params, NOW)


@given(st.lists(st.floats(min_value=0, max_value=1e7, allow_nan=False), min_size=2, max_size=200))
def test_quantiles_match_the_standard_library(values: list[float]) -> None:
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    assert quantile(values, 0.5) == pytest.approx(statistics.median(values), rel=1e-9, abs=1e-6)
    assert quantile(values, 0.9) == pytest.approx(deciles[8], rel=1e-9, abs=1e-6)


def test_quantile_of_nothing_and_of_one_value() -> None:
    assert quantile([], 0.5) is None
    assert quantile([42.0], 0.9) == 42.0
