"""``carehooks dlq list|redrive``: parked inbound records replayed after a fix, stored exactly once.

Records are parked the way production parks them: the processor fails (here its table is missing, a
misconfiguration), SQS redelivers up to ``maxReceiveCount`` times and then moves them to the DLQ.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from infra.cli import dlq
from infra.cli.__main__ import main

from tests.integration.conftest import TABLE, Aws
from tests.integration.redelivery_support import deliver, post_event, queue_depth, stored_message_ids

BATCHED_IDS = sorted(["m_batch_a1", "m_batch_a2", "m_batch_b1", "m_batch_c1"])


@pytest.fixture
def parked(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Four customer messages (three customers) parked in the DLQ by a broken deployment, then the fix."""
    # Given a batched webhook accepted while the processor points at a table that does not exist
    assert post_event("meta/batched.json")["statusCode"] == 200
    point_processor_at(monkeypatch, "no-such-table")
    failures = deliver(aws)
    # When the fix is deployed
    point_processor_at(monkeypatch, TABLE)
    assert failures > 0
    assert queue_depth(aws, aws.queue_url) == 0
    ids = [r.message_id for r in dlq.list_parked(aws.sqs, aws.dlq_url)]
    assert len(ids) == 4
    return ids


def point_processor_at(monkeypatch: pytest.MonkeyPatch, table: str) -> None:
    """Deploy the processor with ``TABLE_NAME`` = ``table`` (settings and store are cached per process)."""
    from carehooks.config.settings import settings
    from carehooks.wiring.store import get_store

    monkeypatch.setenv("TABLE_NAME", table)
    settings.cache_clear()
    get_store.cache_clear()


def cli(aws: Aws, *args: str) -> int:
    return main(["dlq", *args, "--queue-url", aws.queue_url, "--dlq-url", aws.dlq_url])


def test_parked_records_redriven_after_the_fix_are_stored_exactly_once(
    aws: Aws, parked: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given nothing is stored while the records sit in the DLQ
    assert stored_message_ids(aws) == []
    # When they are redriven and the queue is processed
    assert cli(aws, "redrive") == 0
    assert "replayed 4, failed 0" in capsys.readouterr().out
    assert deliver(aws) == 0
    # Then every message is stored once, in its customer's conversation, and the DLQ is empty
    assert stored_message_ids(aws) == BATCHED_IDS
    assert len(aws.items("CONV#")) == 3
    assert queue_depth(aws, aws.dlq_url) == 0


def test_a_replay_keeps_the_group_and_gets_a_new_deterministic_dedup_id(aws: Aws, parked: list[str]) -> None:
    before = {r.message_id: r for r in dlq.list_parked(aws.sqs, aws.dlq_url)}
    dlq.redrive(aws.sqs, aws.dlq_url, aws.queue_url)
    replayed = aws.sqs.receive_message(
        QueueUrl=aws.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
    )["Messages"]
    by_body = {r.body: r for r in before.values()}
    assert len(replayed) == 4
    for message in replayed:
        original = by_body[message["Body"]]
        assert message["Attributes"]["MessageGroupId"] == original.group_id
        dedup = message["Attributes"]["MessageDeduplicationId"]
        assert dedup != original.deduplication_id
        assert dedup == dlq.replay_deduplication_id(original)
        assert len(dedup) <= 128


def test_a_groups_parked_records_are_replayed_in_the_order_the_dlq_holds_them(aws: Aws) -> None:
    # Given two customers' records parked in order (directly: moto's own parking can reorder a group)
    for n in range(3):
        for group in ("g-a", "g-b"):
            aws.sqs.send_message(
                QueueUrl=aws.dlq_url,
                MessageBody=f"{group}:{n}",
                MessageGroupId=group,
                MessageDeduplicationId=f"{group}-{n}",
            )
    # When they are redriven
    assert len(dlq.redrive(aws.sqs, aws.dlq_url, aws.queue_url).replayed) == 6
    # Then each group arrives on the inbound queue in its order
    seen: list[str] = []
    while messages := aws.sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for message in messages:
            seen.append(message["Body"])
            aws.sqs.delete_message(QueueUrl=aws.queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert [b for b in seen if b.startswith("g-a")] == ["g-a:0", "g-a:1", "g-a:2"]
    assert [b for b in seen if b.startswith("g-b")] == ["g-b:0", "g-b:1", "g-b:2"]


def test_redriving_twice_stores_nothing_more_and_the_second_run_finds_nothing(
    aws: Aws, parked: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(aws, "redrive") == 0
    deliver(aws)
    before = sorted(json.dumps(i, sort_keys=True, default=bytes.hex) for i in aws.items())
    capsys.readouterr()
    # When the command is run again
    assert cli(aws, "redrive") == 0
    assert "replayed 0, failed 0" in capsys.readouterr().out
    deliver(aws)
    # Then the table is unchanged
    assert sorted(json.dumps(i, sort_keys=True, default=bytes.hex) for i in aws.items()) == before


class CrashAfterSend:
    """An SQS client whose process dies (raises) between a send and its delete, once."""

    def __init__(self, sqs: Any) -> None:
        self.sqs = sqs
        self.sent = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sqs, name)

    def send_message(self, **kwargs: Any) -> Any:
        self.sent += 1
        return self.sqs.send_message(**kwargs)

    def delete_message(self, **kwargs: Any) -> Any:
        raise KeyboardInterrupt("killed between send and delete")


def test_a_crash_between_send_and_delete_still_stores_each_message_once(aws: Aws, parked: list[str]) -> None:
    # Given a redrive that dies right after sending its first record (visibility 0: it is back at once)
    crashing = CrashAfterSend(aws.sqs)
    with pytest.raises(KeyboardInterrupt):
        dlq.redrive(crashing, aws.dlq_url, aws.queue_url, visibility=0)
    assert crashing.sent == 1
    assert queue_depth(aws, aws.dlq_url) == 4
    # and the replayed record is processed (so SQS's own deduplication no longer sees it in the queue)
    deliver(aws)
    assert len(stored_message_ids(aws)) == 1
    # When the command is run again: every record is replayed, the first one a second time
    report = dlq.redrive(aws.sqs, aws.dlq_url, aws.queue_url)
    assert len(report.replayed) == 4
    deliver(aws)
    # Then the store's message marker refused the second copy: each message once
    assert stored_message_ids(aws) == BATCHED_IDS
    assert queue_depth(aws, aws.dlq_url) == 0


def test_a_replay_sent_twice_within_the_window_is_one_message_to_sqs(aws: Aws, parked: list[str]) -> None:
    crashing = CrashAfterSend(aws.sqs)
    with pytest.raises(KeyboardInterrupt):
        dlq.redrive(crashing, aws.dlq_url, aws.queue_url, visibility=0)
    # When the re-run sends the same record again before anything consumed the first copy
    dlq.redrive(aws.sqs, aws.dlq_url, aws.queue_url)
    # Then SQS deduplicated it (same derived id): four messages queued, not five
    assert queue_depth(aws, aws.queue_url) == 4


def test_dry_run_lists_what_would_be_replayed_and_changes_nothing(
    aws: Aws, parked: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(aws, "redrive", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "dry run: would replay 4 record(s)" in out
    for message_id in parked:
        assert f"would replay {message_id}" in out
    # Nothing was sent, nothing deleted, and the records are visible again for the real run
    assert queue_depth(aws, aws.queue_url) == 0
    assert sorted(r.message_id for r in dlq.list_parked(aws.sqs, aws.dlq_url)) == sorted(parked)


def test_max_replays_at_most_n_records(
    aws: Aws, parked: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(aws, "redrive", "--max", "1") == 0
    assert "replayed 1, failed 0" in capsys.readouterr().out
    assert queue_depth(aws, aws.queue_url) == 1
    assert queue_depth(aws, aws.dlq_url) == 3


def test_an_empty_dlq_replays_nothing(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(aws, "redrive") == 0
    assert "replayed 0, failed 0, held back 0, sent but not deleted 0" in capsys.readouterr().out
    assert cli(aws, "list") == 0
    assert capsys.readouterr().out.strip() == f"{aws.dlq_url}: empty"
    assert queue_depth(aws, aws.queue_url) == 0


def test_list_shows_id_group_receive_count_and_the_parking_reason(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a record parked directly with its reason (as the processor parks a poison record)
    aws.sqs.send_message(
        QueueUrl=aws.dlq_url,
        MessageBody='{"v": 1}',
        MessageGroupId="messenger#112233445566778#psid-9",
        MessageDeduplicationId="dedup-9",
        MessageAttributes={
            "ErrorCode": {"DataType": "String", "StringValue": "AdapterError"},
            "ErrorMessage": {"DataType": "String", "StringValue": "no usable message in the payload"},
        },
    )
    # When the DLQ is listed as JSON
    assert cli(aws, "list", "--json") == 0
    items = json.loads(capsys.readouterr().out)["items"]
    # Then the record is shown with its group, receive count and reason
    assert len(items) == 1
    item = items[0]
    assert item["group_id"] == "messenger#112233445566778#psid-9"
    assert item["receive_count"] >= 1
    assert (item["error_code"], item["error_message"]) == ("AdapterError", "no usable message in the payload")
    # and as text, one line naming the reason
    assert cli(aws, "list") == 0
    assert "AdapterError: no usable message in the payload" in capsys.readouterr().out


def test_the_parking_reason_is_not_forwarded_with_the_replay(aws: Aws) -> None:
    aws.sqs.send_message(
        QueueUrl=aws.dlq_url,
        MessageBody='{"v": 1}',
        MessageGroupId="g",
        MessageDeduplicationId="d",
        MessageAttributes={"ErrorCode": {"DataType": "String", "StringValue": "AdapterError"}},
    )
    dlq.redrive(aws.sqs, aws.dlq_url, aws.queue_url)
    message = aws.sqs.receive_message(QueueUrl=aws.queue_url, MessageAttributeNames=["All"])["Messages"][0]
    assert "ErrorCode" not in message.get("MessageAttributes", {})


class FailingSend:
    """An SQS client whose sends of one group fail."""

    def __init__(self, sqs: Any, group: str) -> None:
        self.sqs = sqs
        self.group = group

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sqs, name)

    def send_message(self, **kwargs: Any) -> Any:
        if kwargs.get("MessageGroupId") == self.group:
            raise ConnectionError("SQS unreachable")
        return self.sqs.send_message(**kwargs)


def test_a_failed_send_leaves_the_record_and_its_groups_later_records_parked(
    aws: Aws, parked: list[str]
) -> None:
    group_a = next(r.group_id for r in dlq.list_parked(aws.sqs, aws.dlq_url) if "m_batch_a1" in r.body)
    assert group_a is not None
    report = dlq.redrive(FailingSend(aws.sqs, group_a), aws.dlq_url, aws.queue_url)
    # Then the other customers' records went, customer a's two stay parked (in order, for the next run)
    assert len(report.replayed) == 2
    assert len(report.failed) + len(report.held) == 2
    assert queue_depth(aws, aws.dlq_url) == 2
    # and a later run, with SQS back, replays them
    assert len(dlq.redrive(aws.sqs, aws.dlq_url, aws.queue_url).replayed) == 2
    deliver(aws)
    assert stored_message_ids(aws) == BATCHED_IDS


def test_urls_come_from_the_stack_outputs(aws: Aws) -> None:
    class Cfn:
        def describe_stacks(self, StackName: str) -> dict[str, Any]:
            assert StackName == "carehooks-prod"
            return {
                "Stacks": [
                    {
                        "Outputs": [
                            {"OutputKey": "InboundQueueUrl", "OutputValue": aws.queue_url},
                            {"OutputKey": "InboundDeadLetterQueueUrl", "OutputValue": aws.dlq_url},
                        ]
                    }
                ]
            }

    args = main_args("redrive", "--stack-name", "carehooks-prod")
    _sqs, queues = dlq.resolve(
        args, sqs_factory=lambda *_a, **_k: aws.sqs, cfn_factory=lambda *_a, **_k: Cfn()
    )
    assert (queues.queue_url, queues.dlq_url) == (aws.queue_url, aws.dlq_url)


def test_local_mode_finds_the_local_stacks_queues(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # Given the local stack's queues (named as it names them) and the endpoints file it writes
    names = {logical: dlq.local_queue_name(logical) for logical in (dlq.SOURCE_QUEUE, dlq.DLQ_QUEUE)}
    urls = {
        logical: aws.sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]
        for logical, name in names.items()
    }
    monkeypatch.setenv("CAREHOOKS_LOCAL_DIR", str(tmp_path))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    (tmp_path / "endpoints.json").write_text(json.dumps({"aws": "http://127.0.0.1:40285"}))
    seen: dict[str, Any] = {}

    def factory(service: str, **kwargs: Any) -> Any:
        seen.update(kwargs)
        return aws.sqs

    _sqs, queues = dlq.resolve(main_args("list", "--local"), sqs_factory=factory)
    assert seen["endpoint_url"] == "http://127.0.0.1:40285"
    assert (queues.queue_url, queues.dlq_url) == (urls[dlq.SOURCE_QUEUE], urls[dlq.DLQ_QUEUE])


def test_without_queue_urls_a_stack_or_local_the_command_says_what_to_give() -> None:
    with pytest.raises(SystemExit, match="--stack-name"):
        dlq.resolve(main_args("list"))


def main_args(*argv: str) -> Any:
    import argparse

    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers(dest="command", required=True)
    dlq.register(subparsers)
    return parser.parse_args(["dlq", *argv])
