"""How the store reads DynamoDB's condition failures and transaction cancellation reasons (a stubbed
client, no network): the two single-item writes of a message, and the transactions of other writes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from carehooks.domain.conversations import message_from_event, place_message
from carehooks.domain.models import Channel, Conversation, Direction, MessageEvent
from carehooks.store import ConflictError, Store
from carehooks.store.errors import ItemConditionError
from carehooks.store.items import conversation_item, message_item
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


def condition_failed(stubber: Stubber, operation: str, item: dict[str, Any] | None = None) -> None:
    stubber.add_client_error(
        operation,
        service_error_code="ConditionalCheckFailedException",
        service_message="The conditional request failed",
        modeled_fields={"Item": item} if item is not None else None,
    )


def record(store: Store) -> Any:
    return store.record_message(
        EVENT, lambda latest: place_message(EVENT, latest, T0, timedelta(hours=24)), T0
    )


def stored_message(conversation_id: str, seq: int) -> dict[str, Any]:
    """The message item of EVENT as an earlier attempt wrote it (DynamoDB JSON)."""
    message = replace(message_from_event(EVENT, conversation_id, T0), seq=seq)
    return marshal(message_item(message))


def marshal(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {k: serializer.serialize(v) for k, v in item.items()}


def conversation_row(conv: Conversation) -> dict[str, Any]:
    return {"Items": [marshal(conversation_item(conv))], "Count": 1, "ScannedCount": 1}


def test_a_new_message_is_two_single_item_writes_message_first(stubbed: tuple[Store, Stubber]) -> None:
    store, stubber = stubbed
    no_conversation(stubber)
    stubber.add_response(
        "put_item",
        {},
        {
            "TableName": ANY,
            "Item": ANY,
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        },
    )
    stubber.add_response(
        "put_item", {}, {"TableName": ANY, "Item": ANY, "ConditionExpression": "attribute_not_exists(pk)"}
    )
    outcome = record(store)
    assert not outcome.duplicate
    assert outcome.new_conversation
    assert outcome.message.seq == outcome.conversation.seq == 1


def test_a_conversation_conflict_is_retried_from_a_fresh_read(stubbed: tuple[Store, Stubber]) -> None:
    store, stubber = stubbed
    no_conversation(stubber)
    stubber.add_response("put_item", {})  # the message
    condition_failed(stubber, "put_item")  # the new conversation: another attempt created one
    no_conversation(stubber)  # ... that is not there on the fresh read (say, a test of the retry)
    stubber.add_response("get_item", {})  # did a concurrent attempt account for the message? No
    # The message is placed as before (a new conversation's id comes from its first message): it is not
    # written again, only the conversation is.
    stubber.add_response("put_item", {})
    outcome = record(store)
    assert not outcome.duplicate
    assert outcome.new_conversation


def test_an_existing_message_its_conversation_accounts_for_is_a_duplicate(
    stubbed: tuple[Store, Stubber],
) -> None:
    store, stubber = stubbed
    placed = place_message(EVENT, None, T0, timedelta(hours=24))
    stubber.add_response("query", conversation_row(placed.conversation))
    condition_failed(stubber, "put_item", stored_message(placed.conversation.id, placed.conversation.seq))
    outcome = record(store)
    assert outcome.duplicate
    assert outcome.conversation is None


def test_an_existing_message_its_conversation_does_not_account_for_is_finished(
    stubbed: tuple[Store, Stubber],
) -> None:
    """An attempt that wrote the message and stopped before the conversation: the retry finishes it."""
    store, stubber = stubbed
    no_conversation(stubber)
    condition_failed(stubber, "put_item", stored_message("01KLOSTCONVERSATION0000000", 1))
    stubber.add_response("get_item", {})  # its conversation was never written
    no_conversation(stubber)
    stubber.add_response("get_item", {})  # ... nor accounted for it meanwhile
    stubber.add_response(
        "put_item",
        {},
        {
            "TableName": ANY,
            "Item": ANY,
            "ConditionExpression": ANY,
            "ExpressionAttributeNames": ANY,
            "ExpressionAttributeValues": ANY,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        },
    )  # moved to the new placement
    stubber.add_response("put_item", {})  # the conversation
    outcome = record(store)
    assert not outcome.duplicate
    assert outcome.new_conversation
    assert outcome.message.conversation_id == outcome.conversation.id != "01KLOSTCONVERSATION0000000"


def test_other_errors_are_raised_so_the_record_is_retried_by_sqs(stubbed: tuple[Store, Stubber]) -> None:
    store, stubber = stubbed
    no_conversation(stubber)
    stubber.add_client_error("put_item", service_error_code="ValidationException", service_message="bad")
    with pytest.raises(ClientError):
        record(store)


# -- transactions (a conversation written with other items: events, a late rules decision) ------------------
def conv_with(item_index: int, *codes: str) -> Any:
    def write(store: Store) -> Any:
        conv = place_message(EVENT, None, T0, timedelta(hours=24)).conversation
        return store.write_conversation(
            conv, expected_version=None, now=T0, items=[store.new_item({"pk": "p", "sk": "s"})]
        )

    return write


def test_a_transaction_conflict_is_a_conversation_conflict(stubbed: tuple[Store, Stubber]) -> None:
    store, stubber = stubbed
    cancelled(stubber, "None", "TransactionConflict")
    with pytest.raises(ConflictError):
        conv_with(0)(store)


def test_a_failed_condition_of_an_item_names_the_item(stubbed: tuple[Store, Stubber]) -> None:
    store, stubber = stubbed
    cancelled(stubber, "ConditionalCheckFailed", "None")
    with pytest.raises(ItemConditionError) as raised:
        conv_with(0)(store)
    assert raised.value.index == 0


def test_other_cancellations_are_raised(stubbed: tuple[Store, Stubber]) -> None:
    store, stubber = stubbed
    cancelled(stubber, "None", "ValidationError")
    with pytest.raises(store.client.exceptions.TransactionCanceledException):
        conv_with(0)(store)
