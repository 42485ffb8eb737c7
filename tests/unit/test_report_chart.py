"""The digest chart: a valid, deterministic PNG of the right size that shows the data."""

from __future__ import annotations

import struct
import zlib

from carehooks.reports.chart import BAR, LINE, Canvas, Day, daily_chart, duration_label


def decode(png: bytes) -> tuple[int, int, bytes]:
    """Our own PNGs: 8-bit RGB, one IDAT, filter 0 on every row."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, kind = struct.unpack(">IIBB", png[16:26])
    assert (depth, kind) == (8, 2)
    at = png.index(b"IDAT")
    (length,) = struct.unpack(">I", png[at - 4 : at])
    assert (
        zlib.crc32(png[at : at + 4 + length])
        == struct.unpack(">I", png[at + 4 + length : at + 8 + length])[0]
    )
    raw = zlib.decompress(png[at + 4 : at + 4 + length])
    rows = [raw[y * (1 + width * 3) + 1 : (y + 1) * (1 + width * 3)] for y in range(height)]
    return width, height, b"".join(rows)


def colours(pixels: bytes) -> set[tuple[int, int, int]]:
    return {(pixels[i], pixels[i + 1], pixels[i + 2]) for i in range(0, len(pixels), 3)}


def test_the_chart_is_a_png_with_bars_and_a_line() -> None:
    days = [Day(f"03-0{i + 2}", n, s) for i, (n, s) in enumerate([(3, 600.0), (8, 3600.0), (0, None)])]
    width, height, pixels = decode(daily_chart(days))
    assert (width, height) == (640, 260)
    assert {BAR, LINE} <= colours(pixels)


def test_no_first_responses_draws_no_line() -> None:
    _, _, pixels = decode(daily_chart([Day("03-02", 4, None)]))
    assert BAR in colours(pixels)
    # The right axis labels are orange text; the line's 3 px pen and 9 px markers are not drawn.
    assert sum(1 for c in range(0, len(pixels), 3) if pixels[c : c + 3] == bytes(LINE)) < 400


def test_the_chart_is_deterministic_and_handles_an_empty_week() -> None:
    assert daily_chart([]) == daily_chart([])
    decode(daily_chart([]))


def test_a_canvas_clips_what_falls_outside() -> None:
    canvas = Canvas(4, 4)
    canvas.rect(-10, -10, 100, 100, (1, 2, 3))
    canvas.line(-5, -5, 10, 10, (4, 5, 6))
    assert decode(canvas.png())[:2] == (4, 4)


def test_durations_are_compact() -> None:
    assert [duration_label(s) for s in (5, 125, 5400, 200000)] == ["5s", "2m", "1.5h", "2.3d"]
