"""Records that can never succeed: which they are, and parking them in the DLQ with their reason.

A record is *malformed* when retrying cannot help: its body is not a :class:`QueuedEvent` (not JSON,
missing fields, an unknown channel), or its channel's adapter cannot parse the payload. Parsing is
pure, so the errors it raises on a broken payload (pydantic ``ValidationError``, ``KeyError``,
``TypeError``, ``ValueError``, ``AttributeError``, ``OverflowError``, an adapter's own
:class:`AdapterError`) mean the same
thing on every try; they all become :class:`MalformedEventError` here, in this one place.

Such a record is sent straight to the inbound DLQ, with its original group and deduplication ids and
two message attributes, ``ErrorCode`` and ``ErrorMessage`` (short; never customer text or a secret),
and then counts as handled, so it neither burns five receives nor holds up its customer's later
records. Anything else (the store, a platform send) is transient: the record fails and SQS retries it,
then redrives it after ``maxReceiveCount``. If the DLQ cannot take it, the record fails normally.
"""

from __future__ import annotations

import hashlib
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from carehooks.channels.registry import parser_for
from carehooks.domain.models import AdapterError, CanonicalEvent, MalformedEventError, QueuedEvent
from carehooks.observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# What a pure parse raises on a payload of the wrong shape (ValidationError is a ValueError;
# OverflowError is a timestamp no datetime can hold).
PARSE_ERRORS: tuple[type[Exception], ...] = (
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    LookupError,
    OverflowError,
)
MAX_MESSAGE_CHARS = 256


class NotAQueuedEventError(MalformedEventError):
    code = "malformed_record"


class UnparseablePayloadError(MalformedEventError):
    code = "malformed_payload"


def read_queued(body: str) -> QueuedEvent:
    """The record's :class:`QueuedEvent`, or :class:`NotAQueuedEventError`."""
    try:
        return QueuedEvent.model_validate_json(body)
    except ValidationError as exc:
        raise NotAQueuedEventError(f"not a queued event: {_validation_summary(exc)}") from exc


def parse_queued(queued: QueuedEvent) -> list[CanonicalEvent]:
    """The channel adapter's canonical events, or :class:`MalformedEventError` (never another parse error)."""
    try:
        parse = parser_for(queued.channel)
    except LookupError as exc:
        raise NotAQueuedEventError(f"no adapter for channel {queued.channel}") from exc
    try:
        return parse(queued)
    except PARSE_ERRORS as exc:  # an AdapterError too: its message may quote the payload
        raise UnparseablePayloadError(
            f"{queued.channel} adapter cannot parse the payload: {describe(exc)}"
        ) from exc


def describe(exc: BaseException) -> str:
    """A short, leak-free reason: the error's type, where it was raised, never the values it saw."""
    where = traceback.extract_tb(exc.__traceback__)[-1].name if exc.__traceback__ else "?"
    if isinstance(exc, ValidationError):
        detail = _validation_summary(exc)
    elif isinstance(exc, KeyError):
        detail = f"missing key {str(exc.args[0])[:40]!r}" if exc.args else "missing key"
    elif isinstance(exc, AdapterError):
        # Adapter messages name the problem first, then (after ": ") may quote the value.
        detail = str(exc).split(": ", 1)[0]
    else:
        detail = ""
    return f"{type(exc).__name__} in {where}" + (f" ({detail})" if detail else "")


def _validation_summary(exc: ValidationError) -> str:
    # loc and type only: pydantic's own message may quote the input.
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc'])[:60] or 'body'}: {error['type']}"
        for error in exc.errors(include_url=False, include_input=False)[:3]
    )


@dataclass(frozen=True)
class Record:
    """What parking needs of an SQS record."""

    message_id: str
    body: str
    group_id: str | None
    deduplication_id: str | None


class DeadLetterQueue:
    """The inbound DLQ (``INBOUND_DLQ_URL``); the SQS client (``client()``) is asked for on first use."""

    def __init__(self, queue_url: str, client: Callable[[], SQSClient]) -> None:
        self.queue_url = queue_url
        self._client_factory = client
        self._client: SQSClient | None = None

    def park(self, record: Record, error: MalformedEventError) -> None:
        """Send the record as it came, with ``ErrorCode`` / ``ErrorMessage``. Raises when SQS refuses."""
        if not self.queue_url:
            raise RuntimeError("INBOUND_DLQ_URL is not configured")
        if self._client is None:
            self._client = self._client_factory()
        dedup = record.deduplication_id or hashlib.sha256(record.body.encode("utf-8", "replace")).hexdigest()
        send: dict[str, Any] = {
            "QueueUrl": self.queue_url,
            "MessageBody": record.body,
            "MessageGroupId": record.group_id or "parked",
            "MessageDeduplicationId": dedup,
            "MessageAttributes": {
                "ErrorCode": {"DataType": "String", "StringValue": error.code},
                "ErrorMessage": {"DataType": "String", "StringValue": _short(str(error))},
            },
        }
        self._client.send_message(**send)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def process_or_park(record: Record, process: Callable[[str], object], dlq: DeadLetterQueue) -> None:
    """Run ``process`` on the record's body; park it if it is malformed. Raises to fail the record."""
    try:
        process(record.body)
    except MalformedEventError as error:
        try:
            dlq.park(record, error)
        except Exception as park_failure:
            logger.error(
                "malformed record could not be parked; it fails and is retried",
                extra={
                    "message_id": record.message_id,
                    "code": error.code,
                    "reason": _short(str(error)),
                    "park_error": type(park_failure).__name__,
                },
            )
            raise error from park_failure
        metrics.add_metric(name="RecordsParked", unit="Count", value=1)
        logger.error(
            "malformed record parked in the DLQ",
            extra={"message_id": record.message_id, "code": error.code, "reason": _short(str(error))},
        )
