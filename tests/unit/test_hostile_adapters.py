"""Hostile input at every adapter: a well-formed queued envelope with garbage inside.

Each sample under events/ is split by its real webhook ingress into queued events; then one branch or
leaf of a queued payload is replaced by a value of another type, or removed. The adapter of the event's
channel (``registry.parser_for``) must either return canonical events or raise one of the documented
parse errors, which ``inbound.parking.parse_queued`` turns into :class:`MalformedEventError` (parked).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carehooks.channels.meta import ingress as meta_ingress
from carehooks.channels.registry import parser_for
from carehooks.channels.telegram import ingress as telegram_ingress
from carehooks.channels.twilio import ingress as twilio_ingress
from carehooks.channels.x import ingress as x_ingress
from carehooks.domain.models import (
    Channel,
    CommentChangeEvent,
    IgnoredEvent,
    MalformedEventError,
    MessageEvent,
    QueuedEvent,
    StatusEvent,
)
from carehooks.inbound.parking import PARSE_ERRORS, parse_queued
from tests.hostile_support import UNICODE_EDGES, WEBHOOKS, WRONG_VALUES, count, fuzz, paths, removed, replaced

NOW = datetime(2025, 11, 22, 9, 0, tzinfo=UTC)
CANONICAL = (MessageEvent, StatusEvent, IgnoredEvent, CommentChangeEvent)


def _queued_samples() -> list[QueuedEvent]:
    events: list[QueuedEvent] = []
    for webhook in WEBHOOKS.values():
        for raw in webhook.sample_bytes():
            if webhook.name == "meta":
                events += meta_ingress.split(raw, NOW)
            elif webhook.name == "x":
                events += x_ingress.split(raw, NOW)
            elif webhook.name == "telegram":
                events += telegram_ingress.split(raw, "123456789", NOW)
            else:
                events += twilio_ingress.split(raw, NOW)
    return events


SAMPLES = _queued_samples()


def test_every_channel_has_samples_to_mutate() -> None:
    assert {e.channel for e in SAMPLES} == set(Channel)


def mutate(event: QueuedEvent, path: tuple[Any, ...], value: Any) -> QueuedEvent:
    payload = removed(event.payload, path) if value == "<removed>" else replaced(event.payload, path, value)
    return event.model_copy(update={"payload": payload})


@fuzz(1200)
@given(data=st.data())
def test_an_adapter_fed_garbage_inside_a_valid_envelope_parses_or_raises_a_documented_error(
    data: st.DataObject,
) -> None:
    # Given a real queued event with one part of its payload replaced or removed
    event = data.draw(st.sampled_from(SAMPLES))
    path = data.draw(st.sampled_from(list(paths(event.payload))))
    value = data.draw(st.sampled_from([*WRONG_VALUES, *UNICODE_EDGES, "<removed>"]))
    hostile = mutate(event, path, value)
    count(f"adapter:{event.channel}")
    # When its channel's adapter parses it
    try:
        parsed = parser_for(hostile.channel)(hostile)
    except PARSE_ERRORS:
        # Then a parse error is one of the documented kinds, and parking's reading of it is malformed
        with pytest.raises(MalformedEventError) as raised:
            parse_queued(hostile)
        assert raised.value.code == "malformed_payload"
        assert _no_payload_text_in(str(raised.value), hostile)
        return
    # Or the events are canonical ones
    assert all(isinstance(e, CANONICAL) for e in parsed)
    assert parse_queued(hostile) == parsed


def _no_payload_text_in(reason: str, event: QueuedEvent) -> bool:
    """The parking reason quotes no string of the payload longer than a word (no customer text)."""
    texts = [v for v in _strings(event.payload) if len(v) > 12 and " " in v]
    return not any(t in reason for t in texts)


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not json",
        "[]",
        "{}",
        '{"v":1,"source":"meta","channel":"fax","account_id":"a","contact_id":"c","event_id":"e",'
        '"received_at":"2025-11-22T09:00:00Z","payload":{}}',
        '{"v":1,"source":"mars","channel":"sms","account_id":"a","contact_id":"c","event_id":"e",'
        '"received_at":"2025-11-22T09:00:00Z","payload":{}}',
        '{"v":1,"source":"meta","channel":"messenger","account_id":"a","contact_id":"c","event_id":"e",'
        '"received_at":"yesterday","payload":{}}',
    ],
    ids=["empty", "not-json", "list", "empty-object", "unknown-channel", "unknown-source", "bad-time"],
)
def test_a_record_that_is_not_a_queued_event_is_malformed(body: str) -> None:
    from carehooks.inbound.parking import read_queued

    count("processor:read")
    with pytest.raises(MalformedEventError) as raised:
        read_queued(body)
    assert raised.value.code == "malformed_record"
    assert "fax" not in str(raised.value)  # the reason names fields and error kinds, not values
