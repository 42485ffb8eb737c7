"""Start, announce and stop the local stack (``make run`` = ``python -m infra.local``)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from infra.local import aws
from infra.local.apigw import Router
from infra.local.auth import LocalJwt
from infra.local.bus import LocalBus, bus_names
from infra.local.clock import Clock
from infra.local.conversations import ConversationReader
from infra.local.mail import MailFolder
from infra.local.model import TemplateModel, parameters
from infra.local.queues import DeadLetterWatch, FailureLog, QueueConsumer
from infra.local.resolver import Resolver
from infra.local.runtime import Runtime, function_environment
from infra.local.sandbox import Sandbox
from infra.local.schedules import Scheduler
from infra.local.server import LOCAL_ROUTES, StackParts, StackServer, serve
from infra.local.settings import (
    ERASURE_KEY_NAME,
    ROOT,
    SURVEY_KEY_NAME,
    LocalSettings,
    load,
    lookup,
    sandboxed,
    secret_values,
    survey_signing_key,
)
from infra.local.settings import erasure_key as local_erasure_key
from infra.local.streams import Checkpoints, StreamPoller, stream_pollers

LAYER = ROOT / "layers" / "common"


class Stack(StackParts):
    """Every part of the running stack (the HTTP handlers reach them through this)."""

    provisioned: aws.Provisioned
    secret: dict[str, str]
    senders: list[str]

    def __init__(self, settings: LocalSettings) -> None:
        self.settings = settings
        self._print_lock = threading.Lock()
        self.started = time.monotonic()
        self.embedded: aws.Embedded | None = None
        self.server: StackServer | None = None
        self.threads: list[threading.Thread] = []
        self.consumers: list[QueueConsumer] = []
        self.pollers: list[StreamPoller] = []

    def say(self, text: str) -> None:
        """One line of stack output (whole lines even when threads print at once)."""
        stamp = datetime.now().strftime("%H:%M:%S")
        with self._print_lock:
            print(f"{stamp} {text}", flush=True)

    # -- start --------------------------------------------------------------------------------
    def start(self) -> None:
        """Embedded AWS, then the template's resources and functions, then the servers and loops."""
        attributes = self._start_aws()
        self._build_parts(attributes)
        self._run_parts()
        self.banner()
        self.runtime.start()

    def _start_aws(self) -> dict[str, dict[str, str]]:
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        _check_port(settings)
        if str(LAYER) not in sys.path:
            sys.path.insert(0, str(LAYER))
        os.environ["CAREHOOKS_CLOCK_FILE"] = str(settings.clock_file)
        self.clock = Clock(settings.clock_file)
        _stop_stale_dynamodb(settings)
        self.embedded = aws.start_services(settings, self.say)
        if self.embedded.endpoints.dynamodb_kind == "DynamoDB Local":
            _remember_dynamodb(settings, self.embedded)
        endpoints = self.embedded.endpoints
        _remember_endpoints(settings, endpoints)

        from infra.template import load as load_template

        template = load_template(settings.template)
        overrides = {
            **LOCAL_PARAMETER_DEFAULTS,
            **{
                key.removeprefix("LOCAL_PARAM_"): value
                for key, value in os.environ.items()
                if key.startswith("LOCAL_PARAM_")
            },
        }
        attributes: dict[str, dict[str, str]] = {}
        resolver = Resolver(
            template,
            attributes,
            parameters(template, overrides),
            settings.region,
            settings.stack_name,
            self.say,
        )
        attributes.update(aws.plan_attributes(template, settings, endpoints, resolver))
        self.secret = secret_values(settings.base_url)
        # Survey links need a signing key: SURVEY_SIGNING_KEY, else one made on first start in .local/.
        signing_key = survey_signing_key(settings.survey_signing_key_file)
        self.survey_key_source = (
            SURVEY_KEY_NAME if lookup(SURVEY_KEY_NAME) else str(settings.survey_signing_key_file)
        )
        self.provisioned = aws.provision(
            template,
            settings,
            endpoints,
            attributes,
            resolver,
            self.secret,
            self.say,
            generated={
                SURVEY_KEY_NAME: signing_key,
                ERASURE_KEY_NAME: local_erasure_key(settings.data_dir / "erasure-key"),
            },
        )
        self.model = TemplateModel(template, resolver, settings.stack_name, settings.template.parent)
        # Domain events: the template's buses in moto, and what they receive in .local/events.jsonl.
        self.bus = LocalBus(
            aws.client("events", endpoints.aws, settings.region),
            aws.client("sqs", endpoints.aws, settings.region),
            settings.data_dir / "events.jsonl",
            settings.stack_name,
            self.say,
        )
        self.bus.provision(bus_names(template, attributes, resolver.condition))
        for warning in self.model.warnings:
            self.say(f"warning: {warning}")
        senders = {
            f.environment["MAIL_FROM"]
            for f in self.model.functions.values()
            if f.environment.get("MAIL_FROM")
        }
        aws.verify_senders(endpoints, settings.region, sorted(senders))
        self.senders = sorted(senders)
        return attributes

    def _build_parts(self, attributes: dict[str, dict[str, str]]) -> None:
        settings = self.settings
        assert self.embedded is not None
        endpoints = self.embedded.endpoints
        envs = {
            logical_id: function_environment(function, settings, endpoints, {})
            for logical_id, function in self.model.functions.items()
        }
        self.runtime = Runtime(self.model.functions, envs, settings, self.say)
        self.router = Router(self.model.routes())
        authorizers = [r.authorizer for r in self.model.routes() if r.authorizer is not None]
        self.jwt = LocalJwt(settings.jwt_secret_file, authorizers)
        self.sandbox = Sandbox(settings.outbox_file, self.clock.now, self.clock.iso, self.secret)
        self.mail = MailFolder(settings.mail_dir, settings.region, self.clock.now, self.clock.iso)
        failures = FailureLog()
        dlqs = {
            dlq: (attributes[dlq]["QueueName"], source)
            for dlq, source in self.provisioned.dead_letter_queues.items()
        }
        self.dlq = DeadLetterWatch(dlqs, settings.region, failures, self.say)
        table = next(iter(self.provisioned.tables.values()), "")
        self.conversations = ConversationReader(
            table, aws.client("dynamodb", endpoints.dynamodb, settings.region)
        )
        sqs = aws.client("sqs", endpoints.aws, settings.region)
        for source in self.model.queue_sources():
            if not source.enabled:
                continue
            self.consumers.append(
                QueueConsumer(
                    source,
                    self.provisioned.queues[source.queue],
                    attributes[source.queue]["Arn"],
                    self.runtime,
                    sqs,
                    settings.region,
                    failures,
                    self.say,
                )
            )
        self.pollers = stream_pollers(
            self.model.stream_sources(),
            self.provisioned.tables,
            self.provisioned.queues,
            aws.client("dynamodb", endpoints.dynamodb, settings.region),
            aws.client("dynamodbstreams", endpoints.dynamodb, settings.region),
            sqs,
            self.runtime,
            Checkpoints(settings.data_dir / "streams.json"),
            settings.region,
            self.say,
        )
        self.scheduler = Scheduler(
            self.model.schedules(),
            self.runtime,
            self.clock.now,
            settings.region,
            settings.stack_name,
            self.say,
            tick=settings.tick_seconds,
        )
        for problem in self.scheduler.problems:
            self.say(f"warning: schedule {problem}; it will not fire")

    def _run_parts(self) -> None:
        self.server, http_thread = serve(self)
        self.threads.append(http_thread)
        for consumer in self.consumers:
            consumer.start()
        for poller in self.pollers:
            poller.start()
        self.bus.start()
        for target, name in (
            (lambda: self.mail.watch(self.say), "mail"),
            (self.dlq.watch, "dlq"),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self.threads.append(thread)
        if self.settings.scheduler:
            thread = threading.Thread(target=self.scheduler.run, name="scheduler", daemon=True)
            thread.start()
            self.threads.append(thread)

    # -- banner -------------------------------------------------------------------------------
    def banner(self) -> None:
        """Every route, queue and schedule, where data, mail and outbox go, and how to get a token."""
        try:
            template = str(self.settings.template.relative_to(ROOT))
        except ValueError:
            template = str(self.settings.template)
        elapsed = time.monotonic() - self.started
        lines = [
            "",
            f"carehooks local stack: {len(self.model.functions)} functions from {template}, "
            f"ready in {elapsed:.1f} s",
            "",
            *self._banner_routes(),
            "",
            *self._banner_places(),
            "Ctrl-C stops everything.",
            "",
        ]
        with self._print_lock:
            print("\n".join(lines), flush=True)

    def _banner_routes(self) -> list[str]:
        lines = [f"HTTP API  {self.settings.base_url}"]
        for route in sorted(self.model.routes(), key=lambda r: (r.path, r.method)):
            auth = "  [JWT]" if route.authorizer else ""
            if route.unsupported_auth:
                auth = "  [401: auth not emulated]"
            lines.append(f"  {route.method:<6} {route.path:<36} {route.function}{auth}")
        sources = self.model.queue_sources()
        if sources:
            lines.append("Queues")
        for source in sources:
            name = source.queue
            dlq = next((d for d, src in self.provisioned.dead_letter_queues.items() if src == name), None)
            limit = self.provisioned.max_receive.get(name)
            extra = f"; DLQ {dlq} after {limit} receives" if dlq else "; no DLQ"
            partial = ", partial batch failures" if source.report_failures else ""
            state = "" if source.enabled else " (disabled)"
            lines.append(f"  {name} -> {source.function} (batch {source.batch_size}{partial}){extra}{state}")
        if sources and self.settings.visibility_timeout is not None:
            lines.append(
                f"  visibility timeout {self.settings.visibility_timeout} s (LOCAL_VISIBILITY_TIMEOUT)"
            )
        schedules = self.model.schedules()
        if schedules:
            lines.append("Schedules (on the shared clock)")
        for schedule in schedules:
            state = "" if schedule.enabled else "  (disabled: runs only via /_local/run)"
            lines.append(f"  {schedule.function + '.' + schedule.event:<36} {schedule.expression}{state}")
        for poller in self.pollers:
            lines.append(
                f"Stream    {poller.table_name} -> {poller.source.function} (batch {poller.source.batch_size}); "
                "events GET /_local/events"
            )
        lines.append("Local routes")
        lines.extend(f"  {method:<6} {path:<36} {what}" for method, path, what in LOCAL_ROUTES)
        return lines

    def _banner_places(self) -> list[str]:
        s = self.settings
        base = s.base_url
        assert self.embedded is not None
        endpoints = self.embedded.endpoints
        if endpoints.dynamodb_kind == "DynamoDB Local":
            data = f"Data      {s.dynamodb_dir} (DynamoDB Local, kept across restarts)"
        else:
            data = "Data      moto DynamoDB, in memory: LOST when the stack stops"
        senders = ", ".join(self.senders) or "-"
        sandboxes = ", ".join(sandboxed(self.secret, base)) or "none"
        offset = self.clock.offset.total_seconds()
        claims = '{"sub":"agent-1","email":"ada@example.com","name":"Ada"}'
        return [
            data,
            f"          queues, secret and sender in moto at {endpoints.aws} (recreated at each start)",
            f"Mail      {s.mail_dir}/*.eml  (GET /_local/mail); senders verified: {senders}",
            f"Outbox    {s.outbox_file}  (GET /_local/outbox); sandboxed: {sandboxes}",
            'DLQ       GET /_local/dlq; each arrival is printed as "DLQ ..."',
            f"Clock     {self.clock.iso(self.clock.now())} (offset {offset:+.0f} s); POST /_local/clock",
            f"Surveys   links signed with {self.survey_key_source} ({SURVEY_KEY_NAME} overrides the file)",
            f"Token     curl -s -X POST {base}/_local/token -d '{claims}'",
            f"Try       make replay EVENT=meta/messenger_text.json && curl -s {base}/_local/conversations",
        ]

    # -- stop ---------------------------------------------------------------------------------
    def stop(self) -> None:
        self.say("stopping ...")
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        for consumer in self.consumers:
            consumer.stop()
        for poller in self.pollers:
            poller.stop()
        for part in ("scheduler", "mail", "dlq", "bus"):
            thing: Any = getattr(self, part, None)
            if thing is not None:
                with contextlib.suppress(Exception):
                    thing.stop()
        if getattr(self, "runtime", None) is not None:
            self.runtime.stop()
        if getattr(self, "mail", None) is not None:
            with contextlib.suppress(Exception):
                self.mail.collect()
        if self.embedded is not None:
            self.embedded.stop()
            (self.settings.data_dir / "dynamodb.pid").unlink(missing_ok=True)
        self.say("stopped")


# Template parameters whose local value differs from the deployed default (LOCAL_PARAM_<Name> wins):
# the sandbox answers the profile API for free, so the local stack shows customers' names.
LOCAL_PARAMETER_DEFAULTS = {"FetchContactProfiles": "true"}


def _check_port(settings: LocalSettings) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.host, settings.port))
        except OSError as exc:
            raise SystemExit(
                f"port {settings.port} is in use (another `make run`?); choose another: PORT=3001 make run"
            ) from exc


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _remember_dynamodb(settings: LocalSettings, embedded: aws.Embedded) -> None:
    """Note this stack's and DynamoDB Local's pids, so a stack killed without cleanup can be tidied."""
    if embedded.dynamodb_pid:
        record = {"stack": os.getpid(), "dynamodb": embedded.dynamodb_pid}
        (settings.data_dir / "dynamodb.pid").write_text(json.dumps(record), encoding="utf-8")


def _remember_endpoints(settings: LocalSettings, endpoints: aws.Endpoints) -> None:
    """Write where the embedded services listen, for tools run beside the stack (``carehooks dlq --local``)."""
    record = {"aws": endpoints.aws, "dynamodb": endpoints.dynamodb, "region": settings.region}
    (settings.data_dir / "endpoints.json").write_text(json.dumps(record), encoding="utf-8")


def _stop_stale_dynamodb(settings: LocalSettings) -> None:
    """Refuse a data folder another running stack uses; end the DynamoDB Local a dead one left behind.

    Two DynamoDB Local processes on one folder would corrupt it. Only a process that is both
    DynamoDB Local and started on this very folder is ended.
    """
    pid_file = settings.data_dir / "dynamodb.pid"
    try:
        record = json.loads(pid_file.read_text(encoding="utf-8"))
        stack_pid, dynamodb_pid = int(record["stack"]), int(record["dynamodb"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return
    if stack_pid != os.getpid() and "infra.local" in _cmdline(stack_pid):
        raise SystemExit(
            f"another local stack (pid {stack_pid}) uses {settings.data_dir}: stop it first, "
            "or give this one its own folder with CAREHOOKS_LOCAL_DIR"
        )
    cmdline = _cmdline(dynamodb_pid)
    if "DynamoDBLocal" in cmdline and str(settings.dynamodb_dir) in cmdline:
        with contextlib.suppress(ProcessLookupError):
            os.kill(dynamodb_pid, signal.SIGTERM)
            for _ in range(50):
                time.sleep(0.1)
                if not Path(f"/proc/{dynamodb_pid}").exists():
                    break
    pid_file.unlink(missing_ok=True)


def main() -> int:
    """Run until Ctrl-C or SIGTERM, then stop every part (workers and DynamoDB Local included)."""
    settings = load()
    stack = Stack(settings)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        if stopping.is_set():  # a second Ctrl-C: leave now (the next start cleans up DynamoDB Local)
            os._exit(130)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        stack.start()
        while not stopping.wait(0.5):
            pass
    finally:
        stack.stop()
    return 0
