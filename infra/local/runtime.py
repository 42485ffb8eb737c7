"""Run functions like Lambda does: one process per concurrent execution environment.

Why processes and not the stack's own interpreter: each function has its own environment variables,
and the shared package caches what it reads from them (``settings()``, clients, the store) for the
life of the process, exactly as Lambda allows. Swapping ``os.environ`` around in-process calls would
hand one function another's cached settings; a lock would also serialize every function behind the
slowest. A worker process per environment keeps each function's module state and variables its own,
lets functions run in parallel on several cores, and lets the stack enforce the template's
``Timeout`` by ending the process, as Lambda ends a sandbox. Workers are started on first use (a cold
start, reported as such) or ahead of time (``LOCAL_PREWARM``), kept warm, and replaced when the code
under ``functions/`` or ``layers/`` changes (``LOCAL_RELOAD``).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.local import worker as worker_protocol
from infra.local.aws import DUMMY_CREDENTIALS, Endpoints
from infra.local.model import Function
from infra.local.resolver import ACCOUNT_ID
from infra.local.settings import ROOT, LocalSettings, lookup

WORKER = Path(worker_protocol.__file__).resolve()
INIT_TIMEOUT = 30.0
# Variables of the developer's shell a function still needs; the rest of the shell stays out, as in
# Lambda (so no AWS_PROFILE or real credentials can reach a function).
BASE_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


class InvocationTimeoutError(RuntimeError):
    pass


class WorkerCrashedError(RuntimeError):
    pass


@dataclass
class Invocation:
    """The outcome of one invocation."""

    function: str
    request_id: str
    ok: bool
    result: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    init_ms: float | None = None

    @property
    def error_text(self) -> str:
        if not self.error:
            return ""
        first_line = str(self.error.get("errorMessage", "")).strip().splitlines()[:1]
        return f"{self.error.get('errorType', 'Error')}: {''.join(first_line)[:300]}"


def function_environment(
    function: Function, settings: LocalSettings, endpoints: Endpoints, extra: dict[str, str]
) -> dict[str, str]:
    """The variables a function sees: Lambda's own, the local endpoints, then the template's."""
    env = {name: os.environ[name] for name in BASE_VARIABLES if name in os.environ}
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_REGION": settings.region,
            "AWS_DEFAULT_REGION": settings.region,
            "AWS_ENDPOINT_URL": endpoints.aws,
            "AWS_ENDPOINT_URL_DYNAMODB": endpoints.dynamodb,
            "AWS_EC2_METADATA_DISABLED": "true",
            "LAMBDA_TASK_ROOT": str(function.code_dir),
            "_HANDLER": function.handler,
            "TZ": "UTC",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            # No X-Ray daemon locally; the Tracer would only warn.
            "POWERTOOLS_TRACE_DISABLED": "true",
            "CAREHOOKS_CLOCK_FILE": str(settings.clock_file),
            # The raw inbound archive (issue 18): a directory instead of the bucket.
            "CAREHOOKS_ARCHIVE_DIR": str(settings.data_dir / "archive"),
            **DUMMY_CREDENTIALS,
        }
    )
    for name in settings.passthrough:
        value = lookup(name)
        if value:
            # A relative path names a file from where the stack was started; functions run elsewhere.
            if name == "CAREHOOKS_CONFIG" and not os.path.isabs(value) and os.path.exists(value):
                value = os.path.abspath(value)
            env[name] = value
    env.update(extra)
    env.update(function.environment)
    return env


class Worker:
    """One execution environment (a child process) of one function."""

    def __init__(self, function: Function, env: dict[str, str], generation: int) -> None:
        self.function = function
        self.generation = generation
        request_read, self._request_write = os.pipe()
        self._response_read, response_write = os.pipe()
        args = [
            sys.executable,
            "-P",
            str(WORKER),
            str(response_write),
            str(function.code_dir),
            function.handler,
            *map(str, function.layer_dirs),
        ]
        try:
            self.process = subprocess.Popen(
                args, stdin=request_read, pass_fds=(response_write,), env=env, cwd=ROOT
            )
        finally:
            os.close(request_read)
            os.close(response_write)
        self.init_ms: float | None = None
        self.used = False

    def wait_ready(self) -> Invocation | None:
        """Wait for the handler import. Returns a failed invocation when the import failed."""
        started = time.monotonic()
        frame = self._read(started + INIT_TIMEOUT)
        if frame.get("ready"):
            self.init_ms = float(frame.get("init_ms", (time.monotonic() - started) * 1000))
            return None
        self.close()
        return Invocation(self.function.logical_id, "", ok=False, error=frame.get("error"))

    def invoke(self, event: Any, request_id: str, region: str, timeout: float) -> tuple[bool, Any]:
        """Run one invocation; raises on timeout (the process is then ended) or a crash."""
        deadline = time.time() + timeout
        worker_protocol.write_frame(
            self._request_write,
            {
                "event": event,
                "request_id": request_id,
                "deadline_ms": int(deadline * 1000),
                "arn": f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{self.function.name}",
            },
        )
        frame = self._read(time.monotonic() + timeout)
        return bool(frame.get("ok")), frame.get("result") if frame.get("ok") else frame.get("error")

    def _read(self, deadline: float) -> dict[str, Any]:
        header = self._read_exact(4, deadline)
        (size,) = worker_protocol.HEADER.unpack(header)
        message: dict[str, Any] = json.loads(self._read_exact(size, deadline))
        return message

    def _read_exact(self, size: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        while size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise InvocationTimeoutError
            ready, _, _ = select.select([self._response_read], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._response_read, min(size, 1 << 20))
            if not chunk:
                code = self.process.wait(timeout=5)
                self.close()
                raise WorkerCrashedError(f"the function's process exited with code {code}")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        """End the environment (Lambda would freeze or discard it)."""
        if self.process.poll() is None:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        for fd in (self._request_write, self._response_read):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._request_write = self._response_read = -1


class FunctionPool:
    """Warm environments of one function, at most ``size`` at a time (queued beyond that)."""

    def __init__(self, function: Function, env: dict[str, str], size: int) -> None:
        self.function = function
        self.env = env
        self.size = size
        self.generation = 0
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._count = 0
        self._starting = 0
        self._cond = threading.Condition()
        self._closed = False

    @contextlib.contextmanager
    def _lease(self, timeout: float) -> Iterator[tuple[Worker | None, Invocation | None]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            # Wait for an environment that is starting rather than start a second one at once: two
            # cold starts competing for the CPU finish later than one start and a short wait.
            while self._closed or (not self._idle and (self._count >= self.size or self._starting)):
                if self._closed:
                    raise InvocationTimeoutError("the local stack is stopping")
                if not self._cond.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise InvocationTimeoutError("no free execution environment")
            if self._idle:
                worker: Worker | None = self._idle.pop()
                generation = self.generation
            else:
                worker = None
                self._count += 1
                self._starting += 1
                generation = self.generation
        failure: Invocation | None = None
        if worker is None:
            try:
                worker = Worker(self.function, self.env, generation)
                failure = worker.wait_ready()
            except BaseException:
                self._started()
                self._release(None)
                raise
            self._started()
            if failure is not None:
                self._release(None)
                yield None, failure
                return
        healthy = False
        with self._cond:
            # A stop that came while this environment was starting refuses the invocation: the
            # drain has not waited for it, and the embedded AWS may already be gone.
            stopping = self._closed
            if not stopping:
                self._busy.add(worker)
        if stopping:
            self._release(None, broken=worker)
            raise InvocationTimeoutError("the local stack is stopping")
        try:
            yield worker, None
            healthy = True
        finally:
            with self._cond:
                self._busy.discard(worker)
            self._release(worker if healthy else None, broken=worker)

    def _release(self, worker: Worker | None, broken: Worker | None = None) -> None:
        with self._cond:
            reusable = (
                worker is not None
                and not self._closed
                and worker.generation == self.generation
                and worker.process.poll() is None
            )
            if worker is not None and reusable:
                self._idle.append(worker)
                self._cond.notify_all()
                return
            self._count -= 1
            self._cond.notify_all()
        for gone in (worker, broken):
            if gone is not None:
                gone.close()

    def invoke(self, event: Any, region: str, timeout: float | None = None) -> Invocation:
        """Invoke the function once. Never raises for function errors: they are in the result."""
        request_id = str(uuid.uuid4())
        limit = float(timeout or self.function.timeout)
        started = time.monotonic()
        try:
            with self._lease(timeout=max(limit, INIT_TIMEOUT) + INIT_TIMEOUT) as (worker, failure):
                if failure is not None:
                    failure.request_id = request_id
                    return failure
                assert worker is not None
                cold = None if worker.used else worker.init_ms
                worker.used = True
                begun = time.monotonic()
                try:
                    ok, value = worker.invoke(event, request_id, region, limit)
                except InvocationTimeoutError:
                    raise
                duration = (time.monotonic() - begun) * 1000
                return Invocation(
                    self.function.logical_id,
                    request_id,
                    ok=ok,
                    result=value if ok else None,
                    error=None if ok else value,
                    duration_ms=duration,
                    init_ms=cold,
                )
        except InvocationTimeoutError as exc:
            message = str(exc) or f"Task timed out after {limit:.2f} seconds"
            return Invocation(
                self.function.logical_id,
                request_id,
                ok=False,
                error={"errorType": "Sandbox.Timedout", "errorMessage": message},
                duration_ms=(time.monotonic() - started) * 1000,
            )
        except (WorkerCrashedError, OSError) as exc:
            return Invocation(
                self.function.logical_id,
                request_id,
                ok=False,
                error={"errorType": "Runtime.ExitError", "errorMessage": str(exc)},
                duration_ms=(time.monotonic() - started) * 1000,
            )

    def _started(self) -> None:
        with self._cond:
            self._starting -= 1
            self._cond.notify_all()

    def prewarm(self) -> None:
        """Start one environment ahead of the first invocation."""
        with self._cond:
            if self._idle or self._count or self._closed:
                return
            self._count += 1
            self._starting += 1
            generation = self.generation
        try:
            worker = Worker(self.function, self.env, generation)
            failed = worker.wait_ready() is not None
        except BaseException:
            self._started()
            self._release(None)
            raise
        self._started()
        self._release(None if failed else worker)

    def recycle(self) -> None:
        """Replace every environment (new code): idle ones end now, busy ones when they finish."""
        with self._cond:
            self.generation += 1
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.close()

    def close(self) -> None:
        """Take no more invocations; end the idle environments."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.close()

    def drain(self, deadline: float) -> None:
        """Let running invocations (and environments still starting) finish until ``deadline``
        (monotonic), then end them."""
        with self._cond:
            while (self._busy or self._starting) and time.monotonic() < deadline:
                self._cond.wait(timeout=max(0.01, deadline - time.monotonic()))
            busy = list(self._busy)
        for worker in busy:
            worker.close()


class Runtime:
    """Every function's pool, invocation logging, and code reloading."""

    def __init__(
        self,
        functions: dict[str, Function],
        envs: dict[str, dict[str, str]],
        settings: LocalSettings,
        log: Callable[[str], None],
    ) -> None:
        self.settings = settings
        self.log = log
        self.pools = {
            logical_id: FunctionPool(
                function,
                envs[logical_id],
                min(settings.concurrency, function.reserved_concurrency or settings.concurrency) or 1,
            )
            for logical_id, function in functions.items()
        }
        self._stop = threading.Event()
        self._watch_thread: threading.Thread | None = None

    def invoke(self, logical_id: str, event: Any, source: str, timeout: float | None = None) -> Invocation:
        """Invoke a function and log one REPORT line (and the error, if any)."""
        outcome = self.pools[logical_id].invoke(event, self.settings.region, timeout)
        cold = f" Init Duration: {outcome.init_ms:.0f} ms" if outcome.init_ms is not None else ""
        status = "ok" if outcome.ok else f"ERROR {outcome.error_text}"
        self.log(
            f"REPORT {logical_id} RequestId: {outcome.request_id} Duration: {outcome.duration_ms:.1f} ms"
            f"{cold} ({source}) {status}"
        )
        return outcome

    def start(self) -> None:
        """Prewarm (in the background, one at a time: CPUs are shared) and watch the code."""
        if self.settings.prewarm:
            threading.Thread(target=self._prewarm, name="prewarm", daemon=True).start()
        if self.settings.reload:
            self._watch_thread = threading.Thread(target=self._watch, name="reload", daemon=True)
            self._watch_thread.start()

    def _prewarm(self) -> None:
        # Functions behind routes and queues first: they are the ones a newcomer calls at once.
        def order(pool: FunctionPool) -> int:
            return 0 if pool.function.routes or pool.function.queues else 1

        for pool in sorted(self.pools.values(), key=order):
            if self._stop.is_set():
                return
            with contextlib.suppress(Exception):
                pool.prewarm()

    def _code_stamp(self) -> float:
        stamp = 0.0
        roots = {ROOT / "functions", ROOT / "layers"}
        for pool in self.pools.values():
            roots.add(pool.function.code_dir)
        for root in roots:
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = [d for d in dirnames if d != "__pycache__" and not d.startswith(".")]
                for name in filenames:
                    if name.endswith((".py", ".json", ".yaml", ".yml", ".j2", ".html", ".txt")):
                        with contextlib.suppress(OSError):
                            stamp = max(stamp, os.stat(os.path.join(dirpath, name)).st_mtime)
        return stamp

    def _watch(self) -> None:
        stamp = self._code_stamp()
        while not self._stop.wait(1.0):
            current = self._code_stamp()
            if current != stamp:
                stamp = current
                self.log("code changed: functions get fresh environments on their next invocation")
                for pool in self.pools.values():
                    pool.recycle()

    def stop(self, grace: float = 10.0) -> None:
        """Refuse new invocations, give running ones ``grace`` seconds, then end every environment.

        Running invocations finish while the embedded AWS is still up, so a stop does not turn them
        into connection errors.
        """
        self._stop.set()
        for pool in self.pools.values():
            pool.close()
        deadline = time.monotonic() + grace
        for pool in self.pools.values():
            pool.drain(deadline)
