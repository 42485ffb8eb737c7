"""Template checks: the tools `make tools` installs, the transformed template, and one shared `sam build`."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
TOOLS_BIN = ROOT / ".tools" / "bin"
SAM_PYTHON = ROOT / ".tools" / "uv-tools" / "aws-sam-cli" / "bin" / "python"
BUILD_DIR = ROOT / ".aws-sam" / "test-build"


def tool(name: str) -> Path:
    path = TOOLS_BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make tools`")
    return path


def run(args: list[str | Path], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "AWS_DEFAULT_REGION": "eu-west-1", "SAM_CLI_TELEMETRY": "0", **env},
        check=False,
    )


def python313_dir() -> str:
    found = subprocess.run([ROOT / "scripts" / "find-python"], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        pytest.fail(found.stderr.strip() or "no Python 3.13 found")
    return str(Path(found.stdout.strip()).parent)


@pytest.fixture(scope="session")
def transformed() -> dict[str, Any]:
    """template.yaml after the SAM transform (plain CloudFormation), from the SAM CLI's own translator."""
    if not SAM_PYTHON.exists():
        pytest.fail(f"{SAM_PYTHON} is missing: run `make tools`")
    done = run([SAM_PYTHON, Path(__file__).with_name("transform.py"), TEMPLATE])
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="session")
def sam_build() -> Path:
    """One `sam build` per test run (python3.13 on PATH), shared by pytest-xdist workers through a lock."""
    sam = tool("sam")
    BUILD_DIR.parent.mkdir(exist_ok=True)
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID", f"pid-{os.getpid()}")
    stamp = BUILD_DIR.parent / "test-build.stamp"
    with open(BUILD_DIR.parent / "test-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp.exists() and stamp.read_text() == run_id and (BUILD_DIR / "template.yaml").exists()):
            done = run(
                [
                    sam,
                    "build",
                    "--template-file",
                    TEMPLATE,
                    "--build-dir",
                    BUILD_DIR,
                    "--cached",
                    "--cache-dir",
                    BUILD_DIR.parent / "test-cache",
                ],
                PATH=f"{python313_dir()}{os.pathsep}{os.environ.get('PATH', '')}",
            )
            assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
            stamp.write_text(run_id)
        fcntl.flock(lock, fcntl.LOCK_UN)
    return BUILD_DIR
