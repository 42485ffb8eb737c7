"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# No real AWS, ever: dummy credentials and a fixed region for every test.
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ.pop("AWS_PROFILE", None)
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "carehooks")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_DEV", "false")


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """Settings and clients are cached per process; tests change the environment, so clear them."""
    from carehooks.config.settings import settings
    from carehooks.ingress.queue import sqs_client
    from carehooks.notify.email import sesv2_client
    from carehooks.store.table import dynamodb_client
    from carehooks.wiring.events import events_client
    from carehooks.wiring.store import get_store

    for cached in (settings, sqs_client, dynamodb_client, get_store, sesv2_client, events_client):
        cached.cache_clear()
    yield
    for cached in (settings, sqs_client, dynamodb_client, get_store, sesv2_client, events_client):
        cached.cache_clear()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The hostile-input figure (tests/hostile_support.py counts each fuzz case)."""
    import sys

    support = sys.modules.get("tests.hostile_support")
    line = support.summary() if support is not None else None
    if line:
        terminalreporter.write_line(line)
