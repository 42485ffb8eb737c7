"""SQS event sources, locally: pollers that invoke functions with real SQS batches, and the DLQ watch.

Like Lambda's event source mapping: long-poll the queue for up to ``BatchSize`` messages (at most 10
per receive), invoke the function with an ``aws:sqs`` event, then delete what succeeded. With
``ReportBatchItemFailures`` only the records not named in ``batchItemFailures`` are deleted (a
malformed response fails the whole batch, as in Lambda); a function error leaves the whole batch. What
is not deleted becomes visible again after the queue's visibility timeout (``LOCAL_VISIBILITY_TIMEOUT``
shortens it) and, after ``maxReceiveCount`` receives, moto's redrive moves it to the dead-letter queue,
which works for FIFO queues too. The watcher prints each arrival with the last failure seen for it.
"""

from __future__ import annotations

import base64
import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from infra.local.model import QueueSource
from infra.local.resolver import ACCOUNT_ID
from infra.local.runtime import Runtime

MAX_REASONS = 10_000


class FailureLog:
    """The last failure reason per message id (bounded), for the DLQ listing."""

    def __init__(self) -> None:
        self._reasons: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def note(self, message_id: str, reason: str) -> None:
        with self._lock:
            self._reasons[message_id] = reason
            self._reasons.move_to_end(message_id)
            while len(self._reasons) > MAX_REASONS:
                self._reasons.popitem(last=False)

    def get(self, message_id: str) -> str:
        with self._lock:
            return self._reasons.get(message_id, "")


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of a Lambda SQS event, from a ``ReceiveMessage`` message."""
    attributes = {k: str(v) for k, v in (message.get("Attributes") or {}).items()}
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": attributes,
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": base64.b64encode(value["BinaryValue"]).decode()
                if value.get("BinaryValue")
                else None,
                "stringListValues": value.get("StringListValues", []),
                "binaryListValues": [base64.b64encode(b).decode() for b in value.get("BinaryListValues", [])],
                "dataType": value.get("DataType", "String"),
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_ids(result: Any, batch_ids: set[str]) -> set[str] | None:
    """Ids the function reported as failed; ``None`` when the response fails the whole batch."""
    if not isinstance(result, dict):
        return set()  # None, "" or any non-object result: the whole batch succeeded
    failures = result.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    ids: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in batch_ids:
            return None
        ids.add(str(identifier))
    return ids


class QueueConsumer:
    """Polls one queue for one function (one receive at a time; batches run in parallel)."""

    def __init__(
        self,
        source: QueueSource,
        queue_url: str,
        queue_arn: str,
        runtime: Runtime,
        sqs: Any,
        region: str,
        failures: FailureLog,
        say: Callable[[str], None],
    ) -> None:
        self.source = source
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.runtime = runtime
        self.sqs = sqs
        self.region = region
        self.failures = failures
        self.say = say
        size = runtime.pools[source.function].size
        self._slots = threading.Semaphore(size)
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"sqs-{source.function}")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"poll-{source.queue}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=0.5):
                continue
            try:
                messages = self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=max(1, min(self.source.batch_size, 10)),
                    WaitTimeSeconds=1,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception as exc:  # the embedded SQS is stopping or hiccuped: retry shortly
                self._slots.release()
                if not self._stop.is_set():
                    self.say(f"warning: polling {self.source.queue} failed: {exc}")
                    self._stop.wait(1.0)
                continue
            if not messages:
                self._slots.release()
                continue
            try:
                self._executor.submit(self._process, messages)
            except RuntimeError:  # executor shut down while stopping
                self._slots.release()

    def _process(self, messages: list[dict[str, Any]]) -> None:
        try:
            records = [sqs_record(m, self.queue_arn, self.region) for m in messages]
            outcome = self.runtime.invoke(
                self.source.function, {"Records": records}, source=f"SQS {self.source.queue} x{len(records)}"
            )
            ids = {r["messageId"] for r in records}
            if not outcome.ok:
                failed = ids
                reason = f"function error: {outcome.error_text}"
            elif self.source.report_failures:
                reported = failed_ids(outcome.result, ids)
                if reported is None:
                    failed, reason = ids, "invalid batchItemFailures in the response: whole batch retried"
                    self.say(f"warning: {self.source.function}: {reason}")
                else:
                    failed, reason = reported, "reported in batchItemFailures (see the function's log)"
            else:
                failed, reason = set(), ""
            for record in records:
                if record["messageId"] in failed:
                    self.failures.note(record["messageId"], reason)
            done = [r for r in records if r["messageId"] not in failed]
            for start in range(0, len(done), 10):
                chunk = done[start : start + 10]
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)
                    ],
                )
        except Exception as exc:
            self.say(f"warning: processing a batch from {self.source.queue} failed: {exc}")
        finally:
            self._slots.release()


def parked_reason(message: Any) -> str:
    """``ErrorCode: ErrorMessage`` of a record the processor parked itself (empty for a redriven one)."""
    attributes = getattr(message, "message_attributes", None) or {}
    code = (attributes.get("ErrorCode") or {}).get("StringValue") or ""
    text = (attributes.get("ErrorMessage") or {}).get("StringValue") or ""
    return f"parked: {code}: {text}" if code else ""


class DeadLetterWatch:
    """Prints every message that reaches a dead-letter queue and lists what the DLQs hold."""

    def __init__(
        self,
        queues: dict[str, tuple[str, str]],
        region: str,
        failures: FailureLog,
        say: Callable[[str], None],
    ) -> None:
        # DLQ logical id -> (DLQ name, source logical id)
        self.queues = queues
        self.region = region
        self.failures = failures
        self.say = say
        self._seen: set[str] = set()
        self._stop = threading.Event()

    def _messages(self, name: str) -> list[Any]:
        from moto.sqs.models import sqs_backends

        backend = sqs_backends[ACCOUNT_ID][self.region]
        queue = backend.queues.get(name)
        return list(queue._messages) if queue is not None else []

    def items(self) -> list[dict[str, Any]]:
        """What every dead-letter queue holds now, oldest first."""
        out: list[dict[str, Any]] = []
        for logical_id, (name, source) in self.queues.items():
            for message in self._messages(name):
                sent = getattr(message, "sent_timestamp", None)
                out.append(
                    {
                        "queue": logical_id,
                        "source_queue": source,
                        "message_id": message.id,
                        "group_id": message.group_id,
                        "deduplication_id": message.deduplication_id,
                        "receive_count": message.approximate_receive_count,
                        "sent_at": datetime.fromtimestamp(sent / 1000, UTC).isoformat() if sent else None,
                        "reason": parked_reason(message) or self.failures.get(message.id),
                        "body": message.body,
                    }
                )
        return out

    def check(self) -> None:
        for item in self.items():
            if item["message_id"] in self._seen:
                continue
            self._seen.add(item["message_id"])
            self.say(
                f"DLQ {item['queue']} <- message {item['message_id']} from {item['source_queue']} "
                f"(group {item['group_id']}, {item['receive_count']} receives): "
                f"{item['reason'] or 'no failure recorded'}"
            )

    def watch(self) -> None:
        while not self._stop.wait(0.5):
            with contextlib.suppress(Exception):
                self.check()

    def stop(self) -> None:
        self._stop.set()
