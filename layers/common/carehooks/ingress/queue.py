"""Enqueue canonical queued events on the inbound SQS FIFO queue."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Protocol

from carehooks.domain.models import QueuedEvent
from carehooks.ingress.errors import EnqueueError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SQS_BATCH = 10


class EventQueue(Protocol):
    def send(self, events: Sequence[QueuedEvent]) -> None: ...


def deduplication_id(event: QueuedEvent) -> str:
    """SQS allows 128 characters of a limited alphabet; platform ids are longer and freer, so hash them."""
    return hashlib.sha256(f"{event.channel}#{event.account_id}#{event.event_id}".encode()).hexdigest()


class SqsEventQueue:
    """The inbound FIFO queue: group = channel#account#contact, dedup id = hashed platform event id."""

    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> SQSClient:
        if self._client is None:
            self._client = sqs_client()
        return self._client

    def send(self, events: Sequence[QueuedEvent]) -> None:
        """Send all events or raise :class:`EnqueueError` (then the platform must retry)."""
        if not self.queue_url:
            raise EnqueueError("INBOUND_QUEUE_URL is not configured")
        for start in range(0, len(events), SQS_BATCH):
            chunk = {str(i): e for i, e in enumerate(events[start : start + SQS_BATCH])}
            pending = list(chunk)
            for _attempt in range(3):
                try:
                    response = self.client.send_message_batch(
                        QueueUrl=self.queue_url,
                        Entries=[
                            {
                                "Id": key,
                                "MessageBody": chunk[key].model_dump_json(),
                                "MessageGroupId": chunk[key].group_id[:128],
                                "MessageDeduplicationId": deduplication_id(chunk[key]),
                            }
                            for key in pending
                        ],
                    )
                except Exception as exc:  # botocore raises many kinds; any of them means "not enqueued"
                    raise EnqueueError(f"SQS send failed: {type(exc).__name__}") from exc
                failed = response.get("Failed", [])
                pending = [f["Id"] for f in failed if not f.get("SenderFault")]
                if any(f.get("SenderFault") for f in failed):
                    raise EnqueueError("SQS rejected an event as malformed")
                if not pending:
                    break
            else:
                raise EnqueueError(f"SQS did not accept {len(pending)} event(s)")


@cache
def sqs_client() -> SQSClient:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "sqs",
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=1, read_timeout=2),
    )
