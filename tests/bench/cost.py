"""Cost per million inbound messages, and the fixed monthly cost apart: ``python -m tests.bench cost``.

A pure calculator. Its inputs are the figures a bench measures (``tests/bench/figures.json``, written by the
bench; the defaults below are the figures measured before the data model v2 work) and facts read from
``template.yaml`` (memory sizes, schedules, secrets, keys, alarms). Its prices are list prices, each with
its unit, a dated source and how far the source could be verified. Nothing here calls AWS.

``figures.json`` (every key optional; a key it does not know is an error, so a typo cannot pass unseen)::

    {
      "measured_on": "2026-12-08",                 # when (or where) the units were measured
      "units": {                                   # DynamoDB units per message, whole processor path
        "followup": {"wru": 16, "rru": 2.5},       #   a customer's 2nd, 3rd, ... text
        "new": {"wru": 42, "rru": 3},              #   a new conversation with its acknowledgement
        "reply": {"wru": 12, "rru": 5.5}           #   an agent reply
      },
      "new_share": 0.2,                            # share of inbound messages that open a conversation
      "replies_per_inbound": 0.5,                  # agent replies per inbound message
      "agent_reads_per_inbound": 1.0,              # agent API reads (open a conversation) per inbound
      "rru_per_agent_read": 4.0,
      "events_per_webhook_call": 1.0,              # platform batching: events per webhook request
      "records_per_batch": 1.0,                    # SQS records per processor invocation
      "duration_ms": {...},                        # Lambda billed duration per invocation or record
      "log_bytes": {...},                          # CloudWatch Logs bytes per invocation or record
      ...
      "measured": ["units", ...]                   # which keys were measured; every other is an estimate
    }

Keys starting with ``_`` are comments. :func:`figures_to_json` gives the whole document for the defaults.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FIGURES_FILE = HERE / "figures.json"
CHECKED = "checked 2026-12-05"
REGION = "us-east-1"
MILLION = 1_000_000
SECONDS_PER_MONTH = 30 * 24 * 3600  # a 30-day month
GIB = 1024**3  # AWS bills "GB" of logs and storage as 2^30 bytes
# Powertools Parameters caches the platform secret for 300 s (carehooks.config.settings.SECRET_CACHE_SECONDS);
# SQS reuses a data key for 300 s by default (the queues do not set KmsDataKeyReusePeriodSeconds).
CACHE_PERIODS_PER_MONTH = SECONDS_PER_MONTH // 300


# ---------------------------------------------------------------- prices
@dataclass(frozen=True)
class Price:
    """A list price: ``usd`` for every ``per`` units of ``unit``, in :data:`REGION`."""

    usd: float
    per: float
    unit: str
    source: str
    # "AWS page": the number is in the stored copy of the vendor's own page; "secondary": the number is in
    # a third-party page (the vendor's page renders it client-side); "unverified": from the vendor's page
    # as remembered, not found with the search tool.
    status: str

    def cost(self, quantity: float) -> float:
        return quantity / self.per * self.usd

    def label(self) -> str:
        per = "" if self.per == 1 else f"{self.per:,.0f} "
        amount = f"{self.usd:.10f}".rstrip("0") if self.usd < 0.001 else f"{self.usd:g}"
        return f"${amount} / {per}{self.unit}"


_DDB = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
PRICES: dict[str, Price] = {
    "dynamodb_wru": Price(
        0.625,
        MILLION,
        "write request units",
        f"{_DDB} (amount rendered client-side); $0.625 after the 2024-11-01 cut of 50 %: "
        f"https://airbyte.com/data-engineering-resources/dynamodb-pricing, {CHECKED}",
        "secondary",
    ),
    "dynamodb_rru": Price(
        0.125,
        MILLION,
        "read request units",
        f"{_DDB}; $0.125 after the 2024-11-01 cut: https://airbyte.com/data-engineering-resources/dynamodb-pricing, {CHECKED}",
        "secondary",
    ),
    "dynamodb_storage": Price(
        0.25,
        1,
        "GB-month stored (first 25 GB free)",
        f"https://aws.amazon.com/dynamodb/pricing/ ('prices start from $0.25 per GB-month'), {CHECKED}",
        "AWS page",
    ),
    "dynamodb_pitr": Price(
        0.20,
        1,
        "GB-month of continuous backup (PITR)",
        f"{_DDB}, {CHECKED}",
        "unverified",
    ),
    "lambda_arm_gb_s": Price(
        0.0000133334,
        1,
        "GB-second, arm64 (first tier)",
        f"https://aws.amazon.com/lambda/pricing/ (amount rendered client-side); arm64 rate 0.0000133334 in "
        f"https://app.unpkg.com/artillery@2.0.28/files/lib/platform/aws-lambda/prices.js, {CHECKED}",
        "secondary",
    ),
    "lambda_request": Price(
        0.20,
        MILLION,
        "requests",
        f"https://aws.amazon.com/lambda/pricing/ ('$0.20 per 1 million requests'), {CHECKED}",
        "AWS page",
    ),
    "sqs_fifo": Price(
        0.50,
        MILLION,
        "FIFO requests (each 64 KB chunk)",
        f"https://aws.amazon.com/sqs/pricing/; $0.50/M FIFO in https://cloudburn.io/blog/amazon-sqs-pricing, {CHECKED}",
        "secondary",
    ),
    "http_api": Price(
        1.00,
        MILLION,
        "HTTP API requests (first 300 M)",
        f"https://aws.amazon.com/api-gateway/pricing/; $1.00/M in https://amnic.com/blogs/aws-api-gateway-pricing, {CHECKED}",
        "secondary",
    ),
    "xray_recorded": Price(
        5.00,
        MILLION,
        "traces recorded (first 100,000 a month free)",
        f"https://aws.amazon.com/de/xray/pricing/ ('5 USD pro Million'), {CHECKED}",
        "AWS page",
    ),
    "xray_retrieved": Price(
        0.50,
        MILLION,
        "traces retrieved or scanned (first 1 M free)",
        f"https://aws.amazon.com/de/xray/pricing/ ('0,50 USD pro Million'), {CHECKED}",
        "AWS page",
    ),
    "logs_ingestion": Price(
        0.50,
        1,
        "GB ingested (Standard class; Lambda logs: first tier)",
        f"https://aws.amazon.com/cloudwatch/pricing/; $0.50/GB in https://c3x.dev/blog/cloudwatch-logs-cost-optimization, {CHECKED}",
        "secondary",
    ),
    "logs_storage": Price(
        0.03,
        1,
        "GB-month archived",
        f"https://aws.amazon.com/cloudwatch/pricing/; $0.03 in https://c3x.dev/blog/cloudwatch-logs-cost-optimization, {CHECKED}",
        "secondary",
    ),
    "custom_metric": Price(
        0.30,
        1,
        "custom metric-month (first 10,000; prorated by the hour)",
        f"https://aws.amazon.com/cloudwatch/pricing/, {CHECKED}",
        "unverified",
    ),
    "alarm": Price(
        0.10,
        1,
        "standard-resolution alarm-month",
        f"https://aws.amazon.com/cloudwatch/pricing/, {CHECKED}",
        "unverified",
    ),
    "scheduler": Price(
        1.00,
        MILLION,
        "scheduled invocations (first 14 M a month free)",
        f"https://aws.amazon.com/eventbridge/pricing/; $1.00/M in https://cloudburn.io/blog/amazon-eventbridge-pricing, {CHECKED}",
        "secondary",
    ),
    "ses": Price(
        0.10,
        1000,
        "emails",
        f"https://aws.amazon.com/ses/pricing/; $0.10/1,000 in https://www.acecloudinterviews.com/tutorials/aws/ses/, {CHECKED}",
        "secondary",
    ),
    "eventbridge_put": Price(
        1.00,
        MILLION,
        "custom events put (each 64 KB chunk)",
        f"https://aws.amazon.com/eventbridge/pricing/ ('$1.00/million custom events published'), {CHECKED}",
        "unverified",
    ),
    "s3_put": Price(
        0.005,
        1000,
        "PUT requests (S3 Standard)",
        f"https://aws.amazon.com/s3/pricing/ ('PUT, COPY, POST, LIST requests $0.005 per 1,000'), {CHECKED}",
        "unverified",
    ),
    "kms_key": Price(
        1.00,
        1,
        "customer-managed key-month",
        f"https://aws.amazon.com/kms/pricing/; $1.00 in https://www.wring.co/blog/aws-kms-pricing-guide, {CHECKED}",
        "secondary",
    ),
    "kms_request": Price(
        0.03,
        10_000,
        "KMS requests (first 20,000 free)",
        f"https://aws.amazon.com/kms/pricing/; $0.03/10,000 in https://www.wring.co/blog/aws-kms-pricing-guide, {CHECKED}",
        "secondary",
    ),
    "secret": Price(
        0.40,
        1,
        "secret-month",
        f"https://aws.amazon.com/secrets-manager/pricing/, {CHECKED} (the search found no copy with the amount)",
        "unverified",
    ),
    "secret_api": Price(
        0.05,
        10_000,
        "Secrets Manager API calls",
        f"https://aws.amazon.com/secrets-manager/pricing/, {CHECKED} (the search found no copy with the amount)",
        "unverified",
    ),
}


@dataclass(frozen=True)
class SeatPlan:
    vendor: str
    plan: str
    usd_per_agent_month: float  # billed annually
    source: str
    status: str


SEATS: tuple[SeatPlan, ...] = (
    SeatPlan("Zendesk", "Suite Team", 55, f"https://www.zendesk.com/pricing/, {CHECKED}", "unverified"),
    SeatPlan("Zendesk", "Suite Growth", 89, f"https://www.zendesk.com/pricing/, {CHECKED}", "unverified"),
    SeatPlan(
        "Freshdesk", "Growth", 15, f"https://www.freshworks.com/freshdesk/pricing/, {CHECKED}", "unverified"
    ),
    SeatPlan(
        "Freshdesk", "Pro", 49, f"https://www.freshworks.com/freshdesk/pricing/, {CHECKED}", "unverified"
    ),
    SeatPlan("Sprout Social", "Standard", 199, f"https://sproutsocial.com/pricing/, {CHECKED}", "unverified"),
    SeatPlan(
        "Sprout Social", "Professional", 299, f"https://sproutsocial.com/pricing/, {CHECKED}", "unverified"
    ),
)


# ---------------------------------------------------------------- inputs
@dataclass(frozen=True)
class Units:
    wru: float
    rru: float


@dataclass(frozen=True)
class Durations:
    """Billed Lambda milliseconds on AWS (estimates: in-process runs are far shorter than AWS round trips)."""

    webhook_call: float = 25  # verify + one SendMessageBatch round trip (~10-20 ms) + log and metrics
    processor_followup: float = 60  # per record: a handful of DynamoDB round trips
    processor_new: float = 400  # per record: the acknowledgement waits for the platform's send API
    agent_reply: float = 400  # the reply waits for the platform's send API
    agent_read: float = 40  # GET a conversation with its messages
    scheduled_run: float = 300  # one SLA / survey / health run with nothing much due


@dataclass(frozen=True)
class LogBytes:
    """CloudWatch Logs bytes. webhook_call is measured in-process (the "webhook accepted" line); the rest
    are estimated from the log statements on each path at the same ~400 bytes a Powertools JSON line."""

    invocation_overhead: float = (
        800  # Lambda's platform.start + platform.report JSON records and the EMF line
    )
    webhook_call: float = 380  # "webhook accepted"
    processor_followup: float = 900  # "message stored" + "rules decided"
    processor_new: float = 1700  # + "acknowledgement" + "message sent"
    agent_reply: float = 500  # "message sent"
    agent_read: float = 0  # no application line
    api_access: float = 260  # one HTTP API access-log line per request (its format in template.yaml)


@dataclass(frozen=True)
class Figures:
    measured_on: str = "issue 14, before data model v2"
    followup: Units = Units(16, 2.5)
    new: Units = Units(42, 3)
    reply: Units = Units(12, 5.5)
    new_share: float = 0.2  # a conversation of five customer messages
    replies_per_inbound: float = 0.5
    agent_reads_per_inbound: float = 1.0
    rru_per_agent_read: float = 4.0
    events_per_webhook_call: float = 1.0
    records_per_batch: float = 1.0  # conservative: at low traffic a FIFO batch holds one record
    duration_ms: Durations = Durations()
    log_bytes: LogBytes = LogBytes()
    ses_emails_per_inbound: float = 0.001  # SLA and low-CSAT emails, batched into digests
    storage_bytes_per_message: float = 2500  # message + its LSI copy + dedupe marker + conversation share
    monthly_messages: float = MILLION  # sets X-Ray's sampling (1 request a second per function, then 5 %)
    sqs_idle_pollers: float = 5  # Lambda's SQS pollers, each a 20 s long poll when the queue is empty
    warm_environments: float = 1  # per function: each refreshes the secret every 300 s
    sweep_rru_per_run: float = 2.5  # a scheduled run with nothing due (tests/bench/sla_bench.py: 1 item)
    # Issue 18: domain events (docs/events.md: ~2.5 per inbound message with replies and resolutions), the
    # stream records EventsFunction reads (message, conversation, claims, markers), and the raw archive.
    domain_events_per_inbound: float = 2.5
    stream_records_per_inbound: float = 4.5
    stream_records_per_invocation: float = 1.0  # conservative, as records_per_batch (up to 100 at volume)
    events_function_ms: float = 50
    archive_puts_per_inbound: float = 1.0  # one PUT per event (docs/archive.md: the cheapest deletable path)
    custom_metrics: float = 15  # EMF metric names sent in a typical hour (about 40 exist, most rare)
    measured: tuple[str, ...] = ("units", "log_bytes.webhook_call")

    @property
    def measured_keys(self) -> frozenset[str]:
        return frozenset(self.measured)


def load_figures(path: Path = FIGURES_FILE) -> Figures:
    """``figures.json`` over the defaults; a missing file means the defaults."""
    if not path.exists():
        return Figures()
    return figures_from(json.loads(path.read_text(encoding="utf-8")))


def figures_from(data: Mapping[str, Any]) -> Figures:
    base = Figures()
    known = {f.name for f in fields(Figures)} | {"units"}
    data = {k: v for k, v in data.items() if not k.startswith("_")}  # "_about" and the like: comments
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"figures.json: unknown keys {sorted(unknown)}")
    changes: dict[str, Any] = {}
    for case, units in (data.get("units") or {}).items():
        if case not in ("followup", "new", "reply"):
            raise ValueError(f"figures.json: unknown case {case!r} in units")
        changes[case] = Units(float(units["wru"]), float(units["rru"]))
    for name, value in data.items():
        if name == "units":
            continue
        if name == "duration_ms":
            changes[name] = replace(base.duration_ms, **{k: float(v) for k, v in value.items()})
        elif name == "log_bytes":
            changes[name] = replace(base.log_bytes, **{k: float(v) for k, v in value.items()})
        elif name == "measured":
            changes[name] = tuple(value)
        elif name == "measured_on":
            changes[name] = str(value)
        else:
            changes[name] = float(value)
    return replace(base, **changes)


def figures_to_json(figures: Figures) -> dict[str, Any]:
    """The document :func:`figures_from` reads back (what a bench writes after measuring)."""
    data = asdict(figures)
    data["units"] = {case: data.pop(case) for case in ("followup", "new", "reply")}
    data["measured"] = list(figures.measured)
    return data


def save_figures(figures: Figures, path: Path = FIGURES_FILE) -> None:
    """Write ``figures`` for the next ``python -m tests.bench cost``, keeping the file's comments.

    A bench that measured the units calls, for example,
    ``save_figures(replace(load_figures(), followup=Units(5, 2), measured_on="2026-12-08"))``.
    """
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    comments = {k: v for k, v in old.items() if k.startswith("_")}
    data = figures_to_json(figures)
    ordered = {
        "measured_on": data.pop("measured_on"),
        "units": data.pop("units"),
        "measured": data.pop("measured"),
    }
    path.write_text(json.dumps({**comments, **ordered, **data}, indent=2) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- facts from template.yaml
@dataclass(frozen=True)
class TemplateFacts:
    memory_mb: Mapping[str, int]
    schedules: Mapping[str, str]  # function -> ScheduleExpression
    secrets: int
    kms_keys: int
    alarms: int
    functions: tuple[str, ...]


def template_facts(template: Mapping[str, Any]) -> TemplateFacts:
    default_memory = int(template.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
    memory: dict[str, int] = {}
    schedules: dict[str, str] = {}
    counts = {"AWS::SecretsManager::Secret": 0, "AWS::KMS::Key": 0, "AWS::CloudWatch::Alarm": 0}
    for name, resource in template["Resources"].items():
        kind = resource["Type"]
        if kind in counts:
            counts[kind] += 1
        if kind != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties", {})
        memory[name] = int(props.get("MemorySize", default_memory))
        for event in (props.get("Events") or {}).values():
            if event.get("Type") in ("ScheduleV2", "Schedule"):
                schedules[name] = event["Properties"]["ScheduleExpression"]
    return TemplateFacts(
        memory_mb=memory,
        schedules=schedules,
        secrets=counts["AWS::SecretsManager::Secret"],
        kms_keys=counts["AWS::KMS::Key"],
        alarms=counts["AWS::CloudWatch::Alarm"],
        functions=tuple(memory),
    )


_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def runs_per_month(expression: str) -> float:
    """Invocations a month (30 days) of a ``rate(...)`` or a daily/weekly ``cron(...)`` expression."""
    rate = _RATE.fullmatch(expression)
    if rate:
        seconds = {"minute": 60, "hour": 3600, "day": 86400}[rate.group(2).rstrip("s")]
        return SECONDS_PER_MONTH / (int(rate.group(1)) * seconds)
    cron = re.fullmatch(r"cron\((.+)\)", expression)
    if cron:
        minute, hour, day_of_month, month, day_of_week, *_ = cron.group(1).split()
        if not (minute.isdigit() and hour.isdigit() and day_of_month in "?*" and month == "*"):
            raise ValueError(f"unsupported cron expression {expression!r}")
        days = 7 if day_of_week in ("*", "?") else len(day_of_week.split(","))
        if days < 7 and not all(d in _DAYS for d in day_of_week.split(",")):
            raise ValueError(f"unsupported day of week in {expression!r}")
        return days * 30 / 7
    raise ValueError(f"unsupported schedule expression {expression!r}")


# ---------------------------------------------------------------- the model
@dataclass(frozen=True)
class Line:
    service: str
    quantity: float
    unit: str
    price: str  # key of PRICES
    basis: str  # "measured", "estimate", "template" (counted in template.yaml)
    note: str = ""

    @property
    def usd(self) -> float:
        return PRICES[self.price].cost(self.quantity)


WEBHOOKS = ("MetaWebhookFunction", "XWebhookFunction", "TelegramWebhookFunction", "TwilioWebhookFunction")
PROCESSOR = "InboundProcessorFunction"
AGENT_API = "AgentApiFunction"


@dataclass(frozen=True)
class Traffic:
    """Per million inbound messages: what each part of the system is asked to do."""

    new: float
    followup: float
    replies: float
    reads: float
    webhook_calls: float
    processor_invocations: float

    @property
    def agent_requests(self) -> float:
        return self.replies + self.reads

    @property
    def http_requests(self) -> float:
        return self.webhook_calls + self.agent_requests


def traffic(f: Figures) -> Traffic:
    return Traffic(
        new=MILLION * f.new_share,
        followup=MILLION * (1 - f.new_share),
        replies=MILLION * f.replies_per_inbound,
        reads=MILLION * f.agent_reads_per_inbound,
        webhook_calls=MILLION / f.events_per_webhook_call,
        processor_invocations=MILLION / f.records_per_batch,
    )


def lambda_sampled_share(invocations_per_month: float) -> float:
    """Share of a function's invocations X-Ray records under Active tracing: Lambda samples the first
    request each second and 5 % of the rest, and this cannot be changed for Lambda (evenly spread traffic)."""
    per_second = invocations_per_month / SECONDS_PER_MONTH
    if per_second <= 1:
        return 1.0
    return (1 + 0.05 * (per_second - 1)) / per_second


def _gb_seconds(milliseconds: float, memory_mb: int) -> float:
    return milliseconds / 1000 * memory_mb / 1024


def per_million(f: Figures, facts: TemplateFacts, tracing: str = "PassThrough") -> list[Line]:
    """The lines that grow with traffic, for one million inbound messages."""
    t = traffic(f)
    d = f.duration_ms
    webhook_mb = max(facts.memory_mb[w] for w in WEBHOOKS if w in facts.memory_mb)
    writes = t.new * f.new.wru + t.followup * f.followup.wru + t.replies * f.reply.wru
    reads = t.new * f.new.rru + t.followup * f.followup.rru + t.replies * f.reply.rru
    # EventsFunction reads the table's stream (issue 18): its invocations and duration.
    events_invocations = MILLION * f.stream_records_per_inbound / f.stream_records_per_invocation
    events_mb = facts.memory_mb.get("EventsFunction", 256)
    invocations = t.webhook_calls + t.processor_invocations + t.agent_requests + events_invocations
    gb_seconds = _gb_seconds(events_invocations * f.events_function_ms, events_mb) + (
        _gb_seconds(t.webhook_calls * d.webhook_call, webhook_mb)
        + _gb_seconds(t.new * d.processor_new + t.followup * d.processor_followup, facts.memory_mb[PROCESSOR])
        + _gb_seconds(t.replies * d.agent_reply + t.reads * d.agent_read, facts.memory_mb[AGENT_API])
    )
    # One SendMessageBatch per webhook call; Lambda receives and deletes a batch at a time.
    sqs_requests = t.webhook_calls + 2 * t.processor_invocations
    units_basis = "measured" if "units" in f.measured_keys else "estimate"
    lines = [
        Line(
            "DynamoDB writes",
            writes,
            "WRU",
            "dynamodb_wru",
            units_basis,
            f"new {f.new.wru:g}, follow-up {f.followup.wru:g}, reply {f.reply.wru:g} WRU",
        ),
        Line(
            "DynamoDB reads (message path)",
            reads,
            "RRU",
            "dynamodb_rru",
            units_basis,
            f"new {f.new.rru:g}, follow-up {f.followup.rru:g}, reply {f.reply.rru:g} RRU",
        ),
        Line(
            "DynamoDB reads (agents opening conversations)",
            t.reads * f.rru_per_agent_read,
            "RRU",
            "dynamodb_rru",
            "estimate",
            f"{f.agent_reads_per_inbound:g} read per inbound x {f.rru_per_agent_read:g} RRU",
        ),
        Line(
            "Lambda requests",
            invocations,
            "requests",
            "lambda_request",
            "estimate",
            "webhook + processor + agent API + EventsFunction invocations",
        ),
        Line(
            "Lambda duration (arm64)",
            gb_seconds,
            "GB-s",
            "lambda_arm_gb_s",
            "estimate",
            "AWS durations estimated; memory from template.yaml",
        ),
        Line("SQS FIFO", sqs_requests, "requests", "sqs_fifo", "estimate", "send + receive + delete"),
        Line(
            "API Gateway HTTP API",
            t.http_requests,
            "requests",
            "http_api",
            "estimate",
            "webhooks + agent API",
        ),
        Line(
            "CloudWatch Logs ingestion",
            log_bytes(f) / GIB,
            "GB",
            "logs_ingestion",
            "estimate",
            "function logs, platform records, EMF, API access log",
        ),
        Line("SES", MILLION * f.ses_emails_per_inbound, "emails", "ses", "estimate", "SLA and CSAT alerts"),
        Line(
            "EventBridge PutEvents (domain events)",
            MILLION * f.domain_events_per_inbound,
            "events",
            "eventbridge_put",
            "estimate",
            f"{f.domain_events_per_inbound:g} events per inbound message (docs/events.md); the stream is free",
        ),
        Line(
            "S3 raw archive PUTs",
            MILLION * f.archive_puts_per_inbound,
            "PUT requests",
            "s3_put",
            "estimate",
            "one object per inbound event, SSE-KMS with a bucket key (docs/archive.md)",
        ),
    ]
    if tracing == "Active":
        lines.append(
            Line(
                "X-Ray traces (TracingMode=Active)",
                xray_traces(f),
                "traces",
                "xray_recorded",
                "estimate",
                "one trace per sampled invocation",
            )
        )
    elif tracing != "PassThrough":
        raise ValueError(f"unknown tracing mode {tracing!r}")
    return lines


def xray_traces(f: Figures) -> float:
    """Traces recorded per million inbound messages with Active tracing at ``f.monthly_messages``."""
    t = traffic(f)
    scale = f.monthly_messages / MILLION
    events = MILLION * f.stream_records_per_inbound / f.stream_records_per_invocation  # EventsFunction
    per_function = (t.webhook_calls, t.processor_invocations, t.agent_requests, events)
    return sum(n * lambda_sampled_share(n * scale) for n in per_function)


def log_bytes(f: Figures) -> float:
    """CloudWatch Logs bytes written per million inbound messages."""
    t = traffic(f)
    lb = f.log_bytes
    invocations = t.webhook_calls + t.processor_invocations + t.agent_requests
    return (
        invocations * lb.invocation_overhead
        + t.webhook_calls * lb.webhook_call
        + t.new * lb.processor_new
        + t.followup * lb.processor_followup
        + t.replies * lb.agent_reply
        + t.reads * lb.agent_read
        + t.http_requests * lb.api_access
    )


def storage_per_month_kept(f: Figures) -> list[Line]:
    """What a million messages add to the bill every month they are kept (not part of the per-million sum)."""
    gb = MILLION * f.storage_bytes_per_message / GIB
    return [
        Line(
            "DynamoDB storage",
            gb,
            "GB-month",
            "dynamodb_storage",
            "estimate",
            f"{f.storage_bytes_per_message:g} bytes a message",
        ),
        Line("DynamoDB point-in-time recovery", gb, "GB-month", "dynamodb_pitr", "estimate"),
        Line(
            "CloudWatch Logs storage",
            log_bytes(f) / GIB,
            "GB-month",
            "logs_storage",
            "estimate",
            "upper bound (billed compressed); function logs kept LogRetentionDays (default 90)",
        ),
    ]


def fixed_monthly(f: Figures, facts: TemplateFacts, tracing: str = "PassThrough") -> list[Line]:
    """What the deployment costs a month with no messages at all (steady trickle: warm functions)."""
    runs = {name: runs_per_month(expr) for name, expr in facts.schedules.items()}
    scheduled_runs = sum(runs.values())
    scheduled_gb_s = sum(
        _gb_seconds(n * f.duration_ms.scheduled_run, facts.memory_mb[name]) for name, n in runs.items()
    )
    environments = len(facts.functions) * f.warm_environments
    secret_reads = environments * CACHE_PERIODS_PER_MONTH
    # KMS: one Decrypt per secret read; DynamoDB's table key and SQS's data key are cached per caller for
    # about 5 minutes (webhook roles send, the processor's role receives).
    queue_principals = len(WEBHOOKS) + 1
    kms_requests = (
        secret_reads + environments * CACHE_PERIODS_PER_MONTH + queue_principals * CACHE_PERIODS_PER_MONTH
    )
    lines = [
        Line(
            "EventBridge Scheduler",
            scheduled_runs,
            "invocations",
            "scheduler",
            "template",
            ", ".join(f"{n}: {facts.schedules[n]}" for n in sorted(runs)),
        ),
        Line(
            "Lambda requests (scheduled functions)", scheduled_runs, "requests", "lambda_request", "template"
        ),
        Line(
            "Lambda duration (scheduled functions)",
            scheduled_gb_s,
            "GB-s",
            "lambda_arm_gb_s",
            "estimate",
            f"{f.duration_ms.scheduled_run:g} ms a run",
        ),
        Line(
            "DynamoDB reads (sweeps with nothing due)",
            scheduled_runs * f.sweep_rru_per_run,
            "RRU",
            "dynamodb_rru",
            "estimate",
        ),
        Line(
            "SQS FIFO (idle long polling)",
            f.sqs_idle_pollers * 3 * SECONDS_PER_MONTH / 60,
            "requests",
            "sqs_fifo",
            "estimate",
            f"{f.sqs_idle_pollers:g} pollers x 3 empty receives a minute",
        ),
        Line("KMS customer-managed keys", facts.kms_keys, "key-months", "kms_key", "template"),
        Line(
            "KMS requests",
            kms_requests,
            "requests",
            "kms_request",
            "estimate",
            "data keys cached 300 s; one Decrypt per secret read",
        ),
        Line("Secrets Manager secrets", facts.secrets, "secret-months", "secret", "template"),
        Line(
            "Secrets Manager API calls",
            secret_reads,
            "calls",
            "secret_api",
            "estimate",
            "one per warm environment every 300 s (Powertools cache)",
        ),
        Line("CloudWatch alarms", facts.alarms, "alarm-months", "alarm", "template"),
        Line(
            "CloudWatch custom metrics (EMF)", f.custom_metrics, "metric-months", "custom_metric", "estimate"
        ),
    ]
    if tracing == "Active":
        lines.append(
            Line(
                "X-Ray traces (TracingMode=Active), scheduled runs",
                scheduled_runs,
                "traces",
                "xray_recorded",
                "template",
            )
        )
    return lines


def total(lines: list[Line]) -> float:
    return sum(line.usd for line in lines)


def monthly_bill(f: Figures, facts: TemplateFacts, messages: float, tracing: str = "PassThrough") -> float:
    """List-price bill for a month of ``messages`` inbound messages (no free tiers), storage for one month."""
    at_volume = replace(f, monthly_messages=messages)
    variable = total(per_million(at_volume, facts, tracing)) + total(storage_per_month_kept(at_volume))
    return total(fixed_monthly(f, facts, tracing)) + variable * messages / MILLION


# ---------------------------------------------------------------- output
def _row(line: Line) -> str:
    price = PRICES[line.price]
    whole = line.quantity >= 100 or float(line.quantity).is_integer()
    quantity = f"{line.quantity:,.0f}" if whole else f"{line.quantity:,.2f}"
    return (
        f"| {line.service} | {quantity} {line.unit} | {price.label()} | ${line.usd:,.2f} | "
        f"{line.basis}{'; ' + line.note if line.note else ''} |"
    )


def render(f: Figures, facts: TemplateFacts) -> str:
    passthrough = per_million(f, facts, "PassThrough")
    active = per_million(f, facts, "Active")
    xray = [line for line in active if line.price == "xray_recorded"]
    out = [
        f"Cost per million inbound messages (list prices, {REGION}, no free tiers; "
        f"DynamoDB units: {f.measured_on}; mix: {f.new_share:.0%} new conversations, "
        f"{f.replies_per_inbound:g} agent replies and {f.agent_reads_per_inbound:g} agent reads per inbound message)",
        "",
        "| line | per million inbound | list price | $ per million | basis |",
        "|---|---|---|---|---|",
        *(_row(line) for line in passthrough),
        f"| **total, TracingMode=PassThrough (default)** | | | **${total(passthrough):,.2f}** | |",
        *(_row(line) for line in xray),
        f"| **total, TracingMode=Active** | | | **${total(active):,.2f}** | |",
        "",
        "X-Ray with TracingMode=Active, $ per million inbound messages by monthly volume (Lambda records the "
        "first request a second per function, then 5 %, and the rate cannot be configured for Lambda): "
        + ", ".join(
            f"{v:,} a month: ${PRICES['xray_recorded'].cost(xray_traces(replace(f, monthly_messages=v))):,.2f}"
            for v in (100_000, MILLION, 10 * MILLION, 100 * MILLION)
        ),
        "",
        "Kept data, per million messages and per month it is kept (not in the totals above):",
        "",
        "| line | per million inbound | list price | $ a month kept | basis |",
        "|---|---|---|---|---|",
        *(_row(line) for line in storage_per_month_kept(f)),
        "",
        "Fixed monthly cost (no messages; TracingMode=PassThrough):",
        "",
        "| line | a month | list price | $ a month | basis |",
        "|---|---|---|---|---|",
    ]
    fixed = fixed_monthly(f, facts)
    fixed_active = fixed_monthly(f, facts, "Active")
    out += [_row(line) for line in fixed]
    out += [f"| **total** | | | **${total(fixed):,.2f}** | |"]
    out += [_row(line) for line in fixed_active if line.price == "xray_recorded"]
    out += ["", "Compared with seat prices for 10 agents (a month, list, billed annually):", ""]
    volumes = (100_000, MILLION)
    out += [
        "| | " + " | ".join(f"{v:,} messages a month" for v in volumes) + " |",
        "|---|" + "---|" * len(volumes),
        "| carehooks, TracingMode=PassThrough | "
        + " | ".join(f"${monthly_bill(f, facts, v):,.2f}" for v in volumes)
        + " |",
        "| carehooks, TracingMode=Active | "
        + " | ".join(f"${monthly_bill(f, facts, v, 'Active'):,.2f}" for v in volumes)
        + " |",
    ]
    out += [
        f"| {s.vendor} {s.plan} (${s.usd_per_agent_month:g} an agent, {s.status}) | "
        + " | ".join(f"${10 * s.usd_per_agent_month:,.0f}" for _ in volumes)
        + " |"
        for s in SEATS
    ]
    out += ["", "Prices and sources:", "", "| price | list price | status | source |", "|---|---|---|---|"]
    out += [f"| {key} | {p.label()} | {p.status} | {p.source} |" for key, p in PRICES.items()]
    out += [
        f"| {s.vendor} {s.plan} | ${s.usd_per_agent_month:g} / agent-month | {s.status} | {s.source} |"
        for s in SEATS
    ]
    return "\n".join(out)


def main() -> None:
    from infra.template import load

    print(render(load_figures(), template_facts(load())))


if __name__ == "__main__":
    main()
