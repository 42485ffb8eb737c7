"""Reports as CSV (RFC 4180): a header row, then one row per item; safe to open in a spreadsheet.

Nested figures are flattened into columns named by their path (``first_response_calendar_median_seconds``),
lists are joined with ``;``, absent values are empty cells. A text cell that a spreadsheet would read as a
formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with ``'``
(OWASP's advice against CSV injection); numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

CONTENT_TYPE = "text/csv; charset=utf-8"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str | int | float:
    """One cell: numbers as they are, None empty, booleans as true/false, text defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, list | tuple):
        value = ";".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a_b": 1}`` (lists stay values)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "_"))
        else:
            out[name] = value
    return out


def to_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """The CSV text of ``rows`` (flattened); the columns are ``columns``, else the first row's in order,
    then any later row's new ones."""
    flat = [flatten(r) for r in rows]
    header = list(columns or [])
    if not header:
        for row in flat:
            header += [k for k in row if k not in header]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([safe_cell(h) for h in header])
    for row in flat:
        writer.writerow([safe_cell(row.get(column)) for column in header])
    return buffer.getvalue()


def figure_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A nested report (the summary) as ``figure,value`` rows: one row per figure, named by its path; a
    list's entries are named by their ``date`` or ``tag`` (else their position)."""
    rows: list[dict[str, Any]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(inner, f"{path}_{key}" if path else str(key))
        elif isinstance(value, list) and any(isinstance(v, Mapping) for v in value):
            for i, entry in enumerate(value):
                name = entry.get("date") or entry.get("tag") or i if isinstance(entry, Mapping) else i
                rest = (
                    {k: v for k, v in entry.items() if k not in {"date", "tag"}}
                    if isinstance(entry, Mapping)
                    else entry
                )
                walk(rest, f"{path}_{name}")
        else:
            rows.append({"figure": path, "value": value})

    walk(report, "")
    return rows
