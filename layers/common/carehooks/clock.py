"""The one clock every function asks for "now".

In AWS it is the system clock. Tests and the local stack move it: tests with :func:`frozen`, the local
stack by writing an offset to the file named by ``CAREHOOKS_CLOCK_FILE`` (re-read when it changes), so
every function in every process sees the same moved time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_override: datetime | None = None
_file_cache: tuple[float, timedelta] | None = None


def _file_offset() -> timedelta:
    global _file_cache
    path = os.environ.get("CAREHOOKS_CLOCK_FILE")
    if not path:
        return timedelta(0)
    try:
        mtime = os.stat(path).st_mtime
    except FileNotFoundError:
        return timedelta(0)
    if _file_cache is None or _file_cache[0] != mtime:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        _file_cache = (mtime, timedelta(seconds=float(data.get("offset_seconds", 0))))
    return _file_cache[1]


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    if _override is not None:
        return _override
    return datetime.now(UTC) + _file_offset()


def write_offset(path: str, offset: timedelta) -> None:
    """Persist a clock offset for every process that reads ``CAREHOOKS_CLOCK_FILE``."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump({"offset_seconds": offset.total_seconds()}, handle)
    os.replace(tmp, path)


@contextmanager
def frozen(at: datetime) -> Iterator[Callable[[datetime], None]]:
    """Freeze the clock at ``at`` inside the block; the yielded function moves it."""
    global _override
    previous = _override
    _override = at.astimezone(UTC)

    def move(to: datetime) -> None:
        global _override
        _override = to.astimezone(UTC)

    try:
        yield move
    finally:
        _override = previous


def iso(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, the one format stored and served."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    """Parse what :func:`iso` writes (and any ISO 8601 with an offset)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def from_epoch_ms(ms: int | float) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def to_epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)
