"""Signed, expiring survey-link tokens (``/survey/{token}``).

A token is ``<payload>.<mac>``: the payload is base64url JSON ``{"c": conversation id, "x": expiry
(epoch seconds)}``, the MAC is HMAC-SHA256 over a purpose prefix and the payload, keyed with
``SURVEY_SIGNING_KEY``. Without a key nothing is signed or accepted (fail closed).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from urllib.parse import quote

from carehooks.config.settings import secret

KEY_NAME = "SURVEY_SIGNING_KEY"
# Binds the MAC to this use, so a key shared with another feature cannot be replayed here.
PURPOSE = b"carehooks-survey-v1."
MAX_TOKEN_CHARS = 512
MIN_KEY_CHARS = 16


class TokenError(ValueError):
    """The token cannot be used."""


class ForgedTokenError(TokenError):
    """Malformed, or not signed with our key."""


class ExpiredTokenError(TokenError):
    """Genuine, but past its expiry."""


class SigningKeyMissingError(TokenError):
    """No signing key is configured: links are neither made nor accepted."""


@dataclass(frozen=True)
class SurveyToken:
    conversation_id: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, payload: str) -> str:
    return _b64(hmac.new(key.encode(), PURPOSE + payload.encode("ascii"), hashlib.sha256).digest())


def _usable(key: str) -> str:
    if len(key) < MIN_KEY_CHARS:
        raise SigningKeyMissingError(f"{KEY_NAME} is not configured (or shorter than {MIN_KEY_CHARS})")
    return key


def sign(conversation_id: str, expires_at: datetime, key: str) -> str:
    """A token for one conversation's survey, valid until ``expires_at``."""
    body = json.dumps({"c": conversation_id, "x": int(expires_at.timestamp())}, separators=(",", ":"))
    payload = _b64(body.encode())
    return f"{payload}.{_mac(_usable(key), payload)}"


def verify(token: str, key: str, now: datetime) -> SurveyToken:
    """The conversation a token is for. Raises :class:`TokenError` subclasses, checked in this order:
    no key, forged (shape or MAC, compared in constant time), expired."""
    key = _usable(key)
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1 or not token.isascii():
        raise ForgedTokenError("malformed token")
    payload, mac = token.split(".")
    if not hmac.compare_digest(_mac(key, payload).encode(), mac.encode()):
        raise ForgedTokenError("bad signature")
    try:
        data = json.loads(_unb64(payload))
        conversation_id, expiry = str(data["c"]), int(data["x"])
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ForgedTokenError("unreadable payload") from exc
    expires_at = datetime.fromtimestamp(expiry, tz=UTC)
    if now >= expires_at:
        raise ExpiredTokenError("token expired")
    return SurveyToken(conversation_id=conversation_id, expires_at=expires_at)


@cache
def _secret_key_from_secret_id(secret_id: str) -> str:
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(secret_id, transform="json", max_age=300)
    return str(value.get(KEY_NAME, "")) if isinstance(value, dict) else ""


def signing_key() -> str:
    """The signing key: ``SURVEY_SIGNING_KEY`` (environment or platform secret), else the generated
    secret named by ``SURVEY_SIGNING_SECRET_ID`` (the template creates one). Empty when neither."""
    import os

    key = secret(KEY_NAME)
    if key:
        return key
    secret_id = os.environ.get("SURVEY_SIGNING_SECRET_ID", "")
    return _secret_key_from_secret_id(secret_id) if secret_id else ""


def survey_link(conversation_id: str, expires_at: datetime) -> str | None:
    """The public survey link, or None when the base URL or the signing key is not configured."""
    base = secret("PUBLIC_BASE_URL").rstrip("/")
    key = signing_key()
    if not base or len(key) < MIN_KEY_CHARS:
        return None
    return f"{base}/survey/{quote(sign(conversation_id, expires_at, key), safe='')}"
