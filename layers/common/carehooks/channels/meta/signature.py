"""Meta's ``X-Hub-Signature-256``: lowercase hex HMAC-SHA256 of the raw body, keyed with the app secret."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(raw: bytes, app_secret: str) -> str:
    """The header value Meta would send for ``raw``."""
    return PREFIX + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()


def verify(raw: bytes, header: str | None, app_secrets: list[str]) -> bool:
    """True when ``header`` signs ``raw`` with one of the live app secrets. No secret never verifies."""
    if not header or not header.startswith(PREFIX):
        return False
    given = header[len(PREFIX) :].strip().lower()
    return any(
        hmac.compare_digest(hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest(), given)
        for secret in app_secrets
        if secret
    )
