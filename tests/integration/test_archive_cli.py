"""``carehooks archive list|replay`` against a local archive directory and the inbound FIFO queue under moto."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from infra.cli.archive import list_command, replay_command

from carehooks.archive.objects import LocalArchive
from carehooks.archive.records import REPLAY_FIELD, archive_body
from carehooks.ingress.queue import deduplication_id, message_group_id
from tests.integration.conftest import Aws
from tests.integration.test_processor import text_event

NOW = datetime(2025, 11, 22, 9, 0, tzinfo=UTC)


def args(**values: object) -> argparse.Namespace:
    defaults: dict[str, object] = {
        "since": "1d",
        "until": None,
        "channel": None,
        "local": False,
        "stack_name": None,
        "bucket": None,
        "queue_url": None,
        "dry_run": False,
        "json": True,
    }
    return argparse.Namespace(**{**defaults, **values})


@pytest.fixture
def archive(tmp_path: Path) -> LocalArchive:
    archive = LocalArchive(tmp_path / "archive")
    for customer, mid in (("alice", "m_a1"), ("bob", "m_b1"), ("alice", "m_a2")):
        archive_body(archive, text_event(customer, mid).model_dump_json())
    old = text_event("carol", "m_c1").model_copy(update={"received_at": NOW - timedelta(days=3)})
    archive_body(archive, old.model_dump_json())
    return archive


def test_list_shows_the_range_only(archive: LocalArchive, capsys: pytest.CaptureFixture[str]) -> None:
    assert list_command(args(), archive=archive, now=NOW + timedelta(hours=1)) == 0
    items = json.loads(capsys.readouterr().out)["items"]
    assert len(items) == 3
    assert {i["channel"] for i in items} == {"messenger"}
    assert not any("/carol/" in i["key"] for i in items)
    assert list_command(args(channel=["telegram"]), archive=archive, now=NOW + timedelta(hours=1)) == 0
    assert json.loads(capsys.readouterr().out)["items"] == []


def test_replay_sends_each_event_marked_in_its_group_with_its_dedup_id(
    aws: Aws, archive: LocalArchive
) -> None:
    code = replay_command(
        args(), archive=archive, sqs=aws.sqs, queue_url=aws.queue_url, now=NOW + timedelta(hours=1)
    )
    assert code == 0
    received = aws.sqs.receive_message(
        QueueUrl=aws.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
    )["Messages"]
    assert len(received) == 3
    for message in received:
        body = json.loads(message["Body"])
        assert body[REPLAY_FIELD] is True
        event = text_event(body["contact_id"], body["event_id"])
        assert message["Attributes"]["MessageGroupId"] == message_group_id(event)
        assert message["Attributes"]["MessageDeduplicationId"] == deduplication_id(event)
    # alice's two events, in order
    alice = [
        json.loads(m["Body"])["event_id"] for m in received if json.loads(m["Body"])["contact_id"] == "alice"
    ]
    assert alice == ["m_a1", "m_a2"]


def test_a_dry_run_sends_nothing(aws: Aws, archive: LocalArchive, capsys: pytest.CaptureFixture[str]) -> None:
    code = replay_command(
        args(dry_run=True),
        archive=archive,
        sqs=aws.sqs,
        queue_url=aws.queue_url,
        now=NOW + timedelta(hours=1),
    )
    assert code == 0
    assert "would send 3" in capsys.readouterr().out
    assert aws.sqs.receive_message(QueueUrl=aws.queue_url).get("Messages", []) == []


def test_until_before_since_is_refused(archive: LocalArchive) -> None:
    with pytest.raises(SystemExit, match="before --since"):
        list_command(args(since="1d", until="2d"), archive=archive, now=NOW)


def test_without_a_place_it_says_what_to_give() -> None:
    with pytest.raises(SystemExit, match="--local, or --stack-name"):
        list_command(args())
