"""A small PNG chart for the weekly digest: daily volume (bars) and median first response time (line).

Written with the standard library only (zlib + a 3x5 pixel font). matplotlib would add ~40 MB with
numpy to the Lambda layer and Pillow ~4 MB of native code per architecture, for one 640x260 picture of
bars, a line and a few numbers; this module is about 150 lines and deterministic (same data, same bytes).
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

Color = tuple[int, int, int]

WHITE: Color = (255, 255, 255)
INK: Color = (55, 65, 81)
GRID: Color = (229, 231, 235)
BAR: Color = (37, 99, 235)
LINE: Color = (234, 88, 12)

# 3x5 glyphs, rows top to bottom, "1" = ink.
FONT: dict[str, tuple[str, ...]] = {
    "0": ("111", "101", "101", "101", "111"),
    "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"),
    "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"),
    "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"),
    "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"),
    "9": ("111", "101", "111", "001", "111"),
    "-": ("000", "000", "111", "000", "000"),
    ".": ("000", "000", "000", "000", "010"),
    "/": ("001", "001", "010", "100", "100"),
    "h": ("100", "100", "111", "101", "101"),
    "m": ("000", "000", "111", "111", "101"),
    "s": ("000", "011", "010", "001", "110"),
    "d": ("001", "001", "111", "101", "111"),
    " ": ("000", "000", "000", "000", "000"),
}


class Canvas:
    """An RGB image in memory."""

    def __init__(self, width: int, height: int, background: Color = WHITE) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def set(self, x: int, y: int, color: Color) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            offset = (y * self.width + x) * 3
            self.pixels[offset : offset + 3] = bytes(color)

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        """Fill ``[x0, x1) x [y0, y1)``."""
        for y in range(max(y0, 0), min(y1, self.height)):
            for x in range(max(x0, 0), min(x1, self.width)):
                self.set(x, y, color)

    def line(self, x0: int, y0: int, x1: int, y1: int, color: Color, width: int = 2) -> None:
        """Bresenham, drawn with a square pen of ``width`` pixels."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        error = dx + dy
        while True:
            self.rect(
                x0 - width // 2, y0 - width // 2, x0 - width // 2 + width, y0 - width // 2 + width, color
            )
            if x0 == x1 and y0 == y1:
                return
            double = 2 * error
            if double >= dy:
                error += dy
                x0 += sx
            if double <= dx:
                error += dx
                y0 += sy

    def text(self, x: int, y: int, value: str, color: Color = INK, scale: int = 2) -> int:
        """Draw ``value`` with its top-left corner at (x, y); returns the x after it."""
        for char in value:
            glyph = FONT.get(char, FONT[" "])
            for row, bits in enumerate(glyph):
                for column, bit in enumerate(bits):
                    if bit == "1":
                        self.rect(
                            x + column * scale,
                            y + row * scale,
                            x + (column + 1) * scale,
                            y + (row + 1) * scale,
                            color,
                        )
            x += 4 * scale
        return x

    def png(self) -> bytes:
        """The image as PNG bytes (8-bit RGB, no filter, zlib level 9)."""

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        stride = self.width * 3
        raw = b"".join(
            b"\x00" + bytes(self.pixels[y * stride : (y + 1) * stride]) for y in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b"")
        )


def text_width(value: str, scale: int = 2) -> int:
    return len(value) * 4 * scale - scale


def duration_label(seconds: float) -> str:
    """Compact: ``45s``, ``12m``, ``3.5h``, ``2.1d``."""
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


@dataclass(frozen=True)
class Day:
    label: str  # e.g. "03-02"
    conversations: int
    first_response_seconds: float | None


def daily_chart(days: Sequence[Day], width: int = 640, height: int = 260) -> bytes:
    """Bars of conversations per day (left axis) and the median first response line (right axis)."""
    canvas = Canvas(width, height)
    left, right, top, bottom = 48, width - 56, 16, height - 32
    plot_h = bottom - top
    # A multiple of 4, so the four gridlines fall on whole conversations.
    most = -(-max([d.conversations for d in days] + [1]) // 4) * 4
    slowest = max([d.first_response_seconds or 0.0 for d in days] + [1.0])
    for i in range(5):
        y = bottom - plot_h * i // 4
        canvas.rect(left, y, right, y + 1, GRID)
        count = str(most * i // 4)
        canvas.text(left - 6 - text_width(count), y - 5, count, BAR)
        canvas.text(right + 6, y - 5, duration_label(slowest * i / 4), LINE)
    n = max(len(days), 1)
    slot = (right - left) / n
    points: list[tuple[int, int] | None] = []
    for i, day in enumerate(days):
        x0 = int(left + slot * i + slot * 0.2)
        x1 = int(left + slot * (i + 1) - slot * 0.2)
        bar_h = round(plot_h * day.conversations / most)
        canvas.rect(x0, bottom - bar_h, x1, bottom, BAR)
        center = int(left + slot * (i + 0.5))
        canvas.text(center - text_width(day.label) // 2, bottom + 10, day.label)
        seconds = day.first_response_seconds
        points.append(None if seconds is None else (center, bottom - round(plot_h * seconds / slowest)))
    # A day without any first response breaks the line rather than bridging it.
    for a, b in itertools.pairwise(points):
        if a is not None and b is not None:
            canvas.line(a[0], a[1], b[0], b[1], LINE, width=3)
    for point in points:
        if point is not None:
            canvas.rect(point[0] - 4, point[1] - 4, point[0] + 5, point[1] + 5, LINE)
    canvas.rect(left, bottom, right, bottom + 1, INK)
    return canvas.png()
