"""Foundation figures: the Meta webhook's in-process latency, cold imports, DynamoDB units per message.

Targets (issue 2): webhook p99 <= 5 ms in-process with SQS stubbed and <= 3x HMAC + json.loads alone;
cold import of the webhook handler <= 1.5x ``import boto3`` and <= 90 MB peak RSS; <= 4 write units and
0 scans per inbound text message.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "common"
SECRET = "bench_app_secret"
QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/inbound.fifo"
REQUESTS = 3000
WARMUP = 300
IMPORT_RUNS = 7


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(call: Callable[[], Any], runs: int, warmup: int) -> list[float]:
    """Per-call wall time in milliseconds."""
    for _ in range(warmup):
        call()
    out: list[float] = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        call()
        out.append((time.perf_counter_ns() - started) / 1e6)
    return out


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


# ---------------------------------------------------------------- 1. webhook in-process
@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null: the logger's handler holds the real stdout, not sys.stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


class _StubSqs:
    """SendMessageBatch that accepts everything at once (no network), like SQS on a good day."""

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Successful": [{"Id": e["Id"], "MessageId": e["Id"]} for e in Entries], "Failed": []}


def webhook_latency() -> None:
    os.environ.update(
        META_APP_SECRET=SECRET,
        INBOUND_QUEUE_URL=QUEUE_URL,
        AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "eu-west-1"),
        POWERTOOLS_TRACE_DISABLED="true",
    )
    os.environ.pop("CAREHOOKS_SECRET_ID", None)
    from carehooks.config.settings import settings
    from carehooks.ingress import queue
    from tests.helpers import FakeContext, event_bytes, http_event, load_handler, meta_signature

    settings.cache_clear()
    stub = _StubSqs()
    queue.sqs_client = lambda: stub  # type: ignore[assignment]  # the stubbed SQS client
    app = load_handler("meta_webhook")
    context = FakeContext()
    from carehooks.channels.meta.webhook import MetaReceiver
    from carehooks.ingress.queue import SqsEventQueue
    from carehooks.web.request import WebhookRequest

    receiver = MetaReceiver()
    events_queue = SqsEventQueue(QUEUE_URL)
    received_at = datetime.now(UTC)

    print(
        "1. Meta webhook, in-process per request (signature + split + enqueue; SQS stubbed; logs to /dev/null)"
    )
    print(
        f"   {'body':<28} {'median ms':>10} {'p99 ms':>9}   {'HMAC+json.loads median':>22} {'p99':>7}   ratio p99"
    )
    for label, path in (
        ("messenger text (1 event)", "meta/messenger_text.json"),
        ("batch (4 events)", "meta/batched.json"),
    ):
        raw = event_bytes(path)
        event = http_event(
            "POST",
            "/webhooks/meta",
            raw,
            {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(raw, SECRET)},
        )
        header = event["headers"]["x-hub-signature-256"][len("sha256=") :]
        key = SECRET.encode()

        def webhook_call(event: dict[str, Any] = event) -> None:
            response = app.handler(event, context)
            if response["statusCode"] != 200:
                raise RuntimeError(response)

        def baseline_call(raw: bytes = raw, header: str = header, key: bytes = key) -> None:
            hmac.compare_digest(hmac.new(key, raw, hashlib.sha256).hexdigest(), header)
            json.loads(raw)

        request = WebhookRequest.from_event(event)

        def core_call(request: WebhookRequest = request) -> None:
            receiver.verify(request)
            events_queue.send(receiver.split(request, received_at))

        with _quiet_stdout():
            full = timed(webhook_call, REQUESTS, WARMUP)
        core = timed(core_call, REQUESTS, WARMUP)
        base = timed(baseline_call, REQUESTS, WARMUP)
        p99, base_p99 = percentile(full, 0.99), percentile(base, 0.99)
        print(
            f"   {label:<28} {statistics.median(full):>10.3f} {p99:>9.3f}   {statistics.median(base):>22.4f} "
            f"{base_p99:>7.4f}   {p99 / base_p99:>6.1f}x"
        )
        print(
            f"   {'  of which verify+split+send':<28} {statistics.median(core):>10.3f} {percentile(core, 0.99):>9.3f}"
            f"   (the rest: handler decorators, one JSON log line, EMF metrics)"
        )
        if label.startswith("messenger"):
            print(
                f"   target p99 <= 5 ms: {verdict(p99 <= 5)}; target <= 3x HMAC+json.loads: {verdict(p99 <= 3 * base_p99)}"
            )


# ---------------------------------------------------------------- 2. cold imports
_PEAK = """
import resource
def _peak_kb():
    # VmHWM belongs to this program's own address space; ru_maxrss can carry the parent's over exec.
    try:
        with open("/proc/self/status") as status:
            return int(next(l.split()[1] for l in status if l.startswith("VmHWM:")))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""
_IMPORT_SNIPPET = (
    _PEAK
    + """
import importlib.util, json, sys, time
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
elapsed = time.perf_counter() - started
print(json.dumps({"import_s": elapsed, "rss_kb": _peak_kb(),
                  "boto3": "boto3" in sys.modules, "pydantic": "pydantic" in sys.modules}))
"""
)
_BOTO3_SNIPPET = (
    _PEAK
    + """
import json, time
started = time.perf_counter()
import boto3
print(json.dumps({"import_s": time.perf_counter() - started, "rss_kb": _peak_kb()}))
"""
)


def _lambda_like_env() -> dict[str, str]:
    # As in Lambda: the layer on the path, no test-only switches (tracing is not disabled).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "PYTHON"))}
    env.update(
        PYTHONPATH=str(LAYER),
        AWS_DEFAULT_REGION=env.get("AWS_DEFAULT_REGION", "eu-west-1"),
        PYTHONDONTWRITEBYTECODE="",
    )
    env["POWERTOOLS_SERVICE_NAME"] = "carehooks"
    return env


def _process(args: list[str]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=_lambda_like_env(), check=True
    )
    wall = time.perf_counter() - started
    return wall, json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}


def _median_runs(args: list[str]) -> tuple[float, float, float]:
    """(median whole-process seconds, median in-process import seconds, max peak RSS MB)."""
    _process(args)  # warm the page cache and __pycache__ once, as a deployed package would be
    walls, imports, rss = [], [], []
    for _ in range(IMPORT_RUNS):
        wall, data = _process(args)
        walls.append(wall)
        imports.append(float(data.get("import_s", 0.0)))
        rss.append(float(data.get("rss_kb", 0)) / 1024)
    return statistics.median(walls), statistics.median(imports), max(rss)


def cold_imports() -> None:
    print(
        f"\n2. Cold import in a fresh process (median of {IMPORT_RUNS} runs; python {sys.version.split()[0]})"
    )
    bare, _, bare_rss = _median_runs(["-c", _PEAK + "print('{\"rss_kb\": %d}' % _peak_kb())"])
    boto_wall, boto_import, boto_rss = _median_runs(["-c", _BOTO3_SNIPPET])
    print(f"   {'module':<34} {'process s':>10} {'import s':>9} {'x boto3':>8} {'peak RSS MB':>12}")
    print(f"   {'(python -c pass)':<34} {bare:>10.3f} {'':>9} {'':>8} {bare_rss:>12.1f}")
    print(f"   {'import boto3':<34} {boto_wall:>10.3f} {boto_import:>9.3f} {1.0:>7.2f}x {boto_rss:>12.1f}")
    webhook: tuple[float, float] | None = None
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        wall, imported, rss = _median_runs(["-c", _IMPORT_SNIPPET, str(app)])
        name = f"functions/{app.parent.name}/app.py"
        print(f"   {name:<34} {wall:>10.3f} {imported:>9.3f} {wall / boto_wall:>7.2f}x {rss:>12.1f}")
        if app.parent.name == "meta_webhook":
            webhook = (wall / boto_wall, rss)
    if webhook:
        print(
            f"   target meta_webhook <= 1.5x import boto3: {verdict(webhook[0] <= 1.5)}; "
            f"<= 90 MB peak RSS: {verdict(webhook[1] <= 90)}"
        )


# ---------------------------------------------------------------- 3. DynamoDB units
def _units(log: list[dict[str, Any]]) -> dict[str, Any]:
    writes = reads = 0.0
    by_part: dict[str, float] = {}
    scans = 0
    for call in log:
        is_write = call["operation"] in {
            "put_item",
            "update_item",
            "delete_item",
            "transact_write_items",
            "batch_write_item",
        }
        scans += call["operation"] == "scan"
        for consumed in call["consumed"]:
            if not consumed:
                continue
            units = float(consumed.get("CapacityUnits", 0.0))
            if is_write:
                writes += units
            else:
                reads += units
            if is_write:
                by_part["table"] = by_part.get("table", 0.0) + float(
                    consumed.get("Table", {}).get("CapacityUnits", 0.0)
                )
                for kind in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
                    for index, value in (consumed.get(kind) or {}).items():
                        by_part[index] = by_part.get(index, 0.0) + float(value.get("CapacityUnits", 0.0))
    return {
        "write": writes,
        "read": reads,
        "scans": scans,
        "parts": by_part,
        "calls": [c["operation"] for c in log],
    }


def local_dynamodb(endpoint: str, config: Any = None) -> Any:
    """A DynamoDB client on DynamoDB Local: loopback only, dummy credentials, never real AWS."""
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="eu-west-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=config,
    )


def dynamodb_units() -> None:
    from infra import dynamodb_local
    from infra.template import table_create_kwargs

    from carehooks.domain.models import Channel, Direction, MessageEvent
    from carehooks.inbound.processor import store_message
    from carehooks.wiring.store import make_store

    print("\n3. DynamoDB capacity per inbound message (DynamoDB Local, ReturnConsumedCapacity=INDEXES)")
    try:
        server = dynamodb_local.start()
    except dynamodb_local.DynamoDBLocalUnavailableError as exc:
        print(f"   skipped: {exc}")
        return
    try:
        client = local_dynamodb(server.endpoint)
        client.create_table(**table_create_kwargs("Table", "bench"))
        log: list[dict[str, Any]] = []
        store = make_store("bench", client=client, capacity_log=log)
        t0 = datetime(2025, 11, 22, 9, 0, tzinfo=UTC)
        window = timedelta(hours=24)

        def message(i: int, text: str = "where is my order? #1234") -> MessageEvent:
            return MessageEvent(
                channel=Channel.MESSENGER,
                account_id="112233445566778",
                contact_id="7318845612093471",
                platform_message_id=f"m_bench_{i}",
                sent_at=t0 + timedelta(minutes=i),
                direction=Direction.IN,
                text=text,
            )

        cases: list[tuple[str, Callable[[], Any]]] = [
            ("first text (new conversation)", lambda: store_message(store, message(0), t0, window)),
            (
                "next text (open conversation)",
                lambda: store_message(store, message(1), t0 + timedelta(minutes=1), window),
            ),
            (
                "redelivery of that text",
                lambda: store_message(store, message(1), t0 + timedelta(days=2), window),
            ),
        ]
        print(f"   {'case':<32} {'write':>6} {'read':>5} {'scans':>6}   calls; write units by part")
        figures = {}
        for label, run in cases:
            log.clear()
            run()
            got = _units(log)
            figures[label] = got
            parts = ", ".join(f"{k} {v:g}" for k, v in got["parts"].items() if v)
            print(
                f"   {label:<32} {got['write']:>6g} {got['read']:>5g} {got['scans']:>6}   {'+'.join(got['calls'])}; {parts or '-'}"
            )
        # Steady state: many texts into one open conversation.
        log.clear()
        count = 20
        for i in range(2, 2 + count):
            store_message(store, message(i), t0 + timedelta(minutes=i), window)
        steady = _units(log)
        print(
            f"   {'mean of ' + str(count) + ' more texts':<32} {steady['write'] / count:>6g} {steady['read'] / count:>5g} "
            f"{steady['scans']:>6}   table {steady['parts'].get('table', 0) / count:g} per message"
        )
        worst = max(f["write"] for f in figures.values())
        scans = sum(f["scans"] for f in figures.values()) + steady["scans"]
        print(
            f"   target <= 4 write units per inbound text: {verdict(worst <= 4)} (worst {worst:g}); 0 scans: {verdict(scans == 0)}"
        )
    finally:
        server.stop()


def main() -> None:
    print(__doc__.strip().splitlines()[0])
    webhook_latency()
    cold_imports()
    dynamodb_units()


if __name__ == "__main__":
    for path in (str(LAYER), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)
    main()
