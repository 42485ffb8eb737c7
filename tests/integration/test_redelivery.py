"""Redelivery after SQS's deduplication window, and reordering, on DynamoDB Local.

SQS FIFO drops a message whose deduplication id it saw in the last five minutes; after that, a platform
redelivering the same event (Meta retries for up to 8 days... or replays it after an outage) gets a
new SQS message. The webhook gives it the same deduplication id (the hashed platform event id), so the
queue would accept it as new: only the store's marker (the message item keyed by the platform id) stands
between it and a second message and a second acknowledgement.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from carehooks import clock
from carehooks.domain.conversations import started_at
from carehooks.sla.clocks import state_of
from carehooks.store import Store
from carehooks.wiring.inbound import process
from tests.integration.agent_api_client import FakeDeliver, api_event, call, install
from tests.integration.race_support import (
    PAGE,
    CountingPlatform,
    Webhook,
    fresh_table,
    install_platform,
    items,
    messenger_body,
    stub_webhook,
)

pytestmark = pytest.mark.ddblocal

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, in the default calendar's hours
DEDUP_WINDOW = timedelta(minutes=5)
EIGHT_DAYS = timedelta(days=8)


@pytest.fixture
def store(ddblocal: str) -> Iterator[Store]:
    yield from fresh_table(ddblocal)


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> CountingPlatform:
    fake = CountingPlatform()
    install_platform(monkeypatch, fake)
    return fake


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Webhook:
    return stub_webhook(monkeypatch)


def snapshot(store: Store) -> list[str]:
    import json

    return sorted(json.dumps(i, sort_keys=True, default=repr) for i in items(store))


def process_at(store: Store, body: str, at: datetime) -> Any:
    with clock.frozen(at):
        return process(body, store)


# ------------------------------------------------------------------------------ after the dedup window
@pytest.mark.parametrize("later", [timedelta(minutes=6), EIGHT_DAYS], ids=["6 minutes later", "8 days later"])
def test_a_redelivery_after_the_sqs_window_stores_nothing_and_acknowledges_nothing_more(
    store: Store, platform: CountingPlatform, webhook: Webhook, later: timedelta
) -> None:
    raw = messenger_body("psid-late", "m_redelivered", T0, "where is my order?")
    # Given a message stored and acknowledged
    with clock.frozen(T0 + timedelta(seconds=1)):
        (first,) = webhook.bodies(raw)
    assert process_at(store, first, T0 + timedelta(seconds=2)).stored == 1
    assert len(platform.acks()) == 1
    before = snapshot(store)
    # When Meta posts the same signed body again once SQS's five-minute window is over
    assert later > DEDUP_WINDOW
    with clock.frozen(T0 + later):
        (again,) = webhook.bodies(raw)
    first_entry, again_entry = webhook.entries()
    # the queue sees the same deduplication id, which it no longer remembers: it is a new SQS message
    assert again_entry["MessageDeduplicationId"] == first_entry["MessageDeduplicationId"]
    result = process_at(store, again, T0 + later + timedelta(seconds=1))
    # Then the store's marker catches it: nothing new stored, no second acknowledgement
    assert (result.stored, result.duplicates) == (0, 1)
    assert snapshot(store) == before
    assert len(platform.acks()) == 1


def test_the_dedupe_marker_is_the_message_item_and_outlives_eight_days(
    store: Store, platform: CountingPlatform, webhook: Webhook
) -> None:
    # design.md: a platform id is remembered for at least 8 days. The message item keyed by the platform
    # id is the marker; it carries no ttl, so DynamoDB's TTL never removes it while the message is kept.
    (body,) = webhook.bodies(messenger_body("psid-ttl", "m_ttl", T0, "hi"))
    process_at(store, body, T0 + timedelta(seconds=1))
    (marker,) = [i for i in items(store) if i["sk"] == "MSG#m_ttl"]
    assert "ttl" not in marker
    # and nothing else is written whose expiry could let the id through sooner
    # (the spike alerts' volume counters, VOL#, expire too: they count messages, they do not dedupe them)
    expiring = [
        i for i in items(store) if "ttl" in i and not str(i["pk"]).startswith(("CLAIM#", "SENDLOG#", "VOL#"))
    ]
    assert expiring == []
    # the acknowledgement's claim, which stops a second acknowledgement, lasts longer than 8 days too
    (ack_claim,) = [i for i in items(store) if str(i["pk"]).startswith("CLAIM#ack#")]
    assert int(ack_claim["ttl"]) - int((T0 + timedelta(seconds=1)).timestamp()) >= EIGHT_DAYS.total_seconds()


# ------------------------------------------------------------------------------ reordering
def test_a_later_message_processed_first_keeps_platform_time_everywhere(
    store: Store, platform: CountingPlatform, webhook: Webhook
) -> None:
    contact = "psid-reorder"
    first_at, second_at = T0, T0 + timedelta(minutes=5)
    with clock.frozen(second_at + timedelta(seconds=30)):  # received when sent (Meta redelivers, reordered)
        (early,) = webhook.bodies(messenger_body(contact, "m_early", first_at, "my order is late"))
        (late,) = webhook.bodies(messenger_body(contact, "m_later", second_at, "order #1234"))
    # When the later message is processed first, and the earlier one a minute after
    assert process_at(store, late, second_at + timedelta(minutes=1)).stored == 1
    assert process_at(store, early, second_at + timedelta(minutes=2)).stored == 1
    # Then there is one conversation
    (conv,) = store.contact_conversations("messenger", PAGE, contact)
    # whose customer messages the agent API returns in platform-time order
    gen = install(store, FakeDeliver(), clock.now)
    next(gen)
    try:
        with clock.frozen(second_at + timedelta(minutes=3)):
            detail = call(api_event("GET", f"/api/conversations/{conv.id}"))
    finally:
        gen.close()
    inbound = [m for m in detail.body["messages"] if m["direction"] == "in"]
    assert [m["platform_message_id"] for m in inbound] == ["m_early", "m_later"]
    assert [m["sent_at"] for m in inbound] == [clock.iso(first_at), clock.iso(second_at)]
    # the customer started waiting at the earlier message's platform time (reports measure from it)
    assert started_at(conv) == first_at
    # and the first-response SLA clock runs from it, not from when it was processed
    state = state_of(conv)
    assert state.wait_since == first_at
    assert state.res_since == first_at


def test_a_late_old_message_after_resolution_starts_no_conversation_and_reopens_nothing(
    store: Store, platform: CountingPlatform, webhook: Webhook
) -> None:
    from dataclasses import replace

    contact = "psid-old"
    with clock.frozen(T0 + timedelta(minutes=1)):  # both received when sent; one is processed late
        (first,) = webhook.bodies(messenger_body(contact, "m_first", T0, "hello"))
        (old,) = webhook.bodies(messenger_body(contact, "m_old", T0 + timedelta(minutes=1), "are you there?"))
    process_at(store, first, T0 + timedelta(seconds=1))
    (conv,) = store.contact_conversations("messenger", PAGE, contact)
    with clock.frozen(T0 + timedelta(minutes=30)):
        store.save_conversation(replace(conv, status="resolved", resolved_at=T0 + timedelta(minutes=30)))
    # When the customer's message from before the resolution arrives late (two days later: outside the
    # reopen window, where a new message would start a new conversation)
    assert process_at(store, old, T0 + timedelta(days=2)).stored == 1
    # Then it joins the resolved conversation, which stays resolved, and no conversation is started
    (after,) = store.contact_conversations("messenger", PAGE, contact)
    assert after.id == conv.id
    assert after.status == "resolved"
    assert "m_old" in [m.platform_message_id for m in store.messages(after)]
    assert len(platform.acks()) == 1  # the first message's only
