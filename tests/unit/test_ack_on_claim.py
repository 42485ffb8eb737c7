"""A sent acknowledgement's outcome is kept on its claim only; readers settle the message from it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from carehooks.domain.models import Channel, Direction, Message
from carehooks.store.rules import ack_pending, settle_ack, settle_acks

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def message(mid: str = "m_1", conversation_id: str = "C1", ack: dict[str, Any] | None = None) -> Message:
    decision = {"matched": ["orders"], "ack": ack if ack is not None else {"status": "pending"}}
    return Message(
        platform_message_id=mid,
        conversation_id=conversation_id,
        channel=Channel.MESSENGER,
        account_id="page",
        contact_id="psid",
        direction=Direction.IN,
        text="hi",
        sent_at=AT,
        extra={"rules": decision},
    )


def sent_claim(owner: str = "m_1", **extra: str) -> dict[str, Any]:
    return {
        "state": "done",
        "owner": owner,
        "outcome": "sent",
        "platform_message_id": "m_ack",
        "rule": "orders",
        "template": "order",
        "language": "en",
        "in_hours": "false",
        **extra,
    }


def test_the_owners_pending_ack_is_settled_from_a_sent_claim() -> None:
    settled = settle_ack(message(), sent_claim())
    assert settled.extra["rules"]["ack"] == {
        "status": "sent",
        "rule": "orders",
        "template": "order",
        "language": "en",
        "in_hours": False,
        "platform_message_id": "m_ack",
    }
    assert settled.extra["rules"]["matched"] == ["orders"]
    assert not ack_pending(settled)


def test_another_messages_claim_or_an_unsent_one_leaves_the_message_pending() -> None:
    assert ack_pending(settle_ack(message(), sent_claim(owner="m_other")))
    assert ack_pending(settle_ack(message(), {**sent_claim(), "outcome": "unknown"}))
    assert ack_pending(settle_ack(message(), {"state": "sending", "owner": "m_1"}))
    assert ack_pending(settle_ack(message(), None))


def test_a_recorded_outcome_is_never_overwritten_by_the_claim() -> None:
    skipped = {"status": "skipped", "reason": "this conversation was already acknowledged"}
    assert settle_ack(message(ack=skipped), sent_claim()).extra["rules"]["ack"] == skipped


def test_claims_are_read_once_per_conversation_and_only_for_pending_acks() -> None:
    reads: list[str] = []

    def read(conversation_id: str) -> dict[str, Any] | None:
        reads.append(conversation_id)
        return sent_claim()

    done = {"status": "skipped", "reason": "no rule asked for an acknowledgement"}
    out = settle_acks([message("m_1"), message("m_2"), message("m_3", ack=done)], read)
    assert reads == ["C1"]
    assert [m.extra["rules"]["ack"]["status"] for m in out] == ["sent", "pending", "skipped"]
