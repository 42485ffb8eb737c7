"""Who an echo is attributed to decides whether it counts as a response."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from carehooks.domain.conversations import echo_author
from carehooks.domain.models import Channel, Direction, MessageEvent


def echo(tag: str | None) -> MessageEvent:
    return MessageEvent(
        channel=Channel.MESSENGER,
        account_id="p",
        contact_id="c",
        platform_message_id="m",
        sent_at=datetime(2026, 1, 1, tzinfo=UTC),
        direction=Direction.OUT,
        origin_tag=tag,
    )


@pytest.mark.parametrize(
    ("tag", "author"),
    [
        (None, "platform-inbox"),
        ("agent:conv:abc", "agent"),
        ("ack:conv", "carehooks"),
        ("survey:c", "carehooks"),
    ],
)
def test_echo_author(tag: str | None, author: str) -> None:
    assert echo_author(echo(tag)) == author
