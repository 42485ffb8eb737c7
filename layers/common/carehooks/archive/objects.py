"""Where archived events live, and how their keys are made.

An archived event is the :class:`~carehooks.domain.models.QueuedEvent` the webhook enqueued: the
event's slice of the verified request body (what the channel's adapter parses), with its channel,
account, contact, platform event id and receipt time. It is stored as the queued record's JSON, one
object per event, under

``events/<channel>/<yyyy-mm-dd>/<account>/<contact>/<received ms, 13 digits>-<sha256(event id), 24 hex>.json``

(the date is the receipt day in UTC; account and contact percent-encoded, so an id never adds a
``/``). Date before contact: a time range of one channel is one prefix listing per day (``archive
list``, ``replay``), and one person's objects are one listing per day of the retention
(:func:`person_prefixes`). The key is a function of the event alone, so a record retried by SQS
overwrites its own object: archiving is idempotent.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, unquote

from carehooks.clock import to_epoch_ms
from carehooks.domain.models import QueuedEvent

ROOT = "events/"
DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys


def _part(value: str) -> str:
    return quote(value, safe="")


def day_prefix(channel: str, day: date) -> str:
    return f"{ROOT}{_part(channel)}/{day.isoformat()}/"


def object_key(event: QueuedEvent) -> str:
    """The archive key of one queued event (see the module)."""
    received = event.received_at.astimezone(UTC)
    digest = hashlib.sha256(event.event_id.encode("utf-8", "replace")).hexdigest()[:24]
    return (
        f"{day_prefix(event.channel, received.date())}{_part(event.account_id)}/{_part(event.contact_id)}/"
        f"{to_epoch_ms(received):013d}-{digest}.json"
    )


@dataclass(frozen=True)
class KeyParts:
    channel: str
    day: date
    account_id: str
    contact_id: str
    received_ms: int


def parse_key(key: str) -> KeyParts | None:
    """The parts of an archive key; None for a key this module did not make."""
    parts = key.removeprefix(ROOT).split("/")
    if not key.startswith(ROOT) or len(parts) != 5:
        return None
    try:
        return KeyParts(
            channel=unquote(parts[0]),
            day=date.fromisoformat(parts[1]),
            account_id=unquote(parts[2]),
            contact_id=unquote(parts[3]),
            received_ms=int(parts[4].split("-", 1)[0]),
        )
    except ValueError:
        return None


def days(since: datetime, until: datetime) -> list[date]:
    """The UTC days from ``since`` to ``until``, both included."""
    first, last = since.astimezone(UTC).date(), until.astimezone(UTC).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def person_prefixes(
    channel: str, account_id: str, contact_id: str, since: datetime, until: datetime
) -> list[str]:
    """The prefixes holding one person's objects received between ``since`` and ``until``."""
    tail = f"{_part(account_id)}/{_part(contact_id)}/"
    return [f"{day_prefix(channel, day)}{tail}" for day in days(since, until)]


class Archive(Protocol):
    """An object store of archived events."""

    def put(self, key: str, body: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def keys(self, prefix: str) -> Iterator[str]: ...

    def delete(self, keys: Sequence[str]) -> None: ...


class S3Archive:
    """The archive bucket (SSE-KMS with a bucket key, lifecycle = retention: see template.yaml)."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:  # no S3 type stubs in the environment
        if self._client is None:
            self._client = s3_client()
        return self._client

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")

    def get(self, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                yield str(entry["Key"])

    def delete(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            chunk = keys[start : start + DELETE_BATCH]
            response = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
            )
            if response.get("Errors"):
                raise RuntimeError(f"{len(response['Errors'])} archive object(s) not deleted")


class LocalArchive:
    """The local stack's archive: the same keys as files under a directory (``.local/archive/``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("an archive key must stay inside the archive")
        return path

    def put(self, key: str, body: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(body)
        partial.replace(path)  # whole or absent, like an S3 PUT

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def keys(self, prefix: str) -> Iterator[str]:
        base = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*.json")):
            key = path.relative_to(self.root).as_posix()
            if key.startswith(prefix):
                yield key

    def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)


ARCHIVE_DIR = "CAREHOOKS_ARCHIVE_DIR"
ARCHIVE_BUCKET = "ARCHIVE_BUCKET"


def archive_from_env(env: dict[str, str] | None = None) -> Archive | None:
    """The deployment's archive: a directory (the local stack sets ``CAREHOOKS_ARCHIVE_DIR``), else the
    bucket ``ARCHIVE_BUCKET``; None when neither is configured (nothing is archived)."""
    values: Any = os.environ if env is None else env
    directory = values.get(ARCHIVE_DIR, "")
    if directory:
        return LocalArchive(Path(directory))
    bucket = values.get(ARCHIVE_BUCKET, "")
    return S3Archive(bucket) if bucket else None


@cache
def s3_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5),
    )
