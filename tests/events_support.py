"""Domain events in tests: stream records shaped like Lambda's, and validation against docs/events/."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from jsonschema import Draft202012Validator, FormatChecker

from carehooks.events import DetailType, DomainEvent

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "docs" / "events"
STREAM_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/carehooks-test/stream/2026-12-01T00:00:00.000"

_serializer = TypeSerializer()


def dynamodb_json(item: dict[str, Any]) -> dict[str, Any]:
    """A plain item (as ``store.items`` builds it) in DynamoDB's JSON, as a stream image holds it."""
    out: dict[str, Any] = {}
    for name, value in item.items():
        typed = _serializer.serialize(value)
        if "B" in typed:
            typed = {"B": bytes(typed["B"])}
        out[name] = typed
    return out


def stream_record(
    event_name: str,
    new: dict[str, Any] | None,
    old: dict[str, Any] | None = None,
    sequence: str = "100000000000000000001",
    at: float = 1_764_936_000.0,
) -> dict[str, Any]:
    """A DynamoDB stream record as Lambda hands it to the function (``NEW_AND_OLD_IMAGES``)."""
    any_image = new or old or {}
    stream: dict[str, Any] = {
        "ApproximateCreationDateTime": at,
        "Keys": {"pk": {"S": str(any_image.get("pk", ""))}, "sk": {"S": str(any_image.get("sk", ""))}},
        "SequenceNumber": sequence,
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        stream["NewImage"] = dynamodb_json(new)
    if old is not None:
        stream["OldImage"] = dynamodb_json(old)
    return {
        "eventID": f"evt-{sequence}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": stream,
        "eventSourceARN": STREAM_ARN,
    }


@cache
def schema(detail_type: str) -> Draft202012Validator:
    document = json.loads((SCHEMAS / f"{detail_type}.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document, format_checker=FormatChecker())


def schema_errors(detail_type: str, detail: dict[str, Any]) -> list[str]:
    """Why ``detail`` does not validate against its detail-type's schema (empty: it does)."""
    return [
        f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}"
        for e in schema(detail_type).iter_errors(detail)
    ]


def assert_valid(event: DomainEvent | dict[str, Any]) -> None:
    """An event (ours, or an EventBridge envelope) validates against the schema of its detail-type."""
    if isinstance(event, DomainEvent):
        detail_type, detail = str(event.detail_type), event.detail
    else:
        detail_type, detail = str(event["detail-type"]), event["detail"]
    assert detail_type in {str(t) for t in DetailType}, detail_type
    assert schema_errors(detail_type, detail) == [], (detail_type, detail)
