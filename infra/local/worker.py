"""One local "execution environment": a process that imports one function's handler and runs invocations.

Started by :mod:`infra.local.runtime` as ``python -P worker.py <response fd> <code dir> <handler>
[<layer dir> ...]`` with the function's environment. Like Lambda, the code directory comes first on
``sys.path``, then the layers, and the working directory is the code directory. Requests arrive on
stdin and answers leave on the response descriptor, each as a 4-byte big-endian length and JSON;
stdout and stderr are the stack's own, so the function's logs appear in the stack's output.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import struct
import sys
import time
import traceback
from typing import Any

HEADER = struct.Struct(">I")


def read_frame(fd: int) -> dict[str, Any] | None:
    """One framed JSON message, or ``None`` at end of file."""
    header = _read_exact(fd, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    body = _read_exact(fd, size)
    if body is None:
        return None
    message: dict[str, Any] = json.loads(body)
    return message


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def write_frame(fd: int, message: dict[str, Any]) -> None:
    """Write one framed JSON message (``default=str`` is not used: results must be JSON, as in Lambda)."""
    body = json.dumps(message).encode()
    data = HEADER.pack(len(body)) + body
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class LambdaContext:
    """The attributes and method of the Python runtime's context object."""

    def __init__(self, request_id: str, deadline_ms: int, arn: str) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def error_payload(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """The error object Lambda reports for an uncaught exception."""
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_exception(exc),
    }


def _load_handler(spec: str) -> Any:
    module_name, _, function_name = spec.rpartition(".")
    module = importlib.import_module(module_name.replace("/", "."))
    return getattr(module, function_name)


# Imported during init, before the environment reports ready. Functions import boto3 lazily (no
# client at import time), so without this its import (1-2 s of CPU, more on a busy machine) landed in
# the first invocation and counted against the template's Timeout. On a loaded two-core machine the
# first invocation of a fresh environment then overran a 5 s webhook Timeout, the environment was
# ended, and its replacement started cold again: a spiral of 500s that Lambda, with a CPU share per
# environment, does not have. The import now shows in Init Duration, which no Timeout covers.
PRELOAD = ("boto3",)


def preload(modules: tuple[str, ...] = PRELOAD) -> list[str]:
    """Import ``modules`` that are installed; the names imported."""
    loaded = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            continue
        loaded.append(name)
    return loaded


def main(argv: list[str]) -> int:
    # Ctrl-C reaches every process of the terminal; the stack ends its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    response_fd = int(argv[1])
    code_dir, handler_spec, layers = argv[2], argv[3], argv[4:]
    sys.path[:0] = [code_dir, *layers]
    started = time.monotonic()
    try:
        os.chdir(code_dir)
        handler = _load_handler(handler_spec)
        preload()
    except BaseException as exc:  # an import error is reported on the first invocation, as in Lambda
        traceback.print_exc()
        write_frame(response_fd, {"ready": False, "error": error_payload(exc, "Runtime.ImportModuleError")})
        return 1
    write_frame(response_fd, {"ready": True, "init_ms": round((time.monotonic() - started) * 1000, 1)})
    while True:
        request = read_frame(0)
        if request is None:
            return 0
        context = LambdaContext(request["request_id"], int(request["deadline_ms"]), request["arn"])
        try:
            result = handler(request["event"], context)
        except Exception as exc:
            print(f"[ERROR] {type(exc).__name__}: {exc}", file=sys.stderr)
            traceback.print_exc()
            answer: dict[str, Any] = {"ok": False, "error": error_payload(exc)}
        except BaseException as exc:  # SystemExit / KeyboardInterrupt end the environment, as in Lambda
            write_frame(response_fd, {"ok": False, "error": error_payload(exc, "Runtime.ExitError")})
            return 1
        else:
            answer = {"ok": True, "result": result}
            try:
                json.dumps(result)  # a result Lambda could not serialize is an error there too
            except (TypeError, ValueError) as exc:
                answer = {"ok": False, "error": error_payload(exc, "Runtime.MarshalError")}
        sys.stdout.flush()
        sys.stderr.flush()
        write_frame(response_fd, answer)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
