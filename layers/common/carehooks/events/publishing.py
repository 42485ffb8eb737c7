"""Put domain events on the bus: ten entries per PutEvents call, failed entries retried, never dropped.

PutEvents can accept some entries of a call and refuse others (``FailedEntryCount``, an ``ErrorCode`` per
refused entry), or fail as a whole (throttling). Refused entries are sent again, a few times with a short
back-off; if some still fail, :class:`PublishError` is raised, so the stream record fails and Lambda
retries it (bisecting the batch, then parking it in the on-failure queue). Entries that did go out are
sent again on that retry: consumers dedupe on ``detail.id`` (at least once).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from carehooks.clock import parse_iso
from carehooks.events.model import SOURCE, DomainEvent

ENTRIES_PER_CALL = 10  # PutEvents' limit
ATTEMPTS = 4
BACKOFF_SECONDS = 0.1

# PutEvents with its entries, answering its response (``FailedEntryCount``, ``Entries``).
PutEvents = Callable[[list[dict[str, Any]]], dict[str, Any]]


class PublishError(RuntimeError):
    """Some events could not be published after every attempt (the record is retried by Lambda)."""

    def __init__(self, failed: int, reason: str) -> None:
        super().__init__(f"{failed} event(s) not published: {reason}")
        self.failed = failed
        self.reason = reason


def entry(event: DomainEvent, bus_name: str) -> dict[str, Any]:
    """The PutEvents entry of one event (its ``Time`` is when the change happened)."""
    item: dict[str, Any] = {
        "Source": SOURCE,
        "DetailType": str(event.detail_type),
        "Detail": json.dumps(event.detail, separators=(",", ":"), sort_keys=True),
        "EventBusName": bus_name,
    }
    occurred = _time(event.occurred_at)
    if occurred is not None:
        item["Time"] = occurred
    return item


def publish(
    events: Sequence[DomainEvent],
    put_events: PutEvents,
    bus_name: str,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Publish ``events``; returns how many PutEvents calls it took. Raises :class:`PublishError`."""
    pending = [entry(e, bus_name) for e in events]
    calls = 0
    reason = ""
    for attempt in range(attempts):
        if attempt:
            sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
        failed: list[dict[str, Any]] = []
        for start in range(0, len(pending), ENTRIES_PER_CALL):
            chunk = pending[start : start + ENTRIES_PER_CALL]
            calls += 1
            try:
                response = put_events(chunk)
            except Exception as exc:  # throttled or unreachable: the whole chunk goes again
                failed.extend(chunk)
                reason = type(exc).__name__
                continue
            answers = response.get("Entries") or []
            if not response.get("FailedEntryCount") and len(answers) == len(chunk):
                continue
            for index, sent in enumerate(chunk):
                answer = answers[index] if index < len(answers) else {"ErrorCode": "NoAnswer"}
                if answer.get("ErrorCode") or not answer.get("EventId"):
                    failed.append(sent)
                    reason = str(answer.get("ErrorCode") or "NoEventId")
        if not failed:
            return calls
        pending = failed
    raise PublishError(len(pending), reason)


def _time(value: str) -> datetime | None:
    try:
        return parse_iso(value)
    except ValueError:
        return None
