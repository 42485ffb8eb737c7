"""An execution environment of the local stack pays for heavy imports in init, not in an invocation."""

from __future__ import annotations

import sys
from pathlib import Path

from infra.local.model import Function
from infra.local.runtime import Worker
from infra.local.worker import preload

HANDLER = """
import sys

def handler(event, context):
    return {"boto3_loaded_before_the_first_invocation": "boto3" in sys.modules}
"""


def test_boto3_is_imported_before_the_environment_reports_ready(tmp_path: Path) -> None:
    # Given a function that never imports boto3 itself
    (tmp_path / "app.py").write_text(HANDLER)
    function = Function("Probe", "local-Probe", tmp_path, "app.handler", [], 5, 128, None)
    worker = Worker(function, {"PATH": "/usr/bin:/bin"}, generation=0)
    try:
        # When the environment is ready and invoked once
        assert worker.wait_ready() is None
        ok, result = worker.invoke({}, "req-1", "us-east-1", timeout=30)
    finally:
        worker.close()
    # Then boto3 was already there: its import cost fell in init, outside the invocation's Timeout
    assert ok, result
    assert result == {"boto3_loaded_before_the_first_invocation": True}


def test_preload_skips_modules_that_are_not_installed() -> None:
    assert preload(("json", "no_such_module_carehooks")) == ["json"]
    assert "json" in sys.modules
