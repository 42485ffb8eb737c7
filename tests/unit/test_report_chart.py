"""The digest's pictures (matplotlib, Agg): valid deterministic PNGs that show the data, with units."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from carehooks.reports.chart import BAR, LINE, Day, daily_chart, duration_label, duration_unit, heatmap_chart


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return (int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16))


def pixels(png: bytes) -> tuple[tuple[int, int], np.ndarray]:  # type: ignore[type-arg]
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    rgb_image = image.convert("RGB")
    return rgb_image.size, np.asarray(rgb_image).reshape(-1, 3)


def count(png: bytes, colour: str) -> int:
    return int((pixels(png)[1] == np.array(rgb(colour))).all(axis=1).sum())


WEEK = [
    Day(f"03-0{i + 2}", n, s) for i, (n, s) in enumerate([(3, 600.0), (8, 3600.0), (0, None), (5, 900.0)])
]


def test_the_daily_chart_has_bars_and_a_line() -> None:
    png = daily_chart(WEEK)
    size, _ = pixels(png)
    assert size == (640, 280)
    assert count(png, BAR) > 2000  # four bars' worth of blue
    assert count(png, LINE) > 300  # the line and its markers


def test_no_first_responses_draws_no_line() -> None:
    with_line = count(daily_chart(WEEK), LINE)
    without = count(daily_chart([Day(d.label, d.conversations, None) for d in WEEK]), LINE)
    assert without < with_line / 2  # only the orange axis label is left


def test_empty_and_single_day_ranges_draw() -> None:
    for days in ([], [Day("03-02", 0, None)] * 7, [Day("03-02", 4, 90.0)]):
        size, _ = pixels(daily_chart(days))
        assert size == (640, 280)
    assert count(daily_chart([Day("03-02", 4, 90.0)]), BAR) > 500


def test_pictures_are_deterministic() -> None:
    assert daily_chart(WEEK) == daily_chart(WEEK)
    cells = [{"weekday": 0, "hour": 9, "messages": 5}]
    assert heatmap_chart(cells, "UTC") == heatmap_chart(cells, "UTC")


def test_the_heatmap_is_darker_where_customers_write_more() -> None:
    cells = [{"weekday": w, "hour": h, "messages": 0} for w in range(7) for h in range(24)]
    cells[9]["messages"] = 40  # Monday 09:00
    cells[24 + 9]["messages"] = 4  # Tuesday 09:00
    png = heatmap_chart(cells, "Europe/Paris")
    size, data = pixels(png)
    assert size == (720, 290)
    assert int(data.sum(axis=1).min()) < 200  # the busiest cell is dark blue
    empty = heatmap_chart([], "UTC")
    assert pixels(empty)[0] == (720, 290)


def test_axes_use_a_readable_unit() -> None:
    assert duration_unit(90) == ("seconds", 1.0)
    assert duration_unit(3000) == ("minutes", 60.0)
    assert duration_unit(5 * 3600) == ("hours", 3600.0)
    assert duration_unit(3 * 86400) == ("days", 86400.0)


def test_durations_are_compact() -> None:
    assert [duration_label(s) for s in (5, 125, 5400, 200000)] == ["5s", "2m", "1.5h", "2.3d"]
