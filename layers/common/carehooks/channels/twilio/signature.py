"""``X-Twilio-Signature``: base64 HMAC-SHA1, keyed with the auth token, of the full URL Twilio called
followed by every POST parameter sorted by name, each name immediately followed by its value.

Blank parameters count, and the URL must match byte for byte (query string included). Like Twilio's
own validator, an https URL is also tried with and without its default port ``:443``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit


def signature(url: str, params: Iterable[tuple[str, str]], auth_token: str) -> str:
    """The header value Twilio would send for a POST of ``params`` to ``url``."""
    pairs = sorted(params)  # by name, then value (repeated names are signed in value order, as the SDK does)
    payload = url + "".join(name + value for name, value in pairs)
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def url_variants(url: str) -> list[str]:
    """``url`` and its twin with/without the scheme's default port."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if default is None or parts.hostname is None:
        return [url]
    host = parts.hostname
    if parts.port is None:
        twin = parts._replace(netloc=f"{parts.netloc}:{default}")
    elif parts.port == default:
        twin = parts._replace(netloc=parts.netloc.rsplit(":", 1)[0] if host else parts.netloc)
    else:
        return [url]
    return [url, urlunsplit(twin)]


def verify(url: str, params: list[tuple[str, str]], header: str | None, auth_tokens: list[str]) -> bool:
    """True when ``header`` signs the request with one of the live auth tokens (primary, secondary)."""
    if not header:
        return False
    given = header.strip().encode()
    return any(
        hmac.compare_digest(signature(candidate, params, token).encode(), given)
        for token in auth_tokens
        if token
        for candidate in url_variants(url)
    )
