"""The ``carehooks`` command line as a console script: one ``main()`` entry point that works from any
directory, and relative file arguments named from the caller's directory (issue 15)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from infra.cli.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = ROOT / "layers" / "common" / "carehooks" / "config" / "default.yaml"


def test_main_is_a_console_script_entry_point_that_returns_the_exit_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a configuration file in the caller's directory, far from the project
    shutil.copy(DEFAULT_CONFIG, tmp_path / "mine.yaml")
    monkeypatch.chdir(tmp_path)
    # When the entry point runs with a relative path
    status = main(["config", "validate", "mine.yaml"])
    # Then the file was found where the caller is
    assert status == 0
    assert "mine.yaml: valid" in capsys.readouterr().out
    assert main(["config", "validate", "missing.yaml"]) == 1


def test_the_console_script_works_outside_the_project(tmp_path: Path) -> None:
    # What a [project.scripts] wrapper does: import the entry point and sys.exit() its result,
    # from another directory and with no PYTHONPATH pointing at the project or the layer.
    shutil.copy(DEFAULT_CONFIG, tmp_path / "mine.yaml")
    script = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
        "from infra.cli.__main__ import main; sys.exit(main())"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", script, "config", "validate", "mine.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "mine.yaml: valid" in result.stdout


def test_the_wrapper_script_keeps_the_callers_directory(tmp_path: Path) -> None:
    shutil.copy(DEFAULT_CONFIG, tmp_path / "mine.yaml")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [str(ROOT / "scripts" / "carehooks"), "config", "validate", "mine.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "mine.yaml: valid" in result.stdout
