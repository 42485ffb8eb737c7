"""DynamoDB stream event sources, locally: a poller per ``DynamoDB`` event of the template.

Like Lambda's event source mapping for DynamoDB Streams: read every shard of the table's stream (DynamoDB
Local serves the Streams API), invoke the function with ``aws:dynamodb`` records in Lambda's shape, and
move on only past what succeeded. With ``ReportBatchItemFailures`` the batch is read again from the first
failed record (as Lambda checkpoints at the lowest failed sequence number); a function error reads the
whole batch again. After ``MaximumRetryAttempts`` retries of one batch it is named on the on-failure
queue (``DestinationConfig.OnFailure``), as Lambda does after bisecting the batch down to the failing
record, and the poller goes past that record only. Positions are kept
in ``.local/streams.json``, so a restart neither loses nor repeats what was handled; the stream itself
keeps records for 24 hours, like DynamoDB's.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.local.model import StreamSource
from infra.local.runtime import Runtime

IDLE_WAIT = 0.25
RETRY_WAIT = 0.5
# How long the stream's ARN and its shard list are reused (each check costs DynamoDB Local a request).
DESCRIBE_EVERY = 2.0


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A ``GetRecords`` record as Lambda hands it to the function (JSON: numbers for times, base64 bytes)."""
    stream = dict(record.get("dynamodb") or {})
    created = stream.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        stream["ApproximateCreationDateTime"] = created.astimezone(UTC).timestamp()
    for image in ("Keys", "NewImage", "OldImage"):
        if image in stream:
            stream[image] = _jsonable(stream[image])
    return {
        "eventID": record.get("eventID", ""),
        "eventName": record.get("eventName", ""),
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion") or region,
        "dynamodb": stream,
        "eventSourceARN": stream_arn,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def failed_from(result: Any, records: list[dict[str, Any]]) -> int | None:
    """Index of the first record to read again (None: the batch succeeded), from the function's answer.

    A malformed answer, or an identifier that names no record of the batch, fails the whole batch.
    """
    failures = (result or {}).get("batchItemFailures") if isinstance(result, dict) else None
    if not failures:
        return None
    sequences = [str((r.get("dynamodb") or {}).get("SequenceNumber", "")) for r in records]
    indexes: list[int] = []
    for failure in failures:
        identifier = str((failure or {}).get("itemIdentifier") or "")
        if identifier not in sequences:
            return 0
        indexes.append(sequences.index(identifier))
    return min(indexes)


class Checkpoints:
    """The last handled sequence number per (source, shard), kept in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._data: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            self._data = {}

    def get(self, source: str, shard: str) -> str | None:
        with self._lock:
            return self._data.get(source, {}).get(shard)

    def put(self, source: str, shard: str, sequence: str) -> None:
        with self._lock:
            self._data.setdefault(source, {})[shard] = sequence
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(self._data), encoding="utf-8")
            temporary.replace(self.path)


class StreamPoller:
    """Reads one table's stream for one function, shard by shard, in order."""

    def __init__(
        self,
        source: StreamSource,
        table_name: str,
        dynamodb: Any,
        streams: Any,
        runtime: Runtime,
        checkpoints: Checkpoints,
        region: str,
        say: Callable[[str], None],
        on_failure: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.source = source
        self.table_name = table_name
        self.dynamodb = dynamodb
        self.streams = streams
        self.runtime = runtime
        self.checkpoints = checkpoints
        self.region = region
        self.say = say
        self.on_failure = on_failure
        self.key = f"{source.function}.{source.event}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._iterators: dict[str, str | None] = {}
        self._retries: dict[str, int] = {}
        self._finished: set[str] = set()
        self._described: tuple[float, str | None, list[dict[str, Any]]] = (0.0, None, [])

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"stream-{self.key}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.poll_once()
            except Exception as exc:  # DynamoDB Local restarting, a stream not there yet: try again
                self.say(f"STREAM {self.key}: {type(exc).__name__}: {exc}")
                busy = False
                self._iterators.clear()
                self._described = (0.0, None, [])
            if not busy:
                self._stop.wait(IDLE_WAIT)

    # -- one pass over the shards ------------------------------------------------------------------
    def stream_arn(self) -> str | None:
        table = self.dynamodb.describe_table(TableName=self.table_name)["Table"]
        arn = table.get("LatestStreamArn")
        return str(arn) if arn else None

    def _description(self) -> tuple[str | None, list[dict[str, Any]]]:
        """The stream's ARN and shards, described again every :data:`DESCRIBE_EVERY` seconds."""
        at, arn, shards = self._described
        if arn is None or time.monotonic() - at >= DESCRIBE_EVERY:
            arn = self.stream_arn()
            shards = self._shards(arn) if arn else []
            self._described = (time.monotonic(), arn, shards)
        return arn, shards

    def poll_once(self) -> bool:
        """Read and hand over one batch per shard that has records; True when any shard had some."""
        arn, shards = self._description()
        if arn is None:
            return False
        busy = False
        for shard in shards:
            shard_id = str(shard["ShardId"])
            if shard_id in self._finished:
                continue
            parent = shard.get("ParentShardId")
            if parent and parent in {str(s["ShardId"]) for s in shards} and parent not in self._finished:
                continue  # a child shard waits for its parent: records stay in order
            busy = self._read_shard(arn, shard_id) or busy
        return busy

    def _shards(self, arn: str) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamArn": arn}
        while True:
            description = self.streams.describe_stream(**kwargs)["StreamDescription"]
            shards.extend(description.get("Shards", []))
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            kwargs["ExclusiveStartShardId"] = last

    def _iterator(self, arn: str, shard_id: str) -> str | None:
        if shard_id in self._iterators:
            return self._iterators[shard_id]
        after = self.checkpoints.get(self.key, shard_id)
        kwargs: dict[str, Any] = {"StreamArn": arn, "ShardId": shard_id}
        if after:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
        else:
            kwargs["ShardIteratorType"] = self.source.starting_position
        iterator = self.streams.get_shard_iterator(**kwargs).get("ShardIterator")
        self._iterators[shard_id] = iterator
        return iterator

    def _read_shard(self, arn: str, shard_id: str) -> bool:
        iterator = self._iterator(arn, shard_id)
        if iterator is None:
            self._finished.add(shard_id)
            return False
        got = self.streams.get_records(ShardIterator=iterator, Limit=min(self.source.batch_size, 1000))
        records = got.get("Records", [])
        following = got.get("NextShardIterator")
        if not records:
            if following is None:
                self._finished.add(shard_id)
            self._iterators[shard_id] = following
            return False
        event = {"Records": [lambda_record(r, arn, self.region) for r in records]}
        outcome = self.runtime.invoke(
            self.source.function, event, source=f"DynamoDB {self.table_name} stream x{len(records)}"
        )
        if outcome.ok and not self.source.report_failures:
            first_failed = None
        elif outcome.ok:
            first_failed = failed_from(outcome.result, event["Records"])
        else:
            first_failed = 0
        if first_failed is None:
            self._done(shard_id, records[-1], following)
            return True
        retries = self._retries.get(shard_id, 0) + 1
        if 0 <= self.source.max_retries < retries:
            # Bisecting narrows a failing batch down to the record that fails: only it is given up.
            poison = records[first_failed]
            self._give_up(arn, shard_id, [poison], outcome.error_text or "the record failed")
            self.checkpoints.put(self.key, shard_id, str(poison["dynamodb"]["SequenceNumber"]))
            self._retries.pop(shard_id, None)
            self._iterators.pop(shard_id, None)
            return True
        self._retries[shard_id] = retries
        if first_failed > 0:
            self.checkpoints.put(
                self.key, shard_id, str(records[first_failed - 1]["dynamodb"]["SequenceNumber"])
            )
        self._iterators.pop(shard_id, None)  # read again from the checkpoint
        self._stop.wait(RETRY_WAIT)
        return True

    def _done(self, shard_id: str, last: dict[str, Any], following: str | None) -> None:
        self.checkpoints.put(self.key, shard_id, str(last["dynamodb"]["SequenceNumber"]))
        self._retries.pop(shard_id, None)
        self._iterators[shard_id] = following
        if following is None:
            self._finished.add(shard_id)

    def _give_up(self, arn: str, shard_id: str, records: list[dict[str, Any]], reason: str) -> None:
        """Name the batch on the on-failure destination (Lambda's message shape) and go past it."""
        first, last = records[0]["dynamodb"]["SequenceNumber"], records[-1]["dynamodb"]["SequenceNumber"]
        self.say(
            f"STREAM {self.key}: gave up on {len(records)} record(s) of shard {shard_id} "
            f"({first}..{last}) after {self.source.max_retries} retries: {reason}"
        )
        if self.on_failure is None:
            return
        message = {
            "requestContext": {
                "condition": "RetryAttemptsExhausted",
                "functionArn": self.source.function,
                "approximateInvokeCount": self.source.max_retries + 1,
            },
            "responseContext": {"functionError": reason},
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first,
                "endSequenceNumber": last,
                "batchSize": len(records),
                "streamArn": arn,
            },
        }
        with contextlib.suppress(Exception):
            self.on_failure(message)


def stream_pollers(
    sources: list[StreamSource],
    tables: dict[str, str],
    queues: dict[str, str],
    dynamodb: Any,
    streams: Any,
    sqs: Any,
    runtime: Runtime,
    checkpoints: Checkpoints,
    region: str,
    say: Callable[[str], None],
) -> list[StreamPoller]:
    """One poller per enabled ``DynamoDB`` event source whose table the stack created."""
    pollers: list[StreamPoller] = []
    for source in sources:
        table = tables.get(source.table)
        if not source.enabled or table is None:
            continue
        queue_url = queues.get(source.on_failure or "")

        def on_failure(message: dict[str, Any], url: str | None = queue_url) -> None:
            if url:
                sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))

        pollers.append(
            StreamPoller(source, table, dynamodb, streams, runtime, checkpoints, region, say, on_failure)
        )
    return pollers
