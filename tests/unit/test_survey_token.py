"""Signed survey-link tokens: genuine ones open, forged, expired and keyless ones never do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carehooks.surveys.token import (
    ExpiredTokenError,
    ForgedTokenError,
    SigningKeyMissingError,
    sign,
    survey_link,
    verify,
)

KEY = "k" * 32
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_genuine_token_names_its_conversation() -> None:
    token = sign("01JCONV", NOW + timedelta(days=7), KEY)
    claims = verify(token, KEY, NOW)
    assert claims.conversation_id == "01JCONV"
    assert claims.expires_at == NOW + timedelta(days=7)


def test_an_expired_token_is_refused() -> None:
    token = sign("01JCONV", NOW + timedelta(hours=1), KEY)
    with pytest.raises(ExpiredTokenError):
        verify(token, KEY, NOW + timedelta(hours=1))


def test_a_token_signed_with_another_key_is_forged() -> None:
    token = sign("01JCONV", NOW + timedelta(days=1), "another-key-of-32-characters....")
    with pytest.raises(ForgedTokenError):
        verify(token, KEY, NOW)


def test_a_token_whose_payload_was_changed_is_forged() -> None:
    import base64

    _payload, mac = sign("01JCONV", NOW + timedelta(days=1), KEY).split(".")
    other = base64.urlsafe_b64encode(b'{"c":"01JOTHER","x":9999999999}').rstrip(b"=").decode()
    with pytest.raises(ForgedTokenError):
        verify(f"{other}.{mac}", KEY, NOW)


@pytest.mark.parametrize("token", ["", "nodot", "a.b.c", "x" * 600, "é.é", "..", "abc.%%%"])
def test_malformed_tokens_are_forged(token: str) -> None:
    with pytest.raises(ForgedTokenError):
        verify(token, KEY, NOW)


@pytest.mark.parametrize("key", ["", "short"])
def test_without_a_key_nothing_is_signed_or_accepted(key: str) -> None:
    with pytest.raises(SigningKeyMissingError):
        sign("01JCONV", NOW, key)
    with pytest.raises(SigningKeyMissingError):
        verify(sign("01JCONV", NOW + timedelta(days=1), KEY), key, NOW)


def test_the_link_needs_a_base_url_and_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAREHOOKS_SECRET_ID", raising=False)
    monkeypatch.delenv("SURVEY_SIGNING_SECRET_ID", raising=False)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://care.example.com/")
    monkeypatch.delenv("SURVEY_SIGNING_KEY", raising=False)
    assert survey_link("01JCONV", NOW) is None
    monkeypatch.setenv("SURVEY_SIGNING_KEY", KEY)
    link = survey_link("01JCONV", NOW + timedelta(days=1))
    assert link is not None
    assert link.startswith("https://care.example.com/survey/")
    assert verify(link.rsplit("/", 1)[1], KEY, NOW).conversation_id == "01JCONV"
    monkeypatch.delenv("PUBLIC_BASE_URL")
    assert survey_link("01JCONV", NOW) is None
