"""The local stack's part of issue 18: the archive directory, the kept erasure key, log group names."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from infra.local.aws import Endpoints, plan_attributes
from infra.local.resolver import Resolver
from infra.local.settings import ERASURE_KEY_NAME, erasure_key, load
from infra.template import load as load_template


@pytest.fixture(autouse=True)
def no_configured_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ERASURE_KEY_NAME, raising=False)
    monkeypatch.setenv("CAREHOOKS_ENV_FILE", str(tmp_path / "no.env"))
    monkeypatch.setenv("CAREHOOKS_LOCAL_DIR", str(tmp_path / ".local"))


def test_the_erasure_key_is_made_once_kept_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / ".local" / "erasure-key"
    first = erasure_key(path)
    assert len(first) >= 32
    assert erasure_key(path) == first == path.read_text(encoding="utf-8")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert erasure_key(tmp_path / "other-key") != first


def test_a_configured_erasure_key_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ERASURE_KEY_NAME, "configured-key")
    assert erasure_key(tmp_path / "erasure-key") == "configured-key"
    assert not (tmp_path / "erasure-key").exists()


def test_every_log_group_of_the_template_is_named_after_its_function_locally() -> None:
    # Given the project's template, whose log groups name their function ("/aws/lambda/${Function}")
    settings = load()
    template = load_template()
    attributes: dict[str, dict[str, str]] = {}
    resolver = Resolver(template, attributes, {}, settings.region, settings.stack_name, warn=print)
    endpoints = Endpoints(aws="http://127.0.0.1:1", dynamodb="http://127.0.0.1:2", dynamodb_kind="moto")
    # When the local stack plans its resources
    planned = plan_attributes(template, settings, endpoints, resolver)
    # Then each log group is the function's
    groups = {k: v["Ref"] for k, v in planned.items() if k.endswith("FunctionLogGroup")}
    assert len(groups) >= 11
    for logical_id, name in groups.items():
        function = logical_id.removesuffix("LogGroup")
        assert name == f"/aws/lambda/{planned[function]['Ref']}"
