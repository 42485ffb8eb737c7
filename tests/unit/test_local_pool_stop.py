"""Stopping the local stack while an execution environment is still starting runs nothing afterwards."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from infra.local.model import Function
from infra.local.runtime import FunctionPool, Invocation

SLOW_INIT = """
import time
from pathlib import Path

time.sleep(1.5)  # a cold start still in init when the stop comes

def handler(event, context):
    Path(event["marker"]).write_text("invoked")
    return {"ok": True}
"""


def test_an_invocation_whose_environment_was_starting_at_stop_is_refused_not_run(tmp_path: Path) -> None:
    # Given a function whose environment takes a while to start, and an invocation waiting on that start
    (tmp_path / "app.py").write_text(SLOW_INIT)
    function = Function("Slow", "local-Slow", tmp_path, "app.handler", [], 30, 128, None)
    pool = FunctionPool(function, {"PATH": "/usr/bin:/bin"}, size=1)
    marker = tmp_path / "invoked"
    results: list[Invocation] = []
    caller = threading.Thread(
        target=lambda: results.append(pool.invoke({"marker": str(marker)}, "us-east-1"))
    )
    caller.start()
    time.sleep(0.3)
    # When the stack stops (refuse new invocations, then drain) during that start
    pool.close()
    pool.drain(time.monotonic() + 20)
    caller.join(timeout=20)
    # Then the drain waited for the start, and the invocation was refused instead of run after it
    assert not caller.is_alive()
    assert len(results) == 1
    assert results[0].ok is False
    assert results[0].error is not None
    assert "stopping" in results[0].error["errorMessage"]
    assert not marker.exists()
