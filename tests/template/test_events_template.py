"""Domain events in template.yaml: the stream, the bus, EventsFunction's source and alarms, the optional endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from infra.template import template as source_template
from tests.template.test_template import resources_of

pytestmark = pytest.mark.template

ENDPOINT_RESOURCES = {
    "EventsEndpointConnection": "AWS::Events::Connection",
    "EventsEndpointDestination": "AWS::Events::ApiDestination",
    "EventsEndpointRole": "AWS::IAM::Role",
    "EventsEndpointDeadLetterQueue": "AWS::SQS::Queue",
    "EventsEndpointDeadLetterQueuePolicy": "AWS::SQS::QueuePolicy",
    "EventsEndpointRule": "AWS::Events::Rule",
    "EventsEndpointDeadLetterAlarm": "AWS::CloudWatch::Alarm",
    "EventsEndpointFailedAlarm": "AWS::CloudWatch::Alarm",
}


def test_the_table_streams_new_and_old_images(transformed: dict[str, Any]) -> None:
    props = transformed["Resources"]["Table"]["Properties"]
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_events_function_reads_the_stream_with_partial_failures_bisect_and_a_dlq(
    transformed: dict[str, Any],
) -> None:
    (mapping,) = [
        m["Properties"]
        for m in resources_of(transformed, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": "EventsFunction"}
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 1 <= int(mapping["MaximumRetryAttempts"]) <= 20  # finite: a poison record never blocks the shard
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    on_failure = mapping["DestinationConfig"]["OnFailure"]["Destination"]
    assert on_failure == {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}


def test_events_go_to_the_stacks_own_bus(transformed: dict[str, Any]) -> None:
    (bus_id,) = resources_of(transformed, "AWS::Events::EventBus")
    assert bus_id == "EventBus"
    variables = transformed["Resources"]["EventsFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["EVENT_BUS_NAME"] == {"Ref": "EventBus"}
    assert "EventBusName" in source_template()["Outputs"]


def test_alarms_watch_the_dlq_the_iterator_age_and_refused_puts(transformed: dict[str, Any]) -> None:
    alarms = [a["Properties"] for a in resources_of(transformed, "AWS::CloudWatch::Alarm").values()]

    def watched(metric: str, dimension: dict[str, Any]) -> bool:
        return any(
            a["MetricName"] == metric and dimension in a["Dimensions"] and a["AlarmActions"] for a in alarms
        )

    queue = {"Fn::GetAtt": ["EventsDeadLetterQueue", "QueueName"]}
    assert watched("ApproximateNumberOfMessagesVisible", {"Name": "QueueName", "Value": queue})
    assert watched("IteratorAge", {"Name": "FunctionName", "Value": {"Ref": "EventsFunction"}})
    assert watched("Errors", {"Name": "FunctionName", "Value": {"Ref": "EventsFunction"}})
    assert watched("EventsNotPublished", {"Name": "service", "Value": "carehooks"})


def test_the_endpoint_is_made_only_when_its_url_is_set() -> None:
    template = source_template()
    assert template["Parameters"]["EventsEndpointUrl"]["Default"] == ""
    assert template["Conditions"]["HasEventsEndpoint"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "EventsEndpointUrl"}, ""]}]
    }
    for name, kind in ENDPOINT_RESOURCES.items():
        resource = template["Resources"][name]
        assert resource["Type"] == kind, name
        assert resource["Condition"] == "HasEventsEndpoint", name


def test_the_endpoint_rule_retries_then_parks_in_its_dlq() -> None:
    rule = source_template()["Resources"]["EventsEndpointRule"]["Properties"]
    assert rule["EventBusName"] == {"Ref": "EventBus"}
    assert rule["EventPattern"]["source"] == ["carehooks"]
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["EventsEndpointDestination", "Arn"]}
    assert target["RoleArn"] == {"Fn::GetAtt": ["EventsEndpointRole", "Arn"]}
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["EventsEndpointDeadLetterQueue", "Arn"]}
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == 86400
    destination = source_template()["Resources"]["EventsEndpointDestination"]["Properties"]
    assert destination["HttpMethod"] == "POST"
    assert destination["InvocationEndpoint"] == {"Ref": "EventsEndpointUrl"}
