"""Embedded AWS: moto (SQS, SES, Secrets Manager, SSM, Scheduler, SNS) in this process and Amazon
DynamoDB Local on Java, plus the resources of template.yaml created in them.

moto keeps its state in memory, so queues, the secret and the verified sender are created at every
start (queued messages do not survive a restart). DynamoDB Local keeps the table under
``.local/dynamodb``; a table is created only when missing, and indexes added to the template later are
added to the existing table.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from secrets import token_urlsafe
from typing import Any

import boto3
from botocore.config import Config

from infra import dynamodb_local
from infra.local.resolver import ACCOUNT_ID, Resolver
from infra.local.settings import LocalSettings

TABLE_TYPE = "AWS::DynamoDB::Table"
QUEUE_TYPE = "AWS::SQS::Queue"
SECRET_TYPE = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type, not a password
PARAMETER_TYPE = "AWS::SSM::Parameter"
TOPIC_TYPE = "AWS::SNS::Topic"
SCHEDULE_GROUP_TYPE = "AWS::Scheduler::ScheduleGroup"
EVENT_BUS_TYPE = "AWS::Events::EventBus"

DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


@dataclass
class Endpoints:
    """Where the embedded services listen."""

    aws: str
    dynamodb: str
    dynamodb_kind: str  # "DynamoDB Local" or "moto"


@dataclass
class Embedded:
    """The running embedded services; :meth:`stop` ends them."""

    endpoints: Endpoints
    stoppers: list[Callable[[], None]] = field(default_factory=list)
    dynamodb_pid: int | None = None

    def stop(self) -> None:
        for stop in reversed(self.stoppers):
            with contextlib.suppress(Exception):
                stop()
        self.stoppers.clear()


def start_services(settings: LocalSettings, say: Callable[[str], None]) -> Embedded:
    """Start moto on a free loopback port and DynamoDB Local (or fall back to moto's DynamoDB).

    DynamoDB Local (a JVM) starts in a thread while moto is imported and started: it saves a second.
    """
    import threading

    outcome: dict[str, Any] = {}

    def start_dynamodb() -> None:
        try:
            outcome["ddb"] = dynamodb_local.start(data_dir=settings.dynamodb_dir)
        except dynamodb_local.DynamoDBLocalUnavailableError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=start_dynamodb, name="dynamodb-local", daemon=True)
    if settings.dynamodb != "moto":
        thread.start()

    from moto.server import ThreadedMotoServer

    # werkzeug logs every request to moto; the stack logs invocations instead.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto_port = dynamodb_local.free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    aws_url = f"http://127.0.0.1:{moto_port}"
    embedded = Embedded(Endpoints(aws_url, aws_url, "moto"))
    embedded.stoppers.append(moto.stop)
    if settings.dynamodb == "moto":
        say("DynamoDB: moto (LOCAL_DYNAMODB=moto): data are lost when the stack stops")
        return embedded
    thread.join()
    if "error" in outcome:
        exc = outcome["error"]
        if settings.dynamodb == "local":
            embedded.stop()
            raise SystemExit(f"DynamoDB Local is required (LOCAL_DYNAMODB=local): {exc}") from exc
        say(f"WARNING: {exc}")
        say("WARNING: falling back to moto's DynamoDB: data are lost when the stack stops")
        return embedded
    ddb = outcome["ddb"]
    embedded.stoppers.append(ddb.stop)
    embedded.endpoints = Endpoints(aws_url, ddb.endpoint, "DynamoDB Local")
    embedded.dynamodb_pid = ddb.process.pid
    return embedded


def client(service: str, endpoint: str, region: str) -> Any:
    """A boto3 client for an embedded service (dummy credentials, no retries to speak of)."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=2, read_timeout=30),
    )


def _name(
    settings: LocalSettings, logical_id: str, props: dict[str, Any], key: str, resolver: Resolver
) -> str:
    explicit = props.get(key)
    if explicit:
        return str(resolver.resolve(explicit))
    return f"{settings.stack_name}-{logical_id}"


def plan_attributes(  # noqa: PLR0912 - one branch per resource type reads best
    template: dict[str, Any], settings: LocalSettings, endpoints: Endpoints, resolver: Resolver
) -> dict[str, dict[str, str]]:
    """Local names, URLs and ARNs of every resource, before anything is created.

    ``resolver`` is the one that will later use these attributes; names given in the template
    (``TableName``, ``QueueName`` …) may themselves use parameters.
    """
    region = settings.region
    attributes: dict[str, dict[str, str]] = {}
    # Functions first: other resources' names may refer to them (a log group's "/aws/lambda/${Function}").
    planned = sorted(
        (template.get("Resources") or {}).items(),
        key=lambda entry: entry[1].get("Type") != "AWS::Serverless::Function",
    )
    for logical_id, resource in planned:
        kind = resource.get("Type", "")
        props = resource.get("Properties") or {}
        arn_prefix = f"arn:aws:{{}}:{region}:{ACCOUNT_ID}"
        if kind == TABLE_TYPE:
            name = _name(settings, logical_id, props, "TableName", resolver)
            arn = f"{arn_prefix.format('dynamodb')}:table/{name}"
            attributes[logical_id] = {"Ref": name, "Arn": arn, "StreamArn": f"{arn}/stream/local"}
        elif kind == QUEUE_TYPE:
            name = _name(settings, logical_id, props, "QueueName", resolver)
            if _truthy(props.get("FifoQueue")) and not name.endswith(".fifo"):
                name += ".fifo"
            url = f"{endpoints.aws}/{ACCOUNT_ID}/{name}"
            arn = f"{arn_prefix.format('sqs')}:{name}"
            attributes[logical_id] = {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}
        elif kind == SECRET_TYPE:
            name = _name(settings, logical_id, props, "Name", resolver)
            arn = f"{arn_prefix.format('secretsmanager')}:secret:{name}"
            attributes[logical_id] = {"Ref": arn, "Id": arn, "Name": name}
        elif kind == PARAMETER_TYPE:
            name = _name(settings, logical_id, props, "Name", resolver)
            attributes[logical_id] = {"Ref": name, "Type": str(props.get("Type", "String"))}
        elif kind == TOPIC_TYPE:
            name = _name(settings, logical_id, props, "TopicName", resolver)
            arn = f"{arn_prefix.format('sns')}:{name}"
            attributes[logical_id] = {"Ref": arn, "TopicArn": arn, "TopicName": name}
        elif kind == SCHEDULE_GROUP_TYPE:
            name = _name(settings, logical_id, props, "Name", resolver)
            attributes[logical_id] = {
                "Ref": name,
                "Arn": f"{arn_prefix.format('scheduler')}:schedule-group/{name}",
            }
        elif kind == "AWS::Serverless::Function":
            name = f"{settings.stack_name}-{logical_id}"
            attributes[logical_id] = {"Ref": name, "Arn": f"{arn_prefix.format('lambda')}:function:{name}"}
        elif kind == "AWS::KMS::Key":
            key_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{settings.stack_name}/{logical_id}"))
            attributes[logical_id] = {
                "Ref": key_id,
                "KeyId": key_id,
                "Arn": f"{arn_prefix.format('kms')}:key/{key_id}",
            }
        elif kind == EVENT_BUS_TYPE:
            name = _name(settings, logical_id, props, "Name", resolver)
            attributes[logical_id] = {
                "Ref": name,
                "Name": name,
                "Arn": f"{arn_prefix.format('events')}:event-bus/{name}",
            }
        elif kind == "AWS::Logs::LogGroup":
            name = _name(settings, logical_id, props, "LogGroupName", resolver)
            attributes[logical_id] = {"Ref": name, "Arn": f"{arn_prefix.format('logs')}:log-group:{name}:*"}
        elif kind == "AWS::Serverless::HttpApi":
            attributes[logical_id] = {"Ref": "local", "ApiEndpoint": settings.base_url}
        else:
            name = f"{settings.stack_name}-{logical_id}"
            attributes[logical_id] = {"Ref": name, "Arn": f"arn:aws:local:{region}:{ACCOUNT_ID}:{name}"}
        # Later resources' names may refer to this one (the resolver is the stack's, filled after).
        resolver.attributes.setdefault(logical_id, attributes[logical_id])
    return attributes


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() == "true" if not isinstance(value, bool) else value


def _included(resource: dict[str, Any], resolver: Resolver) -> bool:
    condition = resource.get("Condition")
    return not condition or resolver.condition(str(condition))


@dataclass
class Provisioned:
    """What provisioning created, for the banner and the consumers."""

    tables: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)  # logical id -> URL
    dead_letter_queues: dict[str, str] = field(default_factory=dict)  # DLQ logical id -> source logical id
    max_receive: dict[str, int] = field(default_factory=dict)  # source logical id -> maxReceiveCount
    secrets: dict[str, str] = field(default_factory=dict)  # logical id -> ARN


def _generated_secret(resource: dict[str, Any], generated: dict[str, str]) -> dict[str, str] | None:
    """The document of a secret the template generates, or None when it is not one."""
    spec = (resource.get("Properties") or {}).get("GenerateSecretString")
    if not isinstance(spec, dict) or not spec.get("GenerateStringKey"):
        return None
    try:
        document = json.loads(str(spec.get("SecretStringTemplate") or "{}"))
    except ValueError:
        document = {}
    key = str(spec["GenerateStringKey"])
    document = document if isinstance(document, dict) else {}
    document[key] = generated.get(key) or token_urlsafe(48)
    return {str(k): str(v) for k, v in document.items()}


def provision(
    template: dict[str, Any],
    settings: LocalSettings,
    endpoints: Endpoints,
    attributes: dict[str, dict[str, str]],
    resolver: Resolver,
    secret_values: dict[str, str],
    say: Callable[[str], None],
    generated: dict[str, str] | None = None,
) -> Provisioned:
    """Create every template resource the functions can reach. Updates ``attributes`` with real ARNs.

    A secret the template generates (``GenerateSecretString``) holds its template plus its generated
    key, valued from ``generated`` (random when absent); every other secret holds ``secret_values``.
    """
    result = Provisioned()
    resources = {k: v for k, v in (template.get("Resources") or {}).items() if _included(v, resolver)}

    def of_type(kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in resources.items() if v.get("Type") == kind}

    region = settings.region
    ddb = client("dynamodb", endpoints.dynamodb, region)
    for logical_id, resource in of_type(TABLE_TYPE).items():
        name = attributes[logical_id]["Ref"]
        _ensure_table(ddb, logical_id, resource, name, say)
        result.tables[logical_id] = name
    _create_queues(
        of_type(QUEUE_TYPE), client("sqs", endpoints.aws, region), settings, attributes, resolver, result
    )
    secrets = client("secretsmanager", endpoints.aws, region)
    for logical_id, resource in of_type(SECRET_TYPE).items():
        value = _generated_secret(resource, generated or {}) or secret_values
        arn = secrets.create_secret(Name=attributes[logical_id]["Name"], SecretString=json.dumps(value))[
            "ARN"
        ]
        attributes[logical_id].update(Ref=arn, Id=arn)
        result.secrets[logical_id] = arn
    ssm = client("ssm", endpoints.aws, region)
    for logical_id, resource in of_type(PARAMETER_TYPE).items():
        props = resource.get("Properties") or {}
        value = resolver.resolve_str(props.get("Value"), f"{logical_id}.Value")
        ssm.put_parameter(
            Name=attributes[logical_id]["Ref"],
            Value=value or " ",
            Type=str(props.get("Type", "String")),
            Overwrite=True,
        )
        attributes[logical_id]["Value"] = value
    sns = client("sns", endpoints.aws, region)
    for logical_id in of_type(TOPIC_TYPE):
        arn = sns.create_topic(Name=attributes[logical_id]["TopicName"])["TopicArn"]
        attributes[logical_id].update(Ref=arn, TopicArn=arn)
    scheduler = client("scheduler", endpoints.aws, region)
    for logical_id in of_type(SCHEDULE_GROUP_TYPE):
        with contextlib.suppress(Exception):  # moto may already know the group name
            scheduler.create_schedule_group(Name=attributes[logical_id]["Ref"])
    return result


def _create_queues(
    queues: dict[str, dict[str, Any]],
    sqs: Any,
    settings: LocalSettings,
    attributes: dict[str, dict[str, str]],
    resolver: Resolver,
    result: Provisioned,
) -> None:
    # Dead-letter targets first: a redrive policy names an existing queue's ARN.
    ordered = sorted(queues, key=lambda k: "RedrivePolicy" in (queues[k].get("Properties") or {}))
    for logical_id in ordered:
        props = queues[logical_id].get("Properties") or {}
        name = attributes[logical_id]["QueueName"]
        queue_attributes = _queue_attributes(props, settings, resolver)
        url = sqs.create_queue(QueueName=name, Attributes=queue_attributes)["QueueUrl"]
        attributes[logical_id].update(Ref=url, QueueUrl=url)
        result.queues[logical_id] = url
        redrive = resolver.resolve(props.get("RedrivePolicy"))
        if redrive:
            target = str(redrive.get("deadLetterTargetArn", ""))
            dlq = next((k for k in queues if attributes[k]["Arn"] == target), None)
            if dlq:
                result.dead_letter_queues[dlq] = logical_id
                result.max_receive[logical_id] = int(redrive.get("maxReceiveCount", 0))


def verify_senders(endpoints: Endpoints, region: str, senders: list[str]) -> None:
    """Verify each sender (``MAIL_FROM``) and its domain in SES, as a deployment would have done."""
    ses = client("ses", endpoints.aws, region)
    for sender in senders:
        address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
        if not address:
            continue
        ses.verify_email_identity(EmailAddress=address)
        if "@" in address:
            ses.verify_domain_identity(Domain=address.split("@", 1)[1])


def _queue_attributes(props: dict[str, Any], settings: LocalSettings, resolver: Resolver) -> dict[str, str]:
    names = (
        "FifoQueue",
        "ContentBasedDeduplication",
        "DeduplicationScope",
        "FifoThroughputLimit",
        "VisibilityTimeout",
        "MessageRetentionPeriod",
        "DelaySeconds",
        "MaximumMessageSize",
        "ReceiveMessageWaitTimeSeconds",
    )
    out: dict[str, str] = {}
    for name in names:
        if name in props:
            value = resolver.resolve(props[name])
            out[name] = str(value).lower() if isinstance(value, bool) else str(value)
    if settings.visibility_timeout is not None:
        out["VisibilityTimeout"] = str(settings.visibility_timeout)
    redrive = resolver.resolve(props.get("RedrivePolicy"))
    if redrive:
        out["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": redrive["deadLetterTargetArn"],
                "maxReceiveCount": int(redrive["maxReceiveCount"]),
            }
        )
    return out


def table_kwargs(resource: dict[str, Any], name: str) -> dict[str, Any]:
    """``CreateTable`` arguments of a table resource.

    Same result as :func:`infra.template.table_create_kwargs` (with ``stream=True``), which reads the project's own
    template; the stack may run another one (``CAREHOOKS_TEMPLATE``), so it works on the resource.
    """
    props = resource.get("Properties") or {}
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    for key in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
        if props.get(key):
            kwargs[key] = props[key]
    stream = stream_specification(resource)
    if stream:
        kwargs["StreamSpecification"] = stream
    return kwargs


def stream_specification(resource: dict[str, Any]) -> dict[str, Any] | None:
    """``StreamSpecification`` of a table resource for the DynamoDB API, or None when it has no stream."""
    spec = (resource.get("Properties") or {}).get("StreamSpecification") or {}
    view = spec.get("StreamViewType")
    return {"StreamEnabled": True, "StreamViewType": str(view)} if view else None


def _ensure_table(
    ddb: Any, logical_id: str, resource: dict[str, Any], name: str, say: Callable[[str], None]
) -> None:
    """Create the table if missing (with TTL); add GSIs the template gained since it was created."""
    wanted = table_kwargs(resource, name)
    try:
        existing = ddb.describe_table(TableName=name)["Table"]
    except ddb.exceptions.ResourceNotFoundException:
        ddb.create_table(**wanted)
        _wait_active(ddb, name)
        ttl = (resource.get("Properties") or {}).get("TimeToLiveSpecification") or {}
        attribute = ttl.get("AttributeName") if ttl.get("Enabled") else None
        if attribute:
            ddb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
            )
        say(f"created table {name}")
        return
    _ensure_stream(ddb, resource, name, existing, say)
    have = {i["IndexName"] for i in existing.get("GlobalSecondaryIndexes", [])}
    for index in wanted.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in have:
            continue
        say(f"adding index {index['IndexName']} to the existing table {name}")
        create = {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
        ddb.update_table(
            TableName=name,
            AttributeDefinitions=wanted["AttributeDefinitions"],
            GlobalSecondaryIndexUpdates=[{"Create": create}],
        )
        _wait_active(ddb, name)
    have_lsi = {i["IndexName"] for i in existing.get("LocalSecondaryIndexes", [])}
    missing_lsi = [
        i["IndexName"] for i in wanted.get("LocalSecondaryIndexes", []) if i["IndexName"] not in have_lsi
    ]
    if missing_lsi:
        say(
            f"WARNING: table {name} lacks local index(es) {', '.join(missing_lsi)}, which DynamoDB cannot add "
            "to an existing table: stop the stack and delete the data folder to recreate it"
        )


def _ensure_stream(
    ddb: Any, resource: dict[str, Any], name: str, existing: dict[str, Any], say: Callable[[str], None]
) -> None:
    """Turn on the stream the template gained since the local table was created (domain events)."""
    wanted = stream_specification(resource)
    have = existing.get("StreamSpecification") or {}
    if wanted is None or have.get("StreamEnabled"):
        return
    say(f"turning on the {wanted['StreamViewType']} stream of the existing table {name}")
    ddb.update_table(TableName=name, StreamSpecification=wanted)
    _wait_active(ddb, name)


def _wait_active(ddb: Any, name: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        table = ddb.describe_table(TableName=name)["Table"]
        statuses = [table["TableStatus"]] + [
            i.get("IndexStatus", "ACTIVE") for i in table.get("GlobalSecondaryIndexes", [])
        ]
        if all(s == "ACTIVE" for s in statuses):
            return
        time.sleep(0.1)
    raise RuntimeError(f"table {name} did not become ACTIVE")
