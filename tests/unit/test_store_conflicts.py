"""How the store reads DynamoDB's transaction cancellation reasons (a stubbed client, no network)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from carehooks.domain.conversations import place_message
from carehooks.domain.models import Channel, Direction, MessageEvent
from carehooks.store import Store
from carehooks.wiring.store import make_store

T0 = datetime(2025, 11, 22, 9, 0, tzinfo=UTC)
EVENT = MessageEvent(
    channel=Channel.MESSENGER,
    account_id="page",
    contact_id="customer",
    platform_message_id="m_1",
    sent_at=T0,
    direction=Direction.IN,
    text="hello",
)


@pytest.fixture
def stubbed() -> Iterator[tuple[Store, Stubber]]:
    client = boto3.client("dynamodb", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield make_store("carehooks-test", client=client), stubber
        stubber.assert_no_pending_responses()


def no_conversation(stubber: Stubber) -> None:
    stubber.add_response("query", {"Items": [], "Count": 0, "ScannedCount": 0}, dict.fromkeys(_QUERY, ANY))


_QUERY = (
    "TableName",
    "KeyConditionExpression",
    "ExpressionAttributeValues",
    "ScanIndexForward",
    "Limit",
    "ConsistentRead",
)


def cancelled(stubber: Stubber, *codes: str) -> None:
    stubber.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        service_message="Transaction cancelled",
        modeled_fields={"CancellationReasons": [{"Code": c} for c in codes]},
    )


def written(stubber: Stubber) -> None:
    stubber.add_response("transact_write_items", {})


def record(store: Store) -> Any:
    return store.record_message(
        EVENT, lambda latest: place_message(EVENT, latest, T0, timedelta(hours=24)), T0
    )


def test_a_transaction_conflict_is_retried_from_a_fresh_read(stubbed: tuple[Store, Stubber]) -> None:
    store, stubber = stubbed
    no_conversation(stubber)
    cancelled(stubber, "None", "TransactionConflict")
    no_conversation(stubber)
    written(stubber)
    outcome = record(store)
    assert not outcome.duplicate
    assert outcome.new_conversation


def test_a_conflict_on_the_message_item_is_retried_too(stubbed: tuple[Store, Stubber]) -> None:
    store, stubber = stubbed
    no_conversation(stubber)
    cancelled(stubber, "TransactionConflict", "None")
    no_conversation(stubber)
    cancelled(stubber, "ConditionalCheckFailed", "None")
    assert record(store).duplicate


def test_a_failed_message_condition_is_a_duplicate(stubbed: tuple[Store, Stubber]) -> None:
    store, stubber = stubbed
    no_conversation(stubber)
    cancelled(stubber, "ConditionalCheckFailed", "None")
    outcome = record(store)
    assert outcome.duplicate
    assert outcome.conversation is None


def test_other_cancellations_are_raised_so_the_record_is_retried_by_sqs(
    stubbed: tuple[Store, Stubber],
) -> None:
    store, stubber = stubbed
    no_conversation(stubber)
    cancelled(stubber, "None", "ValidationError")
    with pytest.raises(store.client.exceptions.TransactionCanceledException):
        record(store)
