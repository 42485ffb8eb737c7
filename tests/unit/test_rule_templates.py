"""Acknowledgement texts against each channel's limit: a check the loader and the CLI run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from infra.cli.__main__ import main as cli

from carehooks.config import loader
from carehooks.config.loader import ConfigError, ConfigLoader, parse_document
from carehooks.rules.templates import CHECKS, template_problems
from tests.rules_support import document

PATH = "acknowledgement.templates.default"


def templates(default: dict[str, Any]) -> dict[str, Any]:
    return {"acknowledgement": {"templates": {"default": default}}}


def test_a_text_is_counted_the_way_its_platform_counts_it() -> None:
    # 500 CJK characters: within every code-point limit, but 1,500 bytes where Instagram counts bytes
    cjk = {"in_hours": {"en": "注" * 500}, "out_of_hours": {"en": "Bye"}}
    ((path, reason),) = template_problems(document(**templates(cjk)))
    assert path == PATH
    assert "has 1500 bytes, over the 1000-byte limit of instagram" in reason
    fixed = {**cjk, "channels": {"instagram": {"in_hours": {"en": "short"}}}}
    assert template_problems(document(**templates(fixed))) == []


def test_texts_over_a_channel_limit_need_a_shorter_override() -> None:
    long_text = "x" * 1200  # over Instagram's 1000 bytes
    too_long = {"in_hours": {"en": long_text}, "out_of_hours": {"en": "Bye"}}
    ((path, reason),) = template_problems(document(**templates(too_long)))
    assert path == PATH
    assert "instagram" in reason
    assert reason == (
        "Value error, the in_hours text in 'en' has 1200 bytes, over the 1000-byte limit of "
        "instagram: add a shorter one under channels.instagram.in_hours"
    )
    fixed = {
        **too_long,
        "channels": {"instagram": {"in_hours": {"en": "short"}}, "sms": {"in_hours": {"en": "short"}}},
    }
    assert template_problems(document(**templates(fixed))) == []


def test_public_texts_must_fit_a_comment() -> None:
    default = {
        "in_hours": {"en": "Hi"},
        "out_of_hours": {"en": "Bye"},
        "public": {"in_hours": {"en": "y" * 2300}, "out_of_hours": {"en": "Bye"}},
    }
    ((path, reason),) = template_problems(document(**templates(default)))
    assert path == PATH
    assert reason == (
        "Value error, the public in_hours text in 'en' has 2300 characters, over the 2200-character "
        "limit of a comment"
    )


def test_the_loader_runs_the_checks_it_is_given() -> None:
    text = json.dumps(templates({"in_hours": {"en": "x" * 1200}, "out_of_hours": {"en": "Bye"}}))
    # The schema alone does not know the channels' limits ...
    assert parse_document(text, "test.yaml").acknowledgement.templates["default"]
    # ... the check does, with the path and reason of a schema error.
    with pytest.raises(ConfigError) as caught:
        parse_document(text, "test.yaml", CHECKS)
    assert caught.value.errors[0][0] == PATH
    assert "instagram" in caught.value.errors[0][1]


def test_a_checked_loader_fails_closed_on_a_file_over_a_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "carehooks.yaml"
    path.write_text(json.dumps(templates({"in_hours": {"en": "x" * 1200}, "out_of_hours": {"en": "Bye"}})))
    monkeypatch.setenv("CAREHOOKS_CONFIG", str(path))
    monkeypatch.delenv("CONFIG_PARAMETER", raising=False)
    with pytest.raises(ConfigError):
        ConfigLoader(checks=CHECKS).load()
    try:
        loader.use_checks(CHECKS)
        with pytest.raises(ConfigError):
            loader.load_config()
    finally:
        loader.use_checks(())


def test_the_packaged_default_passes_the_checks() -> None:
    assert ConfigLoader(checks=CHECKS).load() is not None
    assert template_problems(loader.default_document()) == []


def test_cli_validate_runs_the_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "long.yaml"
    bad.write_text(json.dumps(templates({"in_hours": {"en": "x" * 1200}, "out_of_hours": {"en": "Bye"}})))
    assert cli(["config", "validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{PATH}: Value error, the in_hours text in 'en' has 1200 bytes" in err
