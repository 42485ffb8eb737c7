"""The one Jinja2 environment factory: same settings for every package's templates, Jinja2 loaded lazily."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from carehooks.notify.render import environment, notify_environment

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_gets_a_strict_escaping_environment_of_its_own_templates() -> None:
    for package in ("carehooks.notify", "carehooks.reports", "carehooks.surveys"):
        env = environment(package)
        assert env is environment(package)  # one per package and process
        assert env.autoescape("x.html") is True  # type: ignore[operator]
        assert env.autoescape("x.txt") is False  # type: ignore[operator]
        assert env.from_string("{{ v }}").render(v="<b>") == "&lt;b&gt;"
    assert "survey.html" in environment("carehooks.surveys").list_templates()
    assert "weekly_digest.txt" in environment("carehooks.reports").list_templates()
    assert notify_environment().keep_trailing_newline
    assert not environment("carehooks.reports").keep_trailing_newline


def test_importing_the_renderers_does_not_import_jinja2() -> None:
    code = (
        "import sys\n"
        "import carehooks.notify.render, carehooks.sla.digest, carehooks.surveys.alerts\n"
        "import carehooks.surveys.page, carehooks.reports.digest\n"
        "assert 'jinja2' not in sys.modules, 'jinja2 imported at import time'\n"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "layers" / "common")},
    )
