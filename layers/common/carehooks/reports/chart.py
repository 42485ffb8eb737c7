"""The digest's pictures, drawn with matplotlib (Agg, no display): the daily chart (conversations as
bars, median first response as a line, each axis labelled with its unit) and the staffing heatmap
(customer messages by weekday and local hour).

matplotlib ships only to the functions that draw (the ``ChartsLayer`` of the template, on
``WeeklyDigestFunction``), so it is imported inside the drawing functions: importing this module costs
nothing, and no other function's cold start or package grows. The pictures are deterministic (same data,
same bytes): no timestamp or software name is written into the PNG.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BAR = "#2563eb"
LINE = "#ea580c"
INK = "#374151"
GRID = "#e5e7eb"
WIDTH_IN, HEIGHT_IN, DPI = 6.4, 2.8, 100  # 640 x 280 pixels
HEAT_WIDTH_IN, HEAT_HEIGHT_IN = 7.2, 2.9  # 720 x 290 pixels
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def duration_label(seconds: float) -> str:
    """Compact: ``45s``, ``12m``, ``3.5h``, ``2.1d``."""
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def duration_unit(longest_seconds: float) -> tuple[str, float]:
    """The unit an axis of durations up to ``longest_seconds`` reads best in: (name, seconds per unit)."""
    if longest_seconds < 120:
        return "seconds", 1.0
    if longest_seconds < 2 * 3600:
        return "minutes", 60.0
    if longest_seconds < 2 * 86400:
        return "hours", 3600.0
    return "days", 86400.0


@dataclass(frozen=True)
class Day:
    label: str  # e.g. "03-02"
    conversations: int
    first_response_seconds: float | None


def _figure(width: float, height: float) -> Figure:
    # Agg: no display, no GUI toolkit; the object API keeps no global pyplot state between calls.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _png(figure: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None}, facecolor="white")
    return out.getvalue()


def daily_chart(days: Sequence[Day]) -> bytes:
    """A PNG: conversations per day (bars, left axis) and median first response (line, right axis).

    An empty week still draws both axes, labelled, with a note; a day without a first response leaves a
    gap in the line.
    """
    from matplotlib.ticker import MaxNLocator

    figure = _figure(WIDTH_IN, HEIGHT_IN)
    ax = figure.add_subplot()
    labels = [d.label for d in days]
    positions = list(range(len(days)))
    ax.bar(positions, [d.conversations for d in days], color=BAR, width=0.6, label="conversations")
    ax.set_ylabel("conversations per day", color=BAR)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    ax.set_ylim(0, max([d.conversations for d in days] + [1]) * 1.15)
    ax.set_xticks(positions, labels)
    ax.set_xlabel("day (UTC)")
    ax.set_xlim(-0.6, max(len(days), 1) - 0.4)
    ax.grid(axis="y", color=GRID)
    ax.set_axisbelow(True)
    times = [d.first_response_seconds for d in days]
    measured = [t for t in times if t is not None]
    unit, per = duration_unit(max(measured, default=3600.0))  # nothing measured: an axis in minutes
    right = ax.twinx()
    right.plot(
        positions,
        [float("nan") if t is None else t / per for t in times],
        color=LINE,
        marker="o",
        linewidth=2,
        label="median first response",
    )
    right.set_ylabel(f"median first response ({unit})", color=LINE)
    right.set_ylim(0, max([t / per for t in measured] + [1.0]) * 1.15)
    right.yaxis.set_major_locator(MaxNLocator(integer=not measured, nbins=5))
    if not any(d.conversations for d in days):
        ax.text(0.5, 0.5, "no conversations this week", transform=ax.transAxes, ha="center", color=INK)
    ax.set_title("Conversations and median first response", color=INK, fontsize=10)
    return _png(figure)


def heatmap_chart(cells: Sequence[dict[str, Any]], timezone: str) -> bytes:
    """A PNG of customer messages by weekday (rows, Monday first) and local hour (columns), with a
    colour bar; every cell's count is written in it when the week has any."""
    from matplotlib.ticker import MaxNLocator

    grid = [[0] * 24 for _ in range(7)]
    for cell in cells:
        grid[int(cell["weekday"])][int(cell["hour"])] = int(cell["messages"])
    peak = max(max(row) for row in grid)
    figure = _figure(HEAT_WIDTH_IN, HEAT_HEIGHT_IN)
    ax = figure.add_subplot()
    image = ax.imshow(grid, cmap="Blues", aspect="auto", vmin=0, vmax=max(peak, 1))
    ax.set_yticks(range(7), WEEKDAYS)
    ax.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    ax.set_xlabel(f"hour of day ({timezone})")
    bar = figure.colorbar(image, ax=ax, pad=0.01)
    bar.set_label("customer messages")
    bar.locator = MaxNLocator(integer=True, nbins=5)
    bar.update_ticks()
    if peak:
        for weekday, row in enumerate(grid):
            for hour, count in enumerate(row):
                if count:
                    colour = "white" if count > peak / 2 else INK
                    ax.text(hour, weekday, str(count), ha="center", va="center", fontsize=6, color=colour)
    else:
        ax.text(11.5, 3, "no customer messages this week", ha="center", va="center", color=INK)
    ax.set_title("When customers write: messages by weekday and hour", color=INK, fontsize=10)
    return _png(figure)
