"""Security of the deployment, on the transformed template: who may do what, on which resource.

tests/template/test_template.py already refuses wildcard actions, Scan, and data actions on ``*``, and
checks the key policy's wildcard. This file goes further: every data action of every function role
names its resources (a table index by name, never ``index/*``; a queue, secret, parameter or sender
identity by ARN), data at rest is encrypted with the stack's customer managed key, the HTTP API is
throttled (webhooks apart from agents and survey links), every function has a reserved concurrency,
and the SQS event source cannot poll beyond it.
"""

from __future__ import annotations

from typing import Any

import pytest
from infra.template import template as source_template
from tests.template.test_template import actions, resources_of

pytestmark = pytest.mark.template

KEY = {"Ref": "DataKey"}
KEY_ARN = {"Fn::GetAtt": ["DataKey", "Arn"]}
TABLE_ARN = {"Fn::GetAtt": ["Table", "Arn"]}
QUEUE_ARNS = (
    {"Fn::GetAtt": ["InboundQueue", "Arn"]},
    {"Fn::GetAtt": ["InboundDeadLetterQueue", "Arn"]},
    {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]},
)
# Domain events: EventsFunction reads the table's stream and puts events on the stack's bus only.
STREAM_ARN = {"Fn::GetAtt": ["Table", "StreamArn"]}
STREAM_ACTIONS = {
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
}
BUS_ARN = {"Fn::GetAtt": ["EventBus", "Arn"]}
SECRETS = ({"Ref": "PlatformSecret"}, {"Ref": "SurveySigningSecret"}, {"Ref": "ErasureKeySecret"})
ARCHIVE = {"Fn::GetAtt": ["ArchiveBucket", "Arn"]}


def function_roles(transformed: dict[str, Any]) -> dict[str, str]:
    """Function logical id -> the logical id of its execution role."""
    roles = {}
    for name, function in resources_of(transformed, "AWS::Lambda::Function").items():
        role = function["Properties"]["Role"]
        assert role == {"Fn::GetAtt": [f"{name}Role", "Arn"]}, (name, role)
        roles[name] = f"{name}Role"
    return roles


def statements_of(transformed: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """The role's inline statements, with ``Fn::If`` branches of conditions both ways."""
    out: list[dict[str, Any]] = []
    for policy in transformed["Resources"][role]["Properties"].get("Policies", []):
        statements = policy["PolicyDocument"]["Statement"]
        for statement in statements if isinstance(statements, list) else [statements]:
            if isinstance(statement, dict) and "Fn::If" in statement:
                _, then, otherwise = statement["Fn::If"]
                out += [s for s in (then, otherwise) if s != {"Ref": "AWS::NoValue"}]
            else:
                out.append(statement)
    return out


def resources(statement: dict[str, Any]) -> list[Any]:
    value = statement.get("Resource", [])
    return value if isinstance(value, list) else [value]


def text_of(resource: Any) -> str:
    """An ARN as written (``Fn::Sub`` strings, ``Fn::GetAtt``/``Ref`` as ``<Logical>.Arn``)."""
    if isinstance(resource, str):
        return resource
    if "Fn::Sub" in resource:
        sub = resource["Fn::Sub"]
        return str(sub[0] if isinstance(sub, list) else sub)
    if "Fn::GetAtt" in resource:
        return ".".join(resource["Fn::GetAtt"])
    if "Ref" in resource:
        return str(resource["Ref"])
    return str(resource)


# ---------------------------------------------------------------- least privilege, per function
def test_every_function_role_names_each_data_resource(transformed: dict[str, Any]) -> None:
    roles = function_roles(transformed)
    assert len(roles) >= 10
    granted = 0
    for function, role in roles.items():
        for statement in statements_of(transformed, role):
            assert statement["Effect"] == "Allow", (function, statement)
            for action in actions(statement):
                service = action.split(":", 1)[0]
                assert "*" not in action, (function, action)
                for resource in resources(statement):
                    arn = text_of(resource)
                    granted += 1
                    if service == "dynamodb" and resource == STREAM_ARN:
                        assert action in STREAM_ACTIONS, (function, action)
                    elif service == "dynamodb":
                        # The table, or one of its indexes by name.
                        assert resource == TABLE_ARN or arn.startswith("${Table.Arn}/index/"), (function, arn)
                        assert not arn.endswith("*"), (function, action, arn)
                    elif service == "sqs":
                        assert resource in QUEUE_ARNS, (function, action, resource)
                    elif service == "secretsmanager":
                        assert resource in SECRETS, (function, action, resource)
                    elif service == "kms":
                        assert resource == KEY_ARN, (function, action, resource)
                    elif service == "ssm":
                        assert arn.endswith(":parameter/${ConfigParameterName}"), (function, arn)
                    elif service == "ses":
                        # The sender's address or its domain, never every identity of the account.
                        assert arn.endswith(("identity/${MailFrom}", "identity/${Domain}")), (function, arn)
                    elif service == "events":
                        assert (action, resource) == ("events:PutEvents", BUS_ARN), (function, action, arn)

                    elif service == "s3":
                        # The raw archive: the bucket (listing) or its events' objects, nothing else.
                        assert resource == ARCHIVE or arn == "${ArchiveBucket.Arn}/events/*", (function, arn)
                    elif service not in ("logs", "xray"):
                        pytest.fail(f"{function} is granted {action} on {arn}: not a known data service")
    assert granted > 0


def test_the_indexes_granted_exist_on_the_table(transformed: dict[str, Any]) -> None:
    props = transformed["Resources"]["Table"]["Properties"]
    indexes = {i["IndexName"] for i in props["GlobalSecondaryIndexes"] + props["LocalSecondaryIndexes"]}
    for role in function_roles(transformed).values():
        for statement in statements_of(transformed, role):
            for resource in resources(statement):
                arn = text_of(resource)
                if arn.startswith("${Table.Arn}/index/"):
                    assert arn.removeprefix("${Table.Arn}/index/") in indexes, (role, arn)


def test_webhook_functions_may_only_enqueue_and_read_their_secret(transformed: dict[str, Any]) -> None:
    # A webhook answers platforms on the internet: it never touches the table, mail or the DLQ.
    for function in (
        "MetaWebhookFunction",
        "XWebhookFunction",
        "TelegramWebhookFunction",
        "TwilioWebhookFunction",
    ):
        granted = {
            action: resources(statement)
            for statement in statements_of(transformed, f"{function}Role")
            for action in actions(statement)
        }
        assert set(granted) == {
            "sqs:SendMessage",
            "secretsmanager:GetSecretValue",
            "kms:Decrypt",
            "kms:GenerateDataKey",
        }
        assert granted["sqs:SendMessage"] == [QUEUE_ARNS[0]], function
        assert granted["secretsmanager:GetSecretValue"] == [SECRETS[0]], function


# ---------------------------------------------------------------- encryption at rest
def test_the_table_queues_and_secrets_are_encrypted_with_the_stacks_key(transformed: dict[str, Any]) -> None:
    res = transformed["Resources"]
    assert res["Table"]["Properties"]["SSESpecification"] == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": KEY,
    }
    for queue in ("InboundQueue", "InboundDeadLetterQueue"):
        assert res[queue]["Properties"].get("KmsMasterKeyId") == KEY, queue
    secrets = resources_of(transformed, "AWS::SecretsManager::Secret")
    assert set(secrets) == {"PlatformSecret", "SurveySigningSecret", "ErasureKeySecret"}
    for name, secret in secrets.items():
        assert secret["Properties"].get("KmsKeyId") == KEY, name
    for name, topic in resources_of(transformed, "AWS::SNS::Topic").items():
        assert topic["Properties"].get("KmsMasterKeyId") == KEY, name


def test_the_key_is_customer_managed_rotated_and_kept_when_the_stack_goes(
    transformed: dict[str, Any],
) -> None:
    (key,) = resources_of(transformed, "AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["Properties"].get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
    # Deleting the key would make the retained table unreadable.
    assert key.get("DeletionPolicy") == "Retain"
    assert key.get("UpdateReplacePolicy") == "Retain"


def test_the_table_cannot_be_deleted_by_accident(transformed: dict[str, Any]) -> None:
    table = transformed["Resources"]["Table"]
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["UpdateReplacePolicy"] == "Retain"


# ---------------------------------------------------------------- throttling and concurrency
def api_stage(transformed: dict[str, Any]) -> dict[str, Any]:
    (stage,) = resources_of(transformed, "AWS::ApiGatewayV2::Stage").values()
    props: dict[str, Any] = stage["Properties"]
    return props


def test_the_http_api_is_throttled_by_default(transformed: dict[str, Any]) -> None:
    default = api_stage(transformed)["DefaultRouteSettings"]
    assert 0 < default["ThrottlingRateLimit"] <= 1000
    assert default["ThrottlingRateLimit"] <= default["ThrottlingBurstLimit"] <= 5000


def test_agents_and_survey_links_are_throttled_tighter_than_webhooks(transformed: dict[str, Any]) -> None:
    routes = api_stage(transformed)["RouteSettings"]
    (api,) = resources_of(transformed, "AWS::ApiGatewayV2::Api").values()
    declared = {
        f"{method.upper()} {path}"
        for path, methods in api["Properties"]["Body"]["paths"].items()
        for method in methods
    }
    declared = {k.replace("X-AMAZON-APIGATEWAY-ANY-METHOD", "ANY") for k in declared}
    # Every throttled route is a real route (a typo would silently throttle nothing).
    assert set(routes) <= declared, set(routes) - declared
    webhooks = [k for k in declared if k.startswith("POST /webhooks/")]
    assert webhooks
    assert all(k in routes for k in webhooks), set(webhooks) - set(routes)
    slowest_webhook = min(routes[k]["ThrottlingRateLimit"] for k in webhooks)
    for other in ("ANY /api/{proxy+}", "GET /survey/{token}", "POST /survey/{token}"):
        assert routes[other]["ThrottlingRateLimit"] < slowest_webhook, other
        assert routes[other]["ThrottlingBurstLimit"] <= routes[other]["ThrottlingRateLimit"] * 2, other


def test_api_access_logs_are_written_and_kept_for_a_limited_time(transformed: dict[str, Any]) -> None:
    settings = api_stage(transformed)["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    for field in ("requestId", "ip", "status", "route"):
        assert f'"{field}"' in settings["Format"], field
    # The route key ("GET /survey/{token}"), never the path: a survey link's path is its token.
    assert "$context.routeKey" in settings["Format"]
    assert "$context.path" not in settings["Format"]
    retention = transformed["Resources"]["ApiAccessLogs"]["Properties"]["RetentionInDays"]
    assert 30 <= retention <= 731


def test_every_function_has_a_reserved_concurrency(transformed: dict[str, Any]) -> None:
    functions = resources_of(transformed, "AWS::Lambda::Function")
    limits = {name: f["Properties"].get("ReservedConcurrentExecutions") for name, f in functions.items()}
    assert all(isinstance(v, int) and v >= 1 for v in limits.values()), limits
    # Scheduled work runs one at a time; nothing may take the account's whole pool (1,000 by default).
    for name in (
        "SlaMonitorFunction",
        "SurveyDispatchFunction",
        "WeeklyDigestFunction",
        "ChannelHealthFunction",
        "AutomationFunction",
    ):
        assert limits[name] == 1, name
    assert sum(limits.values()) <= 500, limits


def test_the_queue_is_never_polled_beyond_the_processors_reserved_concurrency(
    transformed: dict[str, Any],
) -> None:
    reserved = transformed["Resources"]["InboundProcessorFunction"]["Properties"][
        "ReservedConcurrentExecutions"
    ]
    (mapping,) = [
        m["Properties"]
        for m in resources_of(transformed, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": "InboundProcessorFunction"}
    ]
    assert 2 <= mapping.get("ScalingConfig", {}).get("MaximumConcurrency", 0) <= reserved


# ---------------------------------------------------------------- the scanner's exceptions
def test_every_checkov_skip_names_a_real_check_once_per_resource() -> None:
    # (That each skip says why is test_template.py's test_every_accepted_checkov_finding_says_why.)
    skipped = 0
    for name, resource in source_template()["Resources"].items():
        ids = [
            str(s.get("id", "")) for s in (resource.get("Metadata") or {}).get("checkov", {}).get("skip", [])
        ]
        skipped += len(ids)
        assert all(i.startswith(("CKV_AWS_", "CKV2_AWS_")) for i in ids), (name, ids)
        assert len(ids) == len(set(ids)), f"{name} skips the same check twice"
    assert skipped > 0


# ---------------------------------------------------------------- raw archive and retention (issue 18)
def test_the_archive_bucket_is_private_encrypted_tls_only_and_expires_with_the_retention(
    transformed: dict[str, Any],
) -> None:
    bucket = transformed["Resources"]["ArchiveBucket"]
    props = bucket["Properties"]
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_ARN}
    assert rule["BucketKeyEnabled"] is True
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    expiring = [r for r in props["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in r]
    assert expiring == [
        {
            "Id": "Retention",
            "Status": "Enabled",
            "Prefix": "events/",
            # DataRetentionDays, when set, replaces ArchiveRetentionDays: the archive follows the table.
            "ExpirationInDays": {
                "Fn::If": ["HasDataRetention", {"Ref": "DataRetentionDays"}, {"Ref": "ArchiveRetentionDays"}]
            },
        }
    ]
    assert "VersioningConfiguration" not in props  # an erased object must not survive as a version
    assert bucket["DeletionPolicy"] == "Retain"
    (policy,) = resources_of(transformed, "AWS::S3::BucketPolicy").values()
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_every_function_has_a_log_group_with_the_retention_parameter(transformed: dict[str, Any]) -> None:
    functions = set(resources_of(transformed, "AWS::Lambda::Function"))
    groups = resources_of(transformed, "AWS::Logs::LogGroup")
    named = {}
    for group in groups.values():
        log_name = group["Properties"].get("LogGroupName")
        if isinstance(log_name, dict) and "Fn::Sub" in log_name:
            named[str(log_name["Fn::Sub"]).removeprefix("/aws/lambda/${").removesuffix("}")] = group
    assert functions <= set(named), sorted(functions - set(named))
    for function in functions:
        assert named[function]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, function


def test_only_the_processor_writes_the_archive_and_only_the_agent_api_reads_or_lists_it(
    transformed: dict[str, Any],
) -> None:
    s3_actions: dict[str, set[str]] = {}
    for function, role in function_roles(transformed).items():
        for statement in statements_of(transformed, role):
            for action in actions(statement):
                if action.startswith("s3:"):
                    s3_actions.setdefault(function, set()).add(action)
    assert s3_actions == {
        "InboundProcessorFunction": {"s3:PutObject", "s3:DeleteObject"},
        "AgentApiFunction": {"s3:ListBucket", "s3:GetObject", "s3:DeleteObject"},
    }
