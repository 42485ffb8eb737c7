"""The signature matrix under moto: no forgery on any channel reaches the queue or the table.

The control is the genuine request of each channel, which is queued and stored; every forgery of the
same body (tests/hostile_support.py) leaves the queue empty and the table without a message.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.channel_support import configure_channels
from tests.helpers import FakeContext, event_bytes, load_handler
from tests.hostile_support import CHANNELS, Request, SignedChannel, count, forgeries
from tests.integration.conftest import Aws


@pytest.fixture(autouse=True)
def _no_after_store_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    from carehooks.wiring import inbound as processor

    monkeypatch.setattr(processor, "steps", lambda *args, **kwargs: [])


def deliver(aws: Aws) -> None:
    """What the event source mapping would do with what the webhooks queued."""
    records = aws.drain()
    if records:
        load_handler("inbound_processor").handler({"Records": records}, FakeContext())


def post(channel: SignedChannel, request: Request) -> dict[str, Any]:
    response: dict[str, Any] = load_handler(channel.function).handler(request.event(channel), FakeContext())
    return response


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: c.name)
def test_no_forgery_is_queued_or_stored_while_the_genuine_request_is(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, channel: SignedChannel
) -> None:
    configure_channels(monkeypatch)
    # Given every forgery of the channel's real body, When each is posted and the queue delivered
    for case, request, status in forgeries(channel):
        count(f"signature:{channel.name}")
        with monkeypatch.context() as env:
            for name, value in request.env.items():
                env.setenv(name, value)
            assert post(channel, request)["statusCode"] == status, case
        deliver(aws)
        # Then nothing was stored
        assert aws.items("MSG#") == [], case
    # And the genuine request, for contrast, is queued and stored
    raw = event_bytes(channel.sample)
    genuine = Request(raw, {"content-type": channel.content_type, channel.header: channel.sign(raw)})
    assert post(channel, genuine)["statusCode"] == 200
    deliver(aws)
    assert aws.items("MSG#") != []
