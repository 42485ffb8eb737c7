"""Fixtures of the e2e layer: local stacks started as subprocesses (see harness.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import LocalStack

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _running(stack: LocalStack, request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    stack.start()
    try:
        yield stack
    finally:
        code = stack.stop()
        # Print the stack's output on failure: it holds the tracebacks and REPORT lines.
        if request.session.testsfailed:
            print(f"\n----- local stack log ({stack.log_path}) -----\n{stack.log_tail(200)}")
        assert code == 0, f"the stack did not stop cleanly (exit {code})"


@pytest.fixture(scope="module")
def project_stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LocalStack]:
    """The stack of the project's own template.yaml, on DynamoDB Local (moto if Java is missing)."""
    yield from _running(LocalStack(tmp_path_factory.mktemp("project") / "local"), request)


@pytest.fixture(scope="module")
def machinery_stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LocalStack]:
    """A stack of tests/e2e/fixtures/template.yaml: every kind of route, queue, schedule and mail."""
    stack = LocalStack(
        tmp_path_factory.mktemp("machinery") / "local",
        env={"CAREHOOKS_TEMPLATE": str(FIXTURES / "template.yaml"), "LOCAL_DYNAMODB": "moto"},
    )
    yield from _running(stack, request)
