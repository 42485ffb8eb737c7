"""Faults everywhere, nothing lost, nothing duplicated: the whole inbound → ack → survey → SLA path under fire.

A few hundred customer messages over four channels (Telegram, Twilio SMS, Messenger, WhatsApp), with
redeliveries, are posted through the real webhook handlers by a "platform" that retries on 5xx; the real
InboundProcessorFunction handler then drains the FIFO queue in batches, honouring batchItemFailures and
the redrive policy (moto moves a record to the DLQ after ``maxReceiveCount`` receives), and the DLQ is
redriven until it is empty. Then, faults still on, half the conversations are resolved and
SurveyDispatchFunction, SlaMonitorFunction and AutomationFunction run every two minutes over four hours of
moved time (the unanswered conversations are auto-resolved after 3 h 30 min without messages, with a
closing message each, once). Last, EventsFunction publishes the table's stream (read as Lambda reads it)
while PutEvents throttles and refuses entries: every change is on the bus at least once, each with one id.

About 20% of every AWS call and every platform send fails (tests/faults.py: throttles, version races,
partial SQS batches, SES throttles, Secrets Manager outages, 429/5xx, connect and read timeouts), seeded
so the run is the same every time. The figures are printed (``pytest -s``) and checked.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest
from botocore.exceptions import BotoCoreError, ClientError

from carehooks import clock
from carehooks.domain.models import MessageEvent, QueuedEvent
from carehooks.inbound.parking import parse_queued
from carehooks.store import ConflictError, Store
from carehooks.store.items import DECISION_ATTRIBUTE, message_from_item
from carehooks.store.rules import settle_acks
from carehooks.wiring.store import get_store
from tests.channel_support import (
    TELEGRAM_BOT_TOKEN,
    TELEGRAM_SECRET,
    TWILIO_SID,
    TWILIO_TOKEN,
    configure_channels,
    point_platforms_at_stubs,
    twilio_signature,
)
from tests.faults import FaultInjector, PlatformLedger, platform_stubs
from tests.helpers import META_SECRET, FakeContext, http_event, load_handler, meta_signature
from tests.integration.conftest import Aws, lambda_record

pytestmark = pytest.mark.ddblocal

T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday, in business hours in London
SENDER = "carehooks@example.com"
SECRET_ID = "carehooks/test"
ARCHIVE_BUCKET = "carehooks-archive-faults"
PAGE_ID = "112233445566778"
PHONE_NUMBER_ID = "106540352242922"
TWILIO_NUMBER = "+15005550006"
CUSTOMERS_PER_CHANNEL = 10
MESSAGES_PER_CUSTOMER = 6
EVENT_BUS = "carehooks-faults-events"
REDELIVERED_EVERY = 4  # every 4th webhook is delivered twice (the platform did not see our 200)
PLATFORM_RETRIES = 30
MINUTES = 240
RUN_EVERY = 2

CONFIG = """
version: faults-1
defaults: {language: en}
acknowledgement:
  cooldown_hours: 12
  templates:
    default:
      in_hours: {en: "Thanks, we have your message and will get back to you shortly."}
      out_of_hours: {en: "Thanks, we have your message and will reply when we reopen."}
rules:
  - id: acknowledge-everyone
    when: {not: {tags: {equals: spam}}}
    then:
      - acknowledge: {template: default}
ops: {recipients: [ops@example.com]}
sla:
  link: "https://desk.example.com/c/{conversation_id}"
  policies:
    - id: everyone
      first_response: 1h
      escalations:
        - {after: 30m, recipients: [lead@example.com]}
        - {after: 2h, recipients: [head@example.com]}
surveys:
  delay_minutes: 30
  cooldown_days: 30
  link: {enabled: false}
automation:
  auto_resolve:
    open:
      - {after: 3h30m, message: "We are closing this conversation for now.", survey: false}
"""
CLOSING = "closing this conversation"

# What an unanswered conversation must be emailed about: (metric, rung), each exactly once.
LADDER = {
    ("first response", "Warnings"),
    ("first response", "Breaches"),
    ("first response", "Escalation 1"),
    ("first response", "Escalation 2"),
}


# -- the workload ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Webhook:
    """One webhook delivery a platform makes (the same body again is a redelivery)."""

    function: str
    path: str
    raw: bytes
    headers: dict[str, str]
    key: tuple[str, str]  # (channel, platform message id) of the message it carries
    customer: str  # the recipient id the platform's send API sees for this customer


def telegram(customer: int, n: int, at: datetime) -> Webhook:
    chat = 5_000_000 + customer
    body = {
        "update_id": 900_000 + customer * 100 + n,
        "message": {
            "date": int(at.timestamp()),
            "chat": {"id": chat, "type": "private", "first_name": f"Tg{customer}"},
            "message_id": 100 + n,
            "from": {"id": chat, "is_bot": False, "first_name": f"Tg{customer}", "language_code": "en"},
            "text": f"telegram customer {customer} message {n}",
        },
    }
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    return Webhook(
        "telegram_webhook", "/webhooks/telegram", raw, headers, ("telegram", f"{chat}:{100 + n}"), str(chat)
    )


def sms(customer: int, n: int, at: datetime) -> Webhook:
    from urllib.parse import urlencode

    sid = f"SM{customer:04d}{n:04d}" + "0" * 24
    phone = f"+1415555{customer:04d}"
    raw = urlencode(
        {
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "AccountSid": TWILIO_SID,
            "From": phone,
            "To": TWILIO_NUMBER,
            "Body": f"sms customer {customer} message {n}",
            "NumMedia": "0",
            "ApiVersion": "2010-04-01",
        }
    ).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(raw),
    }
    return Webhook("twilio_webhook", "/webhooks/twilio", raw, headers, ("sms", sid), phone)


def messenger(customer: int, n: int, at: datetime) -> Webhook:
    psid = f"73188456{customer:08d}"
    mid = f"m_fault_{customer}_{n}"
    ms = int(at.timestamp() * 1000)
    body = {
        "object": "page",
        "entry": [
            {
                "id": PAGE_ID,
                "time": ms,
                "messaging": [
                    {
                        "sender": {"id": psid},
                        "recipient": {"id": PAGE_ID},
                        "timestamp": ms,
                        "message": {"mid": mid, "text": f"messenger customer {customer} message {n}"},
                    }
                ],
            }
        ],
    }
    return _meta(body, ("messenger", mid), psid)


def whatsapp(customer: int, n: int, at: datetime) -> Webhook:
    wa_id = f"1650555{customer:04d}"
    wamid = f"wamid.FAULT{customer:04d}{n:04d}"
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            "contacts": [{"profile": {"name": f"Wa {customer}"}, "wa_id": wa_id}],
                            "messages": [
                                {
                                    "from": wa_id,
                                    "id": wamid,
                                    "timestamp": str(int(at.timestamp())),
                                    "type": "text",
                                    "text": {"body": f"whatsapp customer {customer} message {n}"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return _meta(body, ("whatsapp", wamid), wa_id)


def _meta(body: dict[str, Any], key: tuple[str, str], customer: str) -> Webhook:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(raw)}
    return Webhook("meta_webhook", "/webhooks/meta", raw, headers, key, customer)


CHANNELS: tuple[Callable[[int, int, datetime], Webhook], ...] = (telegram, sms, messenger, whatsapp)


def workload() -> list[Webhook]:
    """Every customer's messages, interleaved across customers, every 4th delivered twice."""
    deliveries: list[Webhook] = []
    for n in range(MESSAGES_PER_CUSTOMER):
        for customer in range(CUSTOMERS_PER_CHANNEL):
            for make in CHANNELS:
                at = T0 - timedelta(minutes=5) + timedelta(seconds=n * 30 + customer)
                hook = make(customer, n, at)
                deliveries.append(hook)
                if len(deliveries) % REDELIVERED_EVERY == 0:
                    deliveries.append(hook)
    return deliveries


# -- the harness -------------------------------------------------------------------------------------
@dataclass
class Figures:
    messages: int = 0
    webhook_deliveries: int = 0
    webhook_retries: int = 0
    processor_invocations: int = 0
    record_failures: int = 0
    dlq_first_pass: int = 0
    redrives: int = 0
    surveys_expected: int = 0
    sla_alerts_expected: int = 0
    sla_warnings_superseded: int = 0
    auto_resolved: int = 0
    scheduled_runs_failed: Counter[str] = field(default_factory=Counter)
    events_record_failures: int = 0
    duplicates: int = 0
    lost: int = 0

    def as_dict(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["scheduled_runs_failed"] = dict(self.scheduled_runs_failed)
        return data


@pytest.fixture
def faulty(
    aws: Aws, ddblocal: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Aws, FaultInjector, PlatformLedger]]:
    """SQS, SES and Secrets Manager under moto, the table on DynamoDB Local, faults on everything.

    The table lives on DynamoDB Local because moto's DynamoDB costs tens of milliseconds a call on a
    table of this size, and the run makes thousands; moto lets calls to that endpoint through.
    """
    from aws_lambda_powertools.utilities import parameters
    from infra.template import table_create_kwargs

    from carehooks.config import loader

    table = f"faults-{uuid.uuid4().hex[:8]}"
    dynamodb = boto3.client("dynamodb", endpoint_url=ddblocal)
    dynamodb.create_table(**table_create_kwargs("Table", table, stream=True))
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", ddblocal)
    monkeypatch.setenv("EVENT_BUS_NAME", EVENT_BUS)
    monkeypatch.setenv("TABLE_NAME", table)
    aws = replace(aws, dynamodb=dynamodb)

    configure_channels(monkeypatch)
    point_platforms_at_stubs(monkeypatch)
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("CAREHOOKS_CONFIG", str(config))
    monkeypatch.setenv("MAIL_FROM", SENDER)
    # The channels' secrets come from Secrets Manager (as deployed), so its outages are felt.
    secrets = {
        "META_APP_SECRET": META_SECRET,
        "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_BOT_TOKEN,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "META_ACCESS_TOKEN": "meta-token",
    }
    for name in secrets:
        monkeypatch.delenv(name, raising=False)
    secretsmanager = boto3.client("secretsmanager")
    secretsmanager.create_secret(Name=SECRET_ID, SecretString=json.dumps(secrets))
    monkeypatch.setenv("CAREHOOKS_SECRET_ID", SECRET_ID)
    ses = boto3.client("ses")
    ses.verify_email_identity(EmailAddress=SENDER)
    # The raw inbound archive (issue 18): a bucket under moto, its writes faulted too.
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket=ARCHIVE_BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    monkeypatch.setenv("ARCHIVE_BUCKET", ARCHIVE_BUCKET)
    monkeypatch.delenv("CAREHOOKS_ARCHIVE_DIR", raising=False)
    loader.reset()
    parameters.clear_caches()

    from carehooks.outbound import http

    waits: list[float] = []
    monkeypatch.setattr(http, "_sleep", waits.append)  # the platform client's back-off, without the wait
    monkeypatch.setattr("carehooks.events.publishing.BACKOFF_SECONDS", 0.0)
    monkeypatch.setattr("infra.local.streams.RETRY_WAIT", 0.0)
    injector = FaultInjector(seed=10, rate=0.2).install(monkeypatch)
    injector.exempt(aws.sqs, aws.dynamodb, secretsmanager, ses, s3)  # the harness's own clients
    ledger = PlatformLedger()
    with platform_stubs(injector, ledger):
        yield aws, injector, ledger
    loader.reset()
    parameters.clear_caches()
    dynamodb.delete_table(TableName=table)


def deliver_webhook(hook: Webhook, figures: Figures) -> None:
    """Post like a platform: retry on 5xx (and on our function failing) until it is accepted."""
    handler = load_handler(hook.function)
    for _attempt in range(PLATFORM_RETRIES):
        try:
            response = handler.handler(http_event("POST", hook.path, hook.raw, hook.headers), FakeContext())
            status = int(response["statusCode"])
        except Exception:  # the function failed: API Gateway answers 500
            status = 500
        if status < 500:
            assert status == 200, f"{hook.key}: {status} {response.get('body')}"
            return
        figures.webhook_retries += 1
    pytest.fail(f"{hook.key} was never accepted after {PLATFORM_RETRIES} deliveries")


def process_until_empty(aws: Aws, figures: Figures, max_rounds: int = 2000) -> None:
    """Lambda's SQS poller: batches of 10, delete what succeeded, failures visible again at once."""
    handler = load_handler("inbound_processor").handler
    for _ in range(max_rounds):
        got = aws.sqs.receive_message(
            QueueUrl=aws.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0
        ).get("Messages", [])
        if not got:
            return
        records = [lambda_record(m) for m in got]
        figures.processor_invocations += 1
        try:
            result = handler({"Records": records}, FakeContext())
            failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        except Exception:  # the invocation failed (Powertools raises when every record failed): all retried
            failed = {r["messageId"] for r in records}
        figures.record_failures += len(failed)
        done = [r for r in records if r["messageId"] not in failed]
        for start in range(0, len(done), 10):
            aws.sqs.delete_message_batch(
                QueueUrl=aws.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r["receiptHandle"]}
                    for i, r in enumerate(done[start : start + 10])
                ],
            )
    pytest.fail("the inbound queue never emptied")


def dlq_messages(aws: Aws) -> list[dict[str, Any]]:
    return aws.dead_letters()


def redrive(aws: Aws, parked: list[dict[str, Any]], round_no: int) -> None:
    """Move parked records back to the inbound queue (what the DLQ redrive does), in their order."""
    for message in parked:
        aws.sqs.send_message(
            QueueUrl=aws.queue_url,
            MessageBody=message["Body"],
            MessageGroupId=message["Attributes"]["MessageGroupId"],
            MessageDeduplicationId=f"{message['MessageId']}-redrive-{round_no}",
        )
        aws.sqs.delete_message(QueueUrl=aws.dlq_url, ReceiptHandle=message["ReceiptHandle"])


def retrying(action: Callable[[], Any], attempts: int = 20) -> Any:
    """What an agent (or its tool) does when the API answers 5xx: try again."""
    for _ in range(attempts - 1):
        try:
            return action()
        except (ClientError, BotoCoreError, ConflictError):
            continue
    return action()


def resolve(store: Store, conversation_id: str, at: datetime) -> None:
    def once() -> None:
        current = store.get_conversation(conversation_id)
        assert current is not None
        store.save_conversation(replace(current, status="resolved", resolved_at=at))

    with clock.frozen(at):
        retrying(once)


def run_scheduled(function: str, at: datetime, figures: Figures) -> None:
    with clock.frozen(at):
        try:
            result = load_handler(function).handler({}, FakeContext())
        except Exception:  # a failed run: the schedule runs it again next minute
            figures.scheduled_runs_failed[function] += 1
            return
    if function == "sla_monitor":
        # A warning due together with its breach (the runs before failed) is superseded, not emailed.
        figures.sla_warnings_superseded += int(result.get("superseded", 0))


# -- reading the outcome -----------------------------------------------------------------------------
def items(aws: Aws, prefix: str = "") -> list[dict[str, Any]]:
    """Every item of the table (tests only; the code never scans)."""
    table = get_store().table_name
    out: list[dict[str, Any]] = []
    for page in aws.dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        out.extend(i for i in page["Items"] if i["sk"]["S"].startswith(prefix))
    return out


def inbound_messages(aws: Aws) -> list[dict[str, Any]]:
    return [m for m in items(aws, "MSG#") if m["direction"]["S"] == "in"]


def sla_alerts_emailed() -> Counter[tuple[str, str, str]]:
    """(conversation id, metric, rung) of every alert row in every email moto's SES accepted."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    alerts: Counter[tuple[str, str, str]] = Counter()
    for sent in ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages:
        parsed = email.message_from_string(sent.raw_data, policy=email.policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        assert body is not None
        section = ""
        row: tuple[str, str] | None = None
        for line in body.get_content().splitlines():  # type: ignore[attr-defined]
            heading = re.match(r"^(WARNINGS|BREACHES|ESCALATIONS) \(\d+\)$", line)
            if heading:
                section = heading.group(1).capitalize()
            target = re.search(r"target .*? (first response|next response|resolution)(.*)$", line)
            if target:
                escalation = re.search(r"(Escalation \d+)", target.group(2))
                row = (target.group(1), escalation.group(1) if escalation else section)
            link = re.search(r"https://desk\.example\.com/c/(\w+)", line)
            if link and row is not None:
                alerts[(link.group(1), *row)] += 1
                row = None
    return alerts


def publish_the_stream(aws: Aws, injector: FaultInjector, figures: Figures) -> list[dict[str, Any]]:
    """EventsFunction on the table's stream (the local stack's poller, as Lambda reads a shard) with
    faults on PutEvents; what the bus received."""
    import tempfile

    from tests.events_support import BusSink, InProcessRuntime, drain, stream_poller

    sink = BusSink.create(EVENT_BUS)
    injector.exempt(sink.events, sink.sqs)
    runtime = InProcessRuntime()
    with tempfile.TemporaryDirectory() as folder:
        poller = stream_poller(aws.dynamodb, get_store().table_name, runtime, Path(folder) / "streams.json")
        injector.exempt(poller.streams)
        drain(poller, rounds=5000)
    assert poller.given_up == []  # no record needed the on-failure queue: retries were enough
    assert sum(n for kind, n in injector.faults.items() if kind.startswith("events.")) > 0
    figures.events_record_failures = runtime.failed_records
    return sink.collect()


def check_published(aws: Aws, events: list[dict[str, Any]], resolved: set[str], sla_alerts: int) -> None:
    """Nothing lost, nothing duplicated beyond at-least-once (the same id, the same detail)."""
    from tests.events_support import assert_valid

    details: dict[str, tuple[str, dict[str, Any]]] = {}
    for event in events:
        first = details.setdefault(event["detail"]["id"], (event["detail-type"], event["detail"]))
        if event["detail-type"].startswith("sla."):  # from its claim or its conversation (docs/events.md)
            assert _timeless(first[1]) == _timeless(event["detail"])
        else:
            assert first == (event["detail-type"], event["detail"])
    by_type: dict[str, list[dict[str, Any]]] = {}
    for kind, detail in details.values():
        by_type.setdefault(kind, []).append(detail)
    received = Counter((d["channel"], d["message_id"]) for d in by_type.get("message.received", []))
    stored = {(m["channel"]["S"], m["sk"]["S"].removeprefix("MSG#")) for m in inbound_messages(aws)}
    assert set(received) == stored
    assert max(received.values()) == 1  # one id per message
    sent = {d["message_id"] for d in by_type.get("message.sent", [])}
    stored_out = {
        m["sk"]["S"].removeprefix("MSG#") for m in items(aws, "MSG#") if m["direction"]["S"] == "out"
    }
    # Every stored outbound message is published (nothing lost). A sent message whose storage failed for
    # good is taken back after its item was already on the stream: its event stays out, the documented
    # at-least-once phantom (docs/events.md); there are only a few of them.
    assert stored_out <= sent
    assert len(sent - stored_out) <= 3, sorted(sent - stored_out)
    created = Counter(d["conversation_id"] for d in by_type.get("conversation.created", []))
    assert set(created) == {c["conv_id"]["S"] for c in items(aws, "CONV#")}
    assert max(created.values()) == 1
    assert {d["conversation_id"] for d in by_type.get("conversation.resolved", [])} == resolved
    sla = [d for kind, found in by_type.items() if kind.startswith("sla.") for d in found]
    assert len(sla) == sla_alerts
    for event in events[:: max(1, len(events) // 200)]:
        assert_valid(event)


def _timeless(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in detail.items() if k != "occurred_at"}


def archived_messages() -> Counter[tuple[str, str]]:
    """(channel, platform message id) of every message event in the archive bucket, with its count."""
    s3 = boto3.client("s3", region_name="eu-west-1")
    found: Counter[tuple[str, str]] = Counter()
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=ARCHIVE_BUCKET, Prefix="events/")
    for entry in (e for page in pages for e in page.get("Contents", [])):
        body = s3.get_object(Bucket=ARCHIVE_BUCKET, Key=entry["Key"])["Body"].read()
        for event in parse_queued(QueuedEvent.model_validate_json(body)):
            if isinstance(event, MessageEvent):
                found[(str(event.channel), event.platform_message_id)] += 1
    return found


# -- the test ----------------------------------------------------------------------------------------
def test_under_faults_every_message_is_stored_once_and_every_effect_happens_once(
    faulty: tuple[Aws, FaultInjector, PlatformLedger],
) -> None:
    report = run_under_faults(*faulty)
    assert report["lost"] == 0
    assert report["duplicates"] == 0
    assert report["faults"] > 0


def run_under_faults(aws: Aws, injector: FaultInjector, ledger: PlatformLedger) -> dict[str, Any]:
    """The whole run (see the module docstring); asserts as it goes and returns the figures."""
    figures = Figures()
    store = get_store()
    deliveries = workload()
    expected = {hook.key for hook in deliveries}
    customers = sorted({hook.customer for hook in deliveries})
    figures.messages = len(expected)
    figures.webhook_deliveries = len(deliveries)

    # Given every webhook delivered (retried by the platform on 5xx) with faults on every call
    with clock.frozen(T0):
        for hook in deliveries:
            deliver_webhook(hook, figures)
        # When the processor drains the queue, and the DLQ is redriven until it stays empty
        process_until_empty(aws, figures)
        figures.dlq_first_pass = len(parked := dlq_messages(aws))
        while parked:
            figures.redrives += 1
            # A record now makes more calls (archive PUT, volume counter, tombstone read), each failing 20% of
            # the time: a few records need more rounds; the bound still catches a record that never succeeds.
            assert figures.redrives <= 20, "the DLQ kept filling up"
            redrive(aws, parked, figures.redrives)
            process_until_empty(aws, figures)
            parked = dlq_messages(aws)

    # Then every message is stored exactly once, in one conversation per customer, counted once
    stored = Counter((m["channel"]["S"], m["sk"]["S"].removeprefix("MSG#")) for m in inbound_messages(aws))
    figures.duplicates = sum(n - 1 for n in stored.values() if n > 1)
    figures.lost = len(expected - set(stored))
    assert figures.lost == 0, sorted(expected - set(stored))[:5]
    assert figures.duplicates == 0
    assert set(stored) == expected
    conversations = items(aws, "CONV#")
    assert len(conversations) == len(customers)
    per_conversation = Counter(m["conversation_id"]["S"] for m in items(aws, "MSG#"))
    for conv in conversations:
        assert int(conv["message_count"]["N"]) == per_conversation[conv["conv_id"]["S"]], conv["conv_id"]
    # and every message's event is in the raw archive exactly once (one object per event)
    assert archived_messages() == Counter(dict.fromkeys(expected, 1))
    # and every customer got exactly one acknowledgement, none left pending
    acks = ledger.delivered(survey=False)
    assert {c: acks[c] for c in customers} == dict.fromkeys(customers, 1)
    assert sum(acks.values()) == len(customers)
    # (a sent acknowledgement's outcome is on its claim: the message is read settled, as the store reads it)
    claims = {c["pk"]["S"]: store.unmarshal(c) for c in items(aws, "CLAIM")}
    settled = settle_acks(
        [message_from_item(store.unmarshal(m)) for m in inbound_messages(aws)],
        lambda conversation_id: claims.get(f"CLAIM#ack#{conversation_id}"),
    )
    pending = [m for m in settled if "pending" in json.dumps(m.extra.get(DECISION_ATTRIBUTE, {}))]
    assert pending == []

    # Given half the conversations resolved by agents, the other half left unanswered
    by_customer = {c["contact_id"]["S"]: c["conv_id"]["S"] for c in conversations}
    resolved = {by_customer[c] for c in customers[::2]}
    unanswered = set(by_customer.values()) - resolved
    for conv_id in sorted(resolved):
        resolve(store, conv_id, T0 + timedelta(minutes=5))
    # When both scheduled functions run every two minutes for four hours, faults still on
    for minute in range(0, MINUTES + 1, RUN_EVERY):
        run_scheduled("survey_dispatch", T0 + timedelta(minutes=minute), figures)
        run_scheduled("sla_monitor", T0 + timedelta(minutes=minute), figures)
        run_scheduled("automation", T0 + timedelta(minutes=minute), figures)

    # Then every resolved conversation got exactly one survey, and no unanswered one did
    surveys = ledger.delivered(survey=True)
    recipient_of = {by_customer[c]: c for c in customers}
    figures.surveys_expected = len(resolved)
    assert {c: surveys[recipient_of[c]] for c in resolved} == dict.fromkeys(resolved, 1)
    assert sum(surveys.values()) == len(resolved)
    # and every rung of every unanswered conversation was emailed exactly once, none of a resolved one
    emailed = sla_alerts_emailed()
    expected_alerts = {(conv_id, *rung) for conv_id in unanswered for rung in LADDER}
    figures.sla_alerts_expected = len(expected_alerts)
    assert [alert for alert, n in emailed.items() if n > 1] == []
    # (a throttled read or claim is asked again within the run, so no warning waits until its breach)
    assert set(emailed) == expected_alerts
    assert figures.sla_warnings_superseded == 0
    # and every unanswered conversation was auto-resolved once, its customer closed with one message
    closing = Counter(r.recipient for r in ledger.requests if r.delivered and CLOSING in unquote_plus(r.body))
    assert {recipient_of[c]: closing[recipient_of[c]] for c in unanswered} == {
        recipient_of[c]: 1 for c in unanswered
    }
    assert sum(closing.values()) == len(unanswered)
    final = {c["conv_id"]["S"]: c["status"]["S"] for c in items(aws, "CONV#")}
    assert {c: final[c] for c in unanswered} == dict.fromkeys(unanswered, "resolved")
    resolves = Counter(
        e["conversation_id"]["S"]
        for e in items(aws, "EVT#")
        if e["action"]["S"] == "resolve" and e["actor"]["S"] == "carehooks"
    )
    assert resolves == Counter(dict.fromkeys(unanswered, 1))
    figures.auto_resolved = len(unanswered)

    # When EventsFunction reads the whole stream, PutEvents failing as often as everything else
    published = publish_the_stream(aws, injector, figures)
    # Then every change is on the bus (nothing lost), each with one id and one detail (at least once)
    # (resolved: by the agents above, and by AutomationFunction: the unanswered ones)
    check_published(aws, published, resolved | set(unanswered), len(expected_alerts))

    report = {
        **figures.as_dict(),
        **injector.figures(),
        "platform_requests": dict(ledger.outcomes()),
        "acks_delivered": sum(acks.values()),
        "surveys_delivered": sum(surveys.values()),
        "sla_alerts_emailed": sum(emailed.values()),
    }
    print("\nfault figures:", json.dumps(report, indent=2, sort_keys=True))
    assert injector.total_faults > 0
    return report
