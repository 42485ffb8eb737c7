"""Start the local stack as a subprocess and talk to it over HTTP, as a user would.

Every stack gets free ports, its own data folder (``CAREHOOKS_LOCAL_DIR``), no ``.env`` and none of
the developer's platform secrets, so tests never touch the developer's ``.local`` and always sign
with the stack's local defaults.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
START_TIMEOUT = 90.0
# The developer's shell must not leak into the stack under test.
DROP_PREFIXES = ("META_", "X_", "TELEGRAM_", "TWILIO_", "LOCAL_", "CAREHOOKS_", "AWS_")
DROP_NAMES = {"PUBLIC_BASE_URL", "PORT", "SURVEY_SIGNING_KEY"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without platform secrets or stack knobs, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROP_PREFIXES) and k not in DROP_NAMES}
    env["CAREHOOKS_ENV_FILE"] = str(ROOT / "tests" / "e2e" / "no.env")  # no such file: no .env
    env.update(extra)
    return env


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class LocalStack:
    """One running stack; :meth:`restart` keeps its data folder."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"{data_dir.name}-stack.log"
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        env = clean_env(
            PORT=str(self.port),
            CAREHOOKS_LOCAL_DIR=str(self.data_dir),
            LOCAL_VISIBILITY_TIMEOUT="2",
            LOCAL_RELOAD="0",
            **self.extra_env,
        )
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n===== start {self.starts} =====\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "infra.local"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the stack exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if self.get("/_local/health").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the stack did not answer within {START_TIMEOUT} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, as Ctrl-C or a process manager would; returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    # -- HTTP ---------------------------------------------------------------------------------
    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> HttpAnswer:
        request = urllib.request.Request(  # noqa: S310 - the local stack
            self.url + path, data=body, headers=headers or {}, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return HttpAnswer(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as exc:
            return HttpAnswer(exc.code, dict(exc.headers.items()), exc.read())

    def get(self, path: str, headers: dict[str, str] | None = None) -> HttpAnswer:
        return self.request("GET", path, headers=headers)

    def post_json(self, path: str, payload: Any, headers: dict[str, str] | None = None) -> HttpAnswer:
        return self.request(
            "POST",
            path,
            json.dumps(payload).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )

    def outbox(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get("/_local/outbox").json()["items"]
        return items


def wait_for[T](probe: Callable[[], T | None], timeout: float = 30.0, what: str = "the condition") -> T:
    """Poll ``probe`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)
