"""The local stack's shared clock (what ``/_local/clock`` moves and every function reads)."""

from __future__ import annotations

import contextlib
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path


class Clock:
    """The shared clock: real time plus an offset kept in ``CAREHOOKS_CLOCK_FILE``.

    The stack holds the offset and writes it with :func:`carehooks.clock.write_offset`; every
    function reads the same file through :func:`carehooks.clock.now`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.offset = timedelta(0)
        with contextlib.suppress(FileNotFoundError, ValueError, TypeError):
            data = json.loads(path.read_text(encoding="utf-8"))
            self.offset = timedelta(seconds=float(data.get("offset_seconds", 0)))

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    @staticmethod
    def iso(value: datetime) -> str:
        from carehooks.clock import iso

        return iso(value)

    def _write(self, offset: timedelta) -> None:
        from carehooks.clock import write_offset

        with self._lock:
            self.offset = offset
            write_offset(str(self.path), offset)

    def advance(self, by: timedelta) -> None:
        self._write(self.offset + by)

    def set(self, text: str) -> None:
        from carehooks.clock import parse_iso

        self._write(parse_iso(text) - datetime.now(UTC))

    def reset(self) -> None:
        self._write(timedelta(0))
