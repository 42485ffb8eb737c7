"""InboundProcessorFunction under moto with the archive bucket: every record archived before it is
processed, a failed archive write retried (never a message stored without its archived event), and an
erased person's redelivered webhook leaving neither an item nor an object."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest

from carehooks.archive.objects import S3Archive, object_key
from carehooks.archive.privacy import erase_person
from carehooks.store import keys
from carehooks.store.contacts import Identity
from carehooks.wiring.store import make_store
from tests.integration.conftest import TABLE, Aws
from tests.integration.test_processor import NOW, PAGE, process, record, stored_mids, text_event

BUCKET = "carehooks-archive-test"
KEY = "processor-test-erasure-key"


@pytest.fixture(autouse=True)
def _no_after_store_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    from carehooks.wiring import inbound as processor

    monkeypatch.setattr(processor, "steps", lambda *args, **kwargs: [])


@pytest.fixture
def bucket(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> S3Archive:
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    monkeypatch.delenv("CAREHOOKS_ARCHIVE_DIR", raising=False)
    monkeypatch.setenv("ERASURE_KEY", KEY)
    return S3Archive(BUCKET, client=s3)


def test_every_record_of_a_batch_is_archived_as_received(aws: Aws, bucket: S3Archive) -> None:
    events = [
        text_event("alice", "m_a1"),
        text_event("bob", "m_b1"),
        text_event("alice", "m_a2", 1763798401000),
    ]
    batch = [record(e, str(n)) for n, e in enumerate(events)]
    assert process(batch) == []
    assert stored_mids(aws) == ["m_a1", "m_a2", "m_b1"]
    keys = sorted(bucket.keys("events/messenger/"))
    assert keys == sorted(object_key(e) for e in events)
    for event, rec in zip(events, batch, strict=True):
        assert bucket.get(object_key(event)).decode() == rec["body"]
    assert all(f"/{PAGE}/" in k for k in keys)


def test_a_record_whose_archive_write_fails_is_retried_and_stores_nothing_meanwhile(
    aws: Aws, bucket: S3Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = S3Archive.put

    def failing_for_bob(self: S3Archive, key: str, body: bytes) -> None:
        if "/bob/" in key:
            raise RuntimeError("S3 unavailable")
        real(self, key, body)

    monkeypatch.setattr(S3Archive, "put", failing_for_bob)
    batch = [record(text_event("bob", "m_b1"), "1"), record(text_event("alice", "m_a1"), "2")]
    # Then bob's record fails alone and nothing of it is stored; alice's goes on
    assert process(batch) == ["1"]
    assert stored_mids(aws) == ["m_a1"]
    # And once S3 answers again, the retried record is archived and stored
    monkeypatch.setattr(S3Archive, "put", real)
    assert process([batch[0]]) == []
    assert stored_mids(aws) == ["m_a1", "m_b1"]
    assert object_key(text_event("bob", "m_b1")) in set(bucket.keys("events/"))


def test_a_redelivered_webhook_of_an_erased_person_leaves_no_item_and_no_object(
    aws: Aws, bucket: S3Archive
) -> None:
    old = text_event("alice", "m_a1")
    assert process([record(old, "1")]) == []
    erased = erase_person(
        make_store(TABLE), bucket, Identity("messenger", PAGE, "alice"), NOW + timedelta(days=1), KEY
    )
    assert erased is not None
    assert list(bucket.keys("events/")) == []
    # When the old webhook comes again
    assert process([record(old, "2")]) == []
    # Then neither its message nor its archived copy is kept; only the tombstone is in the table
    assert stored_mids(aws) == []
    assert list(bucket.keys("events/")) == []
    # (the spike alerts' volume counters hold counts of a channel account, no person: they stay)
    kept = [i["sk"]["S"] for i in aws.items() if not i["pk"]["S"].startswith(keys.VOLUME_PREFIX)]
    assert kept == ["ERASED"]


def test_no_later_message_of_a_customer_is_stored_before_one_that_waits_for_its_archiving(
    aws: Aws, bucket: S3Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = S3Archive.put

    def failing_for_m_a2(self: S3Archive, key: str, body: bytes) -> None:
        if b"m_a2" in body:
            raise RuntimeError("S3 unavailable")
        real(self, key, body)

    monkeypatch.setattr(S3Archive, "put", failing_for_m_a2)
    # Given alice's four messages in one batch, the second of which cannot be archived yet
    events = [text_event("alice", f"m_a{n}", 1763798400000 + n * 1000) for n in range(1, 5)]
    batch = [record(e, str(n)) for n, e in enumerate(events)]
    # Then the first is stored, and the later ones wait with the one that failed (no run jumps it)
    assert process(batch) == ["1", "2", "3"]
    assert stored_mids(aws) == ["m_a1"]
    # And once S3 answers, they are all stored
    monkeypatch.setattr(S3Archive, "put", real)
    assert process(batch[1:]) == []
    assert stored_mids(aws) == ["m_a1", "m_a2", "m_a3", "m_a4"]
