"""The send log: every outbound send that was skipped or failed, and why (sent messages are messages).

One partition per conversation (``SENDLOG#<conversation id>``), newest last, kept 90 days. It answers
"why did this customer get no acknowledgement / survey?" without searching logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ulid import ULID

from carehooks.clock import iso, parse_iso
from carehooks.store import keys
from carehooks.store.table import TableStore as Store

RETENTION = timedelta(days=90)


@dataclass(frozen=True)
class SendAttempt:
    """One send that did not go out (``skipped``) or that the platform refused (``failed``)."""

    conversation_id: str
    at: datetime
    kind: str
    author: str
    status: str
    reason: str
    error_class: str | None = None
    retryable: bool = False
    details: dict[str, str] = field(default_factory=dict)


def record_attempt(store: Store, attempt: SendAttempt) -> None:
    """Append one attempt to its conversation's send log."""
    store.client.put_item(TableName=store.table_name, Item=store.marshal(attempt_item(attempt)))


def attempt_item(attempt: SendAttempt) -> dict[str, Any]:
    """The send log item of one attempt (its own key: a new item every time)."""
    item: dict[str, Any] = {
        "pk": keys.send_log_pk(attempt.conversation_id),
        "sk": keys.send_log_sk(attempt.at, str(ULID.from_timestamp(attempt.at.timestamp()))),
        "type": "send_attempt",
        "conversation_id": attempt.conversation_id,
        "at": iso(attempt.at),
        "kind": attempt.kind,
        "author": attempt.author,
        "status": attempt.status,
        "reason": attempt.reason,
        "retryable": attempt.retryable,
        "details": dict(attempt.details),
        "ttl": int((attempt.at + RETENTION).timestamp()),
    }
    if attempt.error_class:
        item["error_class"] = attempt.error_class
    return item


def attempts(store: Store, conversation_id: str, limit: int = 50) -> list[SendAttempt]:
    """A conversation's logged attempts, oldest first (at most ``limit``, the newest ones)."""
    response = store.client.query(
        TableName=store.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.send_log_pk(conversation_id)}},
        ScanIndexForward=False,
        Limit=limit,
    )
    return [attempt_from_item(store.unmarshal(raw)) for raw in reversed(response.get("Items", []))]


def attempt_from_item(item: dict[str, Any]) -> SendAttempt:
    """The attempt a send log item records."""
    return SendAttempt(
        conversation_id=str(item["conversation_id"]),
        at=parse_iso(str(item["at"])),
        kind=str(item["kind"]),
        author=str(item["author"]),
        status=str(item["status"]),
        reason=str(item["reason"]),
        error_class=str(item["error_class"]) if item.get("error_class") else None,
        retryable=bool(item.get("retryable")),
        details={str(k): str(v) for k, v in (item.get("details") or {}).items()},
    )
