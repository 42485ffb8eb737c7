"""The configuration document: validation with paths, the loader's sources, the JSON Schema, the CLI."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from infra.cli.__main__ import main as cli
from infra.cli.config import SCHEMA_PATH, parameter_value, schema_text

from carehooks.config import loader
from carehooks.config.loader import ConfigError, parse_document
from carehooks.config.text import normalize, words
from carehooks.rules.language import detect_language

VALID = """
version: "2025-06-01"
defaults: {calendar: office}
calendars:
  office: {timezone: Europe/Paris, hours: {mon: ["09:00-17:00"]}}
acknowledgement:
  templates:
    default: {in_hours: {en: "Hi"}, out_of_hours: {en: "Back {reopen}"}}
rules:
  - id: order
    when: {text: {keyword: [order]}}
    then: [{add_tags: [order]}, acknowledge]
"""


@pytest.fixture(autouse=True)
def _fresh_loader(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("CAREHOOKS_CONFIG", raising=False)
    monkeypatch.delenv("CONFIG_PARAMETER", raising=False)
    loader.reset()
    yield
    loader.reset()


def errors_of(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_document(text, "test.yaml")
    return caught.value.errors


def test_the_packaged_default_is_valid() -> None:
    document = loader.default_document()
    assert document.rules
    assert "default" in document.acknowledgement.templates


def test_every_error_is_reported_with_its_path() -> None:
    errors = errors_of(
        """
        rules:
          - id: Bad Id
            then: [{add_tags: [x]}]
          - id: ok
            when: {text: {regex: "(unclosed"}}
            then: [{set_priority: extreme}]
          - id: ok2
            when: {any: [{channel: fax}]}
            then: [{frobnicate: true}]
        """.replace("\n        ", "\n")
    )
    paths = [path for path, _ in errors]
    assert "rules.0.id" in paths
    assert any(p.startswith("rules.1.when.text") for p in paths)
    assert any(p.startswith("rules.1.then.0.set_priority") for p in paths)
    assert any(p.startswith("rules.2.when.any.0.channel") for p in paths)
    assert any(p.startswith("rules.2.then.0") for p in paths)
    reasons = " ".join(reason for _, reason in errors)
    assert "invalid regular expression" in reasons
    assert "unknown channel 'fax'" in reasons


def test_cross_references_are_checked() -> None:
    errors = errors_of(
        """
rules:
  - id: a
    when: {within_hours: true}
    then: [{acknowledge: {template: missing}}, {assign: {agent: nobody, team: nowhere}}]
  - id: a
    then: [stop]
"""
    )
    reason = errors[0][1]
    for expected in (
        "no acknowledgement template named 'missing'",
        "no agent named 'nobody'",
        "no team named 'nowhere'",
        "within_hours needs a calendar",
        "duplicate rule id",
    ):
        assert expected in reason


def test_unknown_keys_and_non_mappings_are_rejected() -> None:
    assert errors_of("rulez: []")[0][0] == "rulez"
    assert errors_of("- a list")[0][0] == "(document)"
    assert "not valid YAML" in errors_of("rules: [")[0][1]


def test_a_config_file_is_read_and_re_read_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "carehooks.yaml"
    path.write_text(VALID)
    monkeypatch.setenv("CAREHOOKS_CONFIG", str(path))
    assert loader.load_config().version == "2025-06-01"
    path.write_text(VALID.replace("2025-06-01", "2025-06-02"))
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert loader.load_config().version == "2025-06-02"


def test_an_invalid_file_keeps_the_last_valid_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "carehooks.yaml"
    path.write_text(VALID)
    monkeypatch.setenv("CAREHOOKS_CONFIG", str(path))
    assert loader.load_config().version == "2025-06-01"
    path.write_text("rules: [{id: broken}]")
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert loader.load_config().version == "2025-06-01"


def test_an_invalid_source_without_a_previous_document_fails_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "carehooks.yaml"
    path.write_text("rules: [{id: broken}]")
    monkeypatch.setenv("CAREHOOKS_CONFIG", str(path))
    with pytest.raises(ConfigError):
        loader.load_config()


def test_without_a_file_or_parameter_the_packaged_default_applies() -> None:
    assert loader.load_config() is loader.default_document()


def test_compressed_values_round_trip() -> None:
    text = loader.encode_compressed(VALID)
    assert parse_document(text).version == "2025-06-01"


def test_parameter_value_picks_the_tier_and_compresses_when_needed() -> None:
    small = parse_document(VALID)
    value, tier = parameter_value(small)
    assert tier == "Standard"
    assert json.loads(value)["version"] == "2025-06-01"
    many = "\n".join(
        f"  - {{id: r{i}, when: {{text: {{keyword: [word{i}]}}}}, then: [{{add_tags: [tag{i}]}}]}}"
        for i in range(200)
    )
    big = parse_document("rules:\n" + many)
    value, tier = parameter_value(big)
    assert value.startswith(loader.COMPRESSED_PREFIX)
    assert parse_document(value).rules[199].id == "r199"


def test_the_json_schema_file_is_up_to_date() -> None:
    # Regenerate with `carehooks config schema` after changing any configuration model.
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text()


def test_cli_validate_reports_errors_with_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(VALID)
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [{id: x, then: [{set_priority: extreme}]}]")
    assert cli(["config", "validate", str(good)]) == 0
    assert "valid (version 2025-06-01" in capsys.readouterr().out
    assert cli(["config", "validate", str(bad)]) == 1
    assert "rules.0.then.0.set_priority" in capsys.readouterr().err


def test_the_language_guess() -> None:
    assert detect_language("where is my order? #1234") == "en"
    assert detect_language("Bonjour, je n'ai pas reçu ma commande") == "fr"
    assert detect_language("¿Dónde está mi pedido?") == "es"
    assert detect_language("Wo ist meine Bestellung?") == "de"
    assert detect_language("Где мой заказ?") == "ru"
    assert detect_language("注文はどこですか") == "ja"
    assert detect_language("#1234") == "und"
    assert detect_language("") == "und"


def test_normalization_folds_case_accents_and_compatibility_forms() -> None:
    assert normalize("Œuvre ÉTÉ ﬁn Straße") == "œuvre ete fin strasse"
    assert words("Où est-ce, 'commande'#12?") == ["ou", "est", "ce", "commande", "12"]


def test_cli_push_validates_then_writes_the_parameter(tmp_path: Path) -> None:
    from moto import mock_aws

    good = tmp_path / "good.yaml"
    good.write_text(VALID)
    with mock_aws():
        import boto3

        ssm: Any = boto3.client("ssm")
        assert cli(["config", "push", str(good), "--parameter", "/carehooks/config"]) == 0
        stored = ssm.get_parameter(Name="/carehooks/config")["Parameter"]["Value"]
        assert parse_document(stored).version == "2025-06-01"
        bad = tmp_path / "bad.yaml"
        bad.write_text("rules: 3")
        assert cli(["config", "push", str(bad), "--parameter", "/carehooks/config"]) == 1
        assert ssm.get_parameter(Name="/carehooks/config")["Parameter"]["Value"] == stored


def test_the_parameter_source_keeps_the_last_valid_document(monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_lambda_powertools.utilities import parameters
    from moto import mock_aws

    with mock_aws():
        import boto3

        ssm: Any = boto3.client("ssm")
        ssm.put_parameter(Name="/carehooks/config", Value=VALID, Type="String")
        monkeypatch.setenv("CONFIG_PARAMETER", "/carehooks/config")
        parameters.clear_caches()
        assert loader.load_config().version == "2025-06-01"
        ssm.put_parameter(
            Name="/carehooks/config", Value="rules: [{id: broken}]", Type="String", Overwrite=True
        )
        parameters.clear_caches()  # the cache would otherwise hide the change for a minute
        assert loader.load_config().version == "2025-06-01"
        ssm.put_parameter(
            Name="/carehooks/config", Value=VALID.replace("2025-06-01", "v2"), Type="String", Overwrite=True
        )
        parameters.clear_caches()
        assert loader.load_config().version == "v2"
        parameters.clear_caches()
