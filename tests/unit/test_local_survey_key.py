"""The local stack's survey-link signing key (issue 15: survey links were dead in a plain ``make run``)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from infra.local.aws import _generated_secret
from infra.local.settings import SURVEY_KEY_NAME, secret_values, survey_signing_key
from infra.template import load as load_template

from carehooks.surveys.token import MIN_KEY_CHARS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_configured_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SURVEY_KEY_NAME, raising=False)
    monkeypatch.setenv("CAREHOOKS_ENV_FILE", str(tmp_path / "no.env"))


def test_first_start_makes_a_random_private_key_and_keeps_it(tmp_path: Path) -> None:
    # Given no SURVEY_SIGNING_KEY anywhere
    key_file = tmp_path / ".local" / "survey-signing-key"
    # When the stack starts twice
    first = survey_signing_key(key_file)
    second = survey_signing_key(key_file)
    # Then one random key was made, kept readable by its owner only, and reused
    assert len(first) >= MIN_KEY_CHARS
    assert first == second == key_file.read_text(encoding="utf-8")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert survey_signing_key(tmp_path / "other") != first


def test_an_empty_key_file_is_replaced_with_a_usable_key(tmp_path: Path) -> None:
    key_file = tmp_path / "survey-signing-key"
    key_file.write_text("")
    key_file.chmod(0o644)
    key = survey_signing_key(key_file)
    assert len(key) >= MIN_KEY_CHARS
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_the_environment_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "survey-signing-key"
    key_file.write_text("kept-key-kept-key-kept-key")
    monkeypatch.setenv(SURVEY_KEY_NAME, "from-the-environment-0123456789")
    assert survey_signing_key(key_file) == "from-the-environment-0123456789"


def test_the_env_file_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"{SURVEY_KEY_NAME}=from-the-env-file-0123456789\n")
    monkeypatch.setenv("CAREHOOKS_ENV_FILE", str(env_file))
    assert survey_signing_key(tmp_path / "key") == "from-the-env-file-0123456789"
    # and it is not copied into the platform secret: the survey key lives in its own secret
    assert SURVEY_KEY_NAME not in secret_values("http://127.0.0.1:3000")


def test_a_key_too_short_to_sign_stops_the_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SURVEY_KEY_NAME, "short")
    with pytest.raises(SystemExit, match=SURVEY_KEY_NAME):
        survey_signing_key(tmp_path / "key")


def test_the_survey_signing_secret_holds_the_key_not_the_platform_secret() -> None:
    # Given the template's SurveySigningSecret (GenerateSecretString with GenerateStringKey)
    resources = load_template(ROOT / "template.yaml")["Resources"]
    survey_secret = resources["SurveySigningSecret"]
    # When the local stack provisions it with the local key
    document = _generated_secret(survey_secret, {SURVEY_KEY_NAME: "k" * 32})
    # Then it holds exactly the generated key, as in AWS
    assert document == {SURVEY_KEY_NAME: "k" * 32}
    assert json.loads(json.dumps(document))[SURVEY_KEY_NAME] == "k" * 32
    # and a secret that generates nothing (the platform secret) keeps the platform values
    platform = next(
        r
        for r in resources.values()
        if r.get("Type") == "AWS::SecretsManager::Secret"
        and "GenerateSecretString" not in (r.get("Properties") or {})
    )
    assert _generated_secret(platform, {SURVEY_KEY_NAME: "k" * 32}) is None
