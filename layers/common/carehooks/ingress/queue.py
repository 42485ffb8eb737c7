"""Enqueue canonical queued events on the inbound SQS FIFO queue."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from functools import cache
from typing import TYPE_CHECKING, Protocol

from carehooks.domain.models import QueuedEvent
from carehooks.web.errors import EnqueueError, PayloadTooLargeError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SQS_BATCH = 10
# SQS's limit for one message and for one SendMessageBatch request (sum of the bodies), in bytes.
SQS_MAX_BYTES = 262_144
# Characters SQS refuses in a body (it allows #x9 #xA #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000+).
# In a JSON document they can only be inside strings, where an escape means the same text.
_SQS_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_SQS_GROUP = re.compile("[!-~]{1,128}")


class EventQueue(Protocol):
    def send(self, events: Sequence[QueuedEvent]) -> None: ...


def message_body(event: QueuedEvent) -> str:
    """The event as the JSON body of an SQS message: only characters SQS accepts."""
    return _SQS_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", event.model_dump_json())


def _chunks(bodies: list[str]) -> Iterator[list[int]]:
    """Indexes of ``bodies`` in sends of at most 10 messages and :data:`SQS_MAX_BYTES`."""
    chunk: list[int] = []
    size = 0
    for index, body in enumerate(bodies):
        length = len(body.encode())
        if chunk and (len(chunk) == SQS_BATCH or size + length > SQS_MAX_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(index)
        size += length
    if chunk:
        yield chunk


def message_group_id(event: QueuedEvent) -> str:
    """The FIFO group: :attr:`QueuedEvent.group_id` when SQS accepts it as one, else a stable hash of it.

    SQS takes at most 128 characters, alphanumeric or ASCII punctuation; a contact id with a space or
    non-ASCII text (a hostile but signed Twilio ``From``) would otherwise make every retry fail.
    """
    group = event.group_id
    if _SQS_GROUP.fullmatch(group):
        return group
    return f"{event.channel}#sha256:{hashlib.sha256(group.encode('utf-8', 'replace')).hexdigest()}"


def deduplication_id(event: QueuedEvent) -> str:
    """SQS allows 128 characters of a limited alphabet; platform ids are longer and freer, so hash them."""
    key = f"{event.channel}#{event.account_id}#{event.event_id}"
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


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
        bodies = [message_body(e) for e in events]
        if any(len(b.encode()) > SQS_MAX_BYTES for b in bodies):
            # Retrying cannot make it fit: refuse it (413) instead of a 5xx the platform retries forever.
            raise PayloadTooLargeError("one event is larger than an SQS message")
        for indexes in _chunks(bodies):
            chunk = {str(i): (events[i], bodies[i]) for i in indexes}
            pending = list(chunk)
            for _attempt in range(3):
                try:
                    response = self.client.send_message_batch(
                        QueueUrl=self.queue_url,
                        Entries=[
                            {
                                "Id": key,
                                "MessageBody": chunk[key][1],
                                "MessageGroupId": message_group_id(chunk[key][0]),
                                "MessageDeduplicationId": deduplication_id(chunk[key][0]),
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
