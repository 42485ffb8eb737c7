"""Putting domain events on the bus: ten per call, refused entries retried, nothing dropped silently."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from carehooks.events import DetailType, DomainEvent, PublishError, publish
from carehooks.events.publishing import entry


def events(n: int) -> list[DomainEvent]:
    return [
        DomainEvent(
            DetailType.MESSAGE_RECEIVED,
            {"id": f"id-{i}", "occurred_at": "2026-12-05T09:00:00.000Z", "message_id": f"m{i}"},
        )
        for i in range(n)
    ]


class Bus:
    """A PutEvents stand-in: refuses the entries ``refuse`` names, as many times as it says."""

    def __init__(self, refuse: dict[str, int] | None = None, raise_times: int = 0) -> None:
        self.refuse = dict(refuse or {})
        self.raise_times = raise_times
        self.calls: list[list[dict[str, Any]]] = []
        self.accepted: list[str] = []

    def __call__(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(entries)
        assert len(entries) <= 10
        if self.raise_times:
            self.raise_times -= 1
            raise RuntimeError("ThrottlingException")
        answers: list[dict[str, Any]] = []
        for sent in entries:
            event_id = json.loads(sent["Detail"])["id"]
            if self.refuse.get(event_id, 0) > 0:
                self.refuse[event_id] -= 1
                answers.append({"ErrorCode": "InternalFailure", "ErrorMessage": "injected"})
            else:
                self.accepted.append(event_id)
                answers.append({"EventId": f"eb-{event_id}"})
        failed = sum(1 for a in answers if "ErrorCode" in a)
        return {"FailedEntryCount": failed, "Entries": answers}


def no_wait(_: float) -> None:
    return None


def test_events_go_ten_to_a_call_with_source_detail_type_and_bus() -> None:
    bus = Bus()
    assert publish(events(23), bus, "carehooks-events", sleep=no_wait) == 3
    assert [len(c) for c in bus.calls] == [10, 10, 3]
    first = bus.calls[0][0]
    assert first["Source"] == "carehooks"
    assert first["DetailType"] == "message.received"
    assert first["EventBusName"] == "carehooks-events"
    assert first["Time"] == datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    assert sorted(bus.accepted) == sorted(f"id-{i}" for i in range(23))


def test_refused_entries_are_sent_again_and_only_they() -> None:
    bus = Bus(refuse={"id-3": 2, "id-7": 1})
    publish(events(10), bus, "bus", sleep=no_wait)
    assert sorted(bus.accepted) == sorted(f"id-{i}" for i in range(10))
    assert [len(c) for c in bus.calls] == [10, 2, 1]


def test_a_throttled_call_is_made_again() -> None:
    bus = Bus(raise_times=2)
    publish(events(3), bus, "bus", sleep=no_wait)
    assert len(bus.accepted) == 3
    assert len(bus.calls) == 3


def test_entries_still_refused_after_every_attempt_raise_so_the_record_is_retried() -> None:
    bus = Bus(refuse={"id-1": 99})
    with pytest.raises(PublishError) as raised:
        publish(events(2), bus, "bus", attempts=3, sleep=no_wait)
    assert raised.value.failed == 1
    assert raised.value.reason == "InternalFailure"
    assert "id-1" not in bus.accepted


def test_an_answer_without_event_ids_counts_as_refused() -> None:
    def silent(entries: list[dict[str, Any]]) -> dict[str, Any]:
        return {"FailedEntryCount": 0, "Entries": []}

    with pytest.raises(PublishError):
        publish(events(1), silent, "bus", attempts=2, sleep=no_wait)


def test_the_detail_is_compact_json_of_the_event() -> None:
    (event,) = events(1)
    assert json.loads(entry(event, "bus")["Detail"]) == event.detail
