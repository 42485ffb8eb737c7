"""The local stack's stream event source: Lambda-shaped records and how a batch's answer is read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from infra.local.bus import bus_names
from infra.local.streams import failed_from, lambda_record

ARN = "arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/2026-12-05T00:00:00.000"


def raw(sequence: str) -> dict[str, Any]:
    return {
        "eventID": f"e{sequence}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "ddblocal",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 12, 5, 9, 0, tzinfo=UTC),
            "Keys": {"pk": {"S": "a"}, "sk": {"S": "b"}},
            "NewImage": {"pk": {"S": "a"}, "sk": {"S": "b"}, "rules": {"B": b"\x01\x02"}},
            "SequenceNumber": sequence,
            "SizeBytes": 10,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def test_a_record_is_shaped_as_lambda_hands_it_over() -> None:
    record = lambda_record(raw("100"), ARN, "eu-west-1")
    assert record["eventSourceARN"] == ARN
    assert record["eventSource"] == "aws:dynamodb"
    assert (
        record["dynamodb"]["ApproximateCreationDateTime"]
        == datetime(2026, 12, 5, 9, 0, tzinfo=UTC).timestamp()
    )
    assert record["dynamodb"]["NewImage"]["rules"] == {"B": "AQI="}  # base64, as in Lambda's JSON


def test_the_batch_is_read_again_from_its_first_failed_record() -> None:
    records = [lambda_record(raw(s), ARN, "x") for s in ("1", "2", "3")]
    assert failed_from({"batchItemFailures": []}, records) is None
    assert failed_from(None, records) is None
    assert (
        failed_from({"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}]}, records) == 1
    )


def test_an_identifier_naming_no_record_fails_the_whole_batch() -> None:
    records = [lambda_record(raw(s), ARN, "x") for s in ("1", "2")]
    assert failed_from({"batchItemFailures": [{"itemIdentifier": "9"}]}, records) == 0
    assert failed_from({"batchItemFailures": [{}]}, records) == 0


def test_only_buses_whose_condition_holds_are_created() -> None:
    template = {
        "Resources": {
            "EventBus": {"Type": "AWS::Events::EventBus"},
            "Other": {"Type": "AWS::Events::EventBus", "Condition": "Off"},
            "Table": {"Type": "AWS::DynamoDB::Table"},
        }
    }
    attributes = {"EventBus": {"Name": "s-events"}, "Other": {"Name": "s-other"}, "Table": {"Ref": "t"}}
    assert bus_names(template, attributes, lambda name: name != "Off") == ["s-events"]


def test_the_projects_events_function_reads_the_table_stream_like_its_template_says() -> None:
    from infra.local.model import TemplateModel, parameters
    from infra.local.resolver import Resolver
    from infra.template import load

    template = load()
    attributes: dict[str, dict[str, str]] = {
        name: {
            "Ref": name,
            "Arn": f"arn:{name}",
            "StreamArn": f"arn:{name}/stream",
            "QueueName": name,
            "Name": name,
        }
        for name in template["Resources"]
    }
    resolver = Resolver(template, attributes, parameters(template, {}), "eu-west-1", "stack")
    model = TemplateModel(template, resolver, "stack")
    (source,) = model.stream_sources()
    assert source.function == "EventsFunction"
    assert source.table == "Table"
    assert source.report_failures is True
    assert source.on_failure == "EventsDeadLetterQueue"
    assert source.max_retries == 10
    assert source.starting_position == "TRIM_HORIZON"
    assert not [w for w in model.warnings if "DynamoDB" in w]
