"""Drive the local stack with signed webhooks from concurrent senders, then count what it stored.

Everything goes over HTTP on 127.0.0.1, as platforms and agents would: webhooks in, then the agent API
(a token from ``POST /_local/token``) to read back every conversation and its messages, and
``GET /_local/dlq`` for anything parked. Nothing reads the table or the queue directly.

Bounded in count and in time: one deadline covers starting the stack, sending and waiting; when it
passes, senders stop taking work, the wait ends, and the report says so.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import queue
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.e2e.harness import LocalStack
from tests.load.traffic import CHANNELS, Delivery, customer, delivery, plan

LOOPBACK = "127.0.0.1"
AGENT = {"sub": "load-observer", "email": "load@example.com", "name": "Load observer"}
RETRIES = 3  # per webhook, after a 5xx or a dropped connection
STALL_SECONDS = 60.0  # stop waiting when nothing new was stored for this long after the last send
SETTLE_SECONDS = 3.0  # after everything is seen: longer than a retried record's visibility timeout (2 s)


@dataclass(frozen=True)
class LoadConfig:
    messages: int = 2000
    senders: int = 20
    customers: int | None = None  # default: a quarter of the messages (at least one per channel)
    duplicate_rate: float = 0.10
    deadline_seconds: float = 600.0
    concurrency: int = 4  # execution environments per function in the stack (LOCAL_CONCURRENCY)
    seed: int = 10

    def customer_count(self) -> int:
        return self.customers or max(7, self.messages // 4)


@dataclass
class Report:
    messages: int = 0
    senders: int = 0
    customers: int = 0
    sent: int = 0  # webhooks answered (originals and redeliveries; a retried one counts once)
    retries: int = 0  # webhooks posted again after a 5xx or a dropped connection
    duplicates_sent: int = 0
    unique_stored: int = 0
    lost: int = 0
    duplicated: int = 0
    status_2xx: int = 0
    status_4xx: int = 0
    status_5xx: int = 0
    connection_errors: int = 0
    dead_lettered: int = 0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    send_seconds: float = 0.0
    requests_per_second: float = 0.0
    stored_seconds: float | None = None  # first send until the last message was seen stored
    stored_per_second: float = 0.0
    startup_seconds: float = 0.0
    warmup_sent: int = 0
    warmup_5xx: int = 0
    warmup_seconds: float = 0.0
    timed_out: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return (
            not self.timed_out
            and self.lost == 0
            and self.duplicated == 0
            and self.status_5xx == 0
            and self.connection_errors == 0
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}

    def text(self) -> str:
        stored = "never" if self.stored_seconds is None else f"{self.stored_seconds:.1f} s"
        rows = [
            ("messages (unique)", f"{self.messages} from {self.customers} customers, {self.senders} senders"),
            ("webhooks sent", f"{self.sent} ({self.duplicates_sent} redeliveries, {self.retries} retried)"),
            ("answers", f"2xx {self.status_2xx}, 4xx {self.status_4xx}, 5xx {self.status_5xx}"),
            ("connection errors", str(self.connection_errors)),
            ("stored (unique)", str(self.unique_stored)),
            ("lost", str(self.lost)),
            ("stored more than once", str(self.duplicated)),
            ("dead-lettered", str(self.dead_lettered)),
            (
                "webhook response time",
                f"p50 {self.p50_ms:.0f} ms, p90 {self.p90_ms:.0f} ms, p99 {self.p99_ms:.0f} ms, "
                f"max {self.max_ms:.0f} ms",
            ),
            ("sending", f"{self.send_seconds:.1f} s, {self.requests_per_second:.1f} webhooks/s"),
            ("first send -> last stored", f"{stored}, {self.stored_per_second:.1f} messages/s"),
            ("stack start", f"{self.startup_seconds:.1f} s"),
            (
                "warm-up (not measured)",
                f"{self.warmup_sent} webhooks, {self.warmup_5xx} 5xx, {self.warmup_seconds:.1f} s",
            ),
        ]
        width = max(len(k) for k, _ in rows)
        lines = [f"  {k:<{width}}  {v}" for k, v in rows]
        verdict = "PASS" if self.passed else "FAIL"
        lines.append(f"  {'result':<{width}}  {verdict}" + (" (deadline passed)" if self.timed_out else ""))
        lines += [f"  problem: {p}" for p in self.problems]
        return "\n".join(lines)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        return self.at - time.monotonic()

    def passed(self) -> bool:
        return self.left() <= 0


# ------------------------------------------------------------------------------------------ HTTP
class Client:
    """One keep-alive connection to the stack on the loopback interface."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.hostname != LOOPBACK:
            raise ValueError(f"the load only talks to {LOOPBACK}, not {parts.hostname}")
        self.port = parts.port or 80
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=self.timeout)
        try:
            self._conn.request(method, path, body=body, headers=headers or {})
            response = self._conn.getresponse()
            return response.status, response.read()
        except Exception:
            self.close()
            raise

    def json(self, method: str, path: str, payload: Any = None, token: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        status, raw = self.request(method, path, body, headers)
        return status, json.loads(raw) if raw else None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# ------------------------------------------------------------------------------------------ sending
@dataclass
class Sent:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    connection_errors: int = 0
    problems: list[str] = field(default_factory=list)
    numbers: set[int] = field(default_factory=set)  # messages answered at least once
    answered: int = 0  # deliveries answered (a retried one counts once)
    retries: int = 0
    first_at: float | None = None
    last_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, started: float, status: int, body: bytes, delivery: Delivery) -> None:
        ended = time.monotonic()
        with self.lock:
            self.first_at = started if self.first_at is None else min(self.first_at, started)
            self.last_at = ended if self.last_at is None else max(self.last_at, ended)
            self.latencies_ms.append((ended - started) * 1000)
            self.statuses[status] += 1
            self.numbers.add(delivery.n)
            if status >= 400 and len(self.problems) < 10:
                self.problems.append(
                    f"{delivery.customer.channel} #{delivery.n}: {status} {body[:200].decode(errors='replace')}"
                )


def send_all(base_url: str, deliveries: list[Delivery], senders: int, deadline: Deadline) -> Sent:
    """Post every delivery from ``senders`` threads, each on its own keep-alive connection."""
    work: queue.SimpleQueue[Delivery] = queue.SimpleQueue()
    for item in deliveries:
        work.put(item)
    sent = Sent()

    def sender() -> None:
        client = Client(base_url)
        try:
            while not deadline.passed():
                try:
                    item = work.get_nowait()
                except queue.Empty:
                    return
                # A dropped connection or a 5xx is retried, as every platform retries (and counted).
                for attempt in range(RETRIES + 1):
                    started = time.monotonic()
                    try:
                        status, body = client.request("POST", item.path, item.body, item.headers)
                    except (OSError, http.client.HTTPException):
                        with sent.lock:
                            sent.connection_errors += 1
                        time.sleep(0.2 * (attempt + 1))
                        continue
                    sent.record(started, status, body, item)
                    if status < 500 or deadline.passed() or attempt == RETRIES:
                        with sent.lock:
                            sent.answered += 1
                        break
                    with sent.lock:
                        sent.retries += 1
                    time.sleep(0.5 * (attempt + 1))
        finally:
            client.close()

    threads = [threading.Thread(target=sender, name=f"sender-{i}", daemon=True) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline.left()) + 35)
    return sent


# ------------------------------------------------------------------------------------------ observing
class Observer:
    """Reads back what the stack stored, through the agent API only."""

    def __init__(self, base_url: str, expected: dict[str, tuple[str, str]], workers: int = 4) -> None:
        # expected: message text -> (channel, contact)
        self.base_url = base_url
        self.expected = expected
        self.per_contact = Counter(expected.values())
        self.workers = workers
        self._local = threading.local()
        self._seen_counts: dict[str, int] = {}  # conversation id -> message_count at its last read
        self._texts: dict[str, list[str]] = {}  # conversation id -> inbound texts of this run
        self.token = self._token()

    def _client(self) -> Client:
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            client = Client(self.base_url)
            self._local.client = client
        return client

    def _token(self) -> str:
        status, body = Client(self.base_url).json("POST", "/_local/token", AGENT)
        if status != 200:
            raise RuntimeError(f"POST /_local/token answered {status}: {body}")
        return str(body["token"])

    def _get(self, path: str) -> Any:
        for attempt in range(3):
            try:
                status, body = self._client().json("GET", path, token=self.token)
            except (OSError, http.client.HTTPException, ValueError):
                time.sleep(0.2 * (attempt + 1))
                continue
            if status == 200:
                return body
            time.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"GET {path} kept failing")

    def conversations(self) -> Iterator[dict[str, Any]]:
        """Every conversation, page by page (``next`` until null)."""
        cursor: str | None = None
        while True:
            query = {"limit": "100", **({"cursor": cursor} if cursor else {})}
            page = self._get(f"/api/conversations?{urlencode(query)}")
            yield from page["items"]
            cursor = page.get("next")
            if not cursor:
                return

    def _read(self, conversation_id: str) -> tuple[str, list[str]]:
        detail = self._get(f"/api/conversations/{conversation_id}")
        texts = [
            m["text"] for m in detail["messages"] if m["direction"] == "in" and m["text"] in self.expected
        ]
        return conversation_id, texts

    def poll(self, everything: bool = False) -> None:
        """Read the conversations that may hold new messages (or, with ``everything``, all of them).

        A conversation is read once its message count reaches what its customer sent (messages out,
        such as acknowledgements, only add to the count) and again whenever the count changes.
        """
        listed = {c["id"]: c for c in self.conversations()}
        if everything:
            listed.update({c["id"]: c for c in self.conversations()})  # an update may reorder a page
        wanted = []
        for conversation_id, conv in listed.items():
            count = int(conv.get("message_count", 0))
            key = (conv["channel"], conv["contact_id"])
            if key not in self.per_contact:
                continue
            changed = self._seen_counts.get(conversation_id) != count
            if everything or (changed and count >= self.per_contact[key]):
                wanted.append((conversation_id, count))
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for conversation_id, texts in pool.map(self._read, [c for c, _ in wanted]):
                self._texts[conversation_id] = texts
        for conversation_id, count in wanted:
            self._seen_counts[conversation_id] = count

    def tally(self) -> tuple[int, int]:
        """(unique messages of this run stored, extra copies stored)."""
        counts = Counter(t for texts in self._texts.values() for t in texts)
        return len(counts), sum(n - 1 for n in counts.values())

    def dead_lettered(self) -> int:
        status, body = self._client().json("GET", "/_local/dlq")
        return len(body["items"]) if status == 200 else -1


def wait_until_stored(observer: Observer, deadline: Deadline) -> float | None:
    """Poll with backoff until every unique message is seen; the monotonic time it was, or None.

    None when the deadline passes, or when nothing new was stored for :data:`STALL_SECONDS` (what is
    missing then is lost, not late).
    """
    delay = 0.5
    last_unique = -1
    progress_at = time.monotonic()
    while True:
        observer.poll()
        unique, _ = observer.tally()
        if unique >= len(observer.expected):
            return time.monotonic()
        if unique > last_unique:
            delay, progress_at = 0.5, time.monotonic()
        else:
            delay = min(delay * 1.5, 4.0)
        last_unique = unique
        if deadline.left() < delay or time.monotonic() - progress_at > STALL_SECONDS:
            return None
        time.sleep(delay)


# ------------------------------------------------------------------------------------------ the run
def warm_up(base_url: str, config: LoadConfig, run_id: str, deadline: Deadline, report: Report) -> None:
    """Bring every webhook function and the processor to their warm environments before measuring.

    One message per execution environment of every channel, from customers of its own, until
    stored. Cold starts on a shared two-core machine take seconds each (imports, first clients, the
    secret) and are not the steady state the figures describe; they are reported on their own line.
    """
    started = time.monotonic()
    people = [customer(config.customer_count() + i) for i in range(len(CHANNELS) * config.concurrency)]
    now_ms = int(time.time() * 1000)
    deliveries = [
        delivery(1_000_000 + i, people[i % len(people)], f"warm{run_id}", base_url, now_ms + i)
        for i in range(len(people))
    ]
    sent = send_all(base_url, deliveries, min(config.senders, len(people)), deadline)
    report.warmup_sent = sent.answered
    report.warmup_5xx = sum(n for s, n in sent.statuses.items() if s >= 500)
    observer = Observer(base_url, {d.text: (d.customer.channel, d.customer.contact) for d in deliveries})
    if wait_until_stored(observer, deadline) is None:
        report.problems.append(f"the warm-up stored {observer.tally()[0]} of {len(deliveries)} messages")
    report.warmup_seconds = time.monotonic() - started


def run_against(base_url: str, config: LoadConfig, deadline: Deadline, report: Report) -> Report:
    """Send the load to the stack at ``base_url`` (loopback) and fill ``report``."""
    customers = config.customer_count()
    run_id = uuid.uuid4().hex[:8]
    deliveries = plan(
        config.messages, customers, config.duplicate_rate, config.senders, run_id, base_url, config.seed
    )
    expected = {}
    for d in deliveries:
        expected[d.text] = (d.customer.channel, d.customer.contact)
    report.messages, report.senders, report.customers = config.messages, config.senders, customers
    warm_up(base_url, config, run_id, deadline, report)
    observer = Observer(base_url, expected)

    sent = send_all(base_url, deliveries, config.senders, deadline)
    report.sent = sent.answered
    report.retries = sent.retries
    report.duplicates_sent = report.sent - len(sent.numbers)
    report.status_2xx = sum(n for s, n in sent.statuses.items() if 200 <= s < 300)
    report.status_4xx = sum(n for s, n in sent.statuses.items() if 400 <= s < 500)
    report.status_5xx = sum(n for s, n in sent.statuses.items() if s >= 500)
    report.connection_errors = sent.connection_errors
    report.problems += sent.problems
    report.p50_ms = percentile(sent.latencies_ms, 50)
    report.p90_ms = percentile(sent.latencies_ms, 90)
    report.p99_ms = percentile(sent.latencies_ms, 99)
    report.max_ms = max(sent.latencies_ms, default=0.0)
    if sent.first_at is not None and sent.last_at is not None:
        report.send_seconds = sent.last_at - sent.first_at
        report.requests_per_second = report.sent / report.send_seconds if report.send_seconds else 0.0
    if report.sent < len(deliveries):
        report.timed_out = True
        report.problems.append(f"the deadline passed after {report.sent} of {len(deliveries)} webhooks")

    done_at = wait_until_stored(observer, deadline) if not deadline.passed() else None
    if done_at is None:
        report.timed_out = True
    elif sent.first_at is not None:
        report.stored_seconds = done_at - sent.first_at
        report.stored_per_second = config.messages / report.stored_seconds if report.stored_seconds else 0.0
    # Redeliveries still in the queue, or retried records, could store a second copy: wait, read all
    # (past the deadline, the counts of the last poll stand).
    if not deadline.passed():
        time.sleep(min(SETTLE_SECONDS, max(0.0, deadline.left())))
        with contextlib.suppress(RuntimeError):
            observer.poll(everything=True)
    report.unique_stored, report.duplicated = observer.tally()
    report.lost = config.messages - report.unique_stored
    report.dead_lettered = observer.dead_lettered()
    if report.dead_lettered:
        report.problems.append(f"{report.dead_lettered} records in the dead-letter queue (GET /_local/dlq)")
    return report


def run_load(config: LoadConfig, keep: Path | None = None) -> tuple[Report, LocalStack]:
    """Start a stack with its own data folder on a free loopback port, run the load, stop the stack."""
    deadline = Deadline(config.deadline_seconds)
    report = Report()
    with contextlib.ExitStack() as cleanup:
        base = keep or Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="carehooks-load-")))
        stack = LocalStack(
            base / "local",
            env={"LOCAL_CONCURRENCY": str(config.concurrency)},
        )
        started = time.monotonic()
        stack.start()
        report.startup_seconds = time.monotonic() - started
        try:
            run_against(stack.url, config, deadline, report)
        except Exception as exc:
            report.problems.append(f"the load stopped: {exc!r}")
            report.timed_out = report.timed_out or deadline.passed()
            report.lost = report.lost or report.messages - report.unique_stored
        finally:
            code = stack.stop()
            if code != 0:
                report.problems.append(f"the stack exited with {code}")
            if not report.passed:
                report.problems.append(f"stack log (last lines):\n{stack.log_tail(60)}")
    return report, stack
