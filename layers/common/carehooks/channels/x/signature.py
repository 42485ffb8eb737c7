"""X's CRC answer and ``x-twitter-webhooks-signature``: base64 HMAC-SHA256 keyed with the consumer secret."""

from __future__ import annotations

import base64
import hashlib
import hmac

PREFIX = "sha256="


def _b64_hmac(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def crc_response_token(crc_token: str, consumer_secret: str) -> str:
    """The ``response_token`` answering a CRC challenge."""
    return PREFIX + _b64_hmac(consumer_secret, crc_token.encode())


def sign(raw: bytes, consumer_secret: str) -> str:
    """The header value X would send for ``raw``."""
    return PREFIX + _b64_hmac(consumer_secret, raw)


def verify(raw: bytes, header: str | None, consumer_secrets: list[str]) -> bool:
    """True when ``header`` signs the raw bytes with one of the live consumer secrets; none never verifies."""
    if not header or not header.startswith(PREFIX):
        return False
    given = header.strip().encode()
    return any(
        hmac.compare_digest(sign(raw, secret).encode(), given) for secret in consumer_secrets if secret
    )
