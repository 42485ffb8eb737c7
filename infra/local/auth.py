"""The HTTP API JWT authorizer, locally.

Tokens are HS256, signed with a random secret kept in ``.local/jwt-secret`` (created on first start),
so only the stack's own ``POST /_local/token`` mints tokens it accepts. Issuer and audience come from
the template's authorizer (``JwtConfiguration``) when it sets them, else local defaults. What is
checked matches API Gateway: a bearer token in the identity-source header, signature, ``exp``/``nbf``,
issuer, audience (or ``client_id``), and the route's authorization scopes (403 when one is missing).
Claims reach the function as strings, as API Gateway passes them. Token times are wall-clock times:
API Gateway does not know the stack's shared clock.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

import jwt

from infra.local.model import JwtAuthorizer, Route

DEFAULT_ISSUER = "carehooks-local"
DEFAULT_AUDIENCE = "carehooks-agents"
TOKEN_SECONDS = 12 * 3600


class AuthError(Exception):
    """401 (``forbidden=False``) or 403 (a valid token without the scope the route needs)."""

    def __init__(self, reason: str, forbidden: bool = False) -> None:
        super().__init__(reason)
        self.forbidden = forbidden


def _claim_text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class LocalJwt:
    """Mints and checks the stack's agent tokens."""

    def __init__(self, secret_file: Path, authorizers: list[JwtAuthorizer]) -> None:
        self.secret = self._load_secret(secret_file)
        first = authorizers[0] if authorizers else None
        self.issuer = (first.issuer if first else "") or DEFAULT_ISSUER
        audiences = [a for auth in authorizers for a in auth.audience]
        self.audience = audiences[0] if audiences else DEFAULT_AUDIENCE

    @staticmethod
    def _load_secret(path: Path) -> str:
        try:
            value = path.read_text(encoding="utf-8").strip()
            if value:
                return value
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value)
        return value

    def mint(self, claims: dict[str, Any]) -> str:
        """A token for ``claims`` (``sub`` required; ``email``, ``name``, ``scope`` … optional)."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_SECONDS,
            "token_use": "access",
        }
        payload.update({k: v for k, v in claims.items() if v is not None})
        return jwt.encode(payload, self.secret, algorithm="HS256")

    def authorize(self, route: Route, headers: dict[str, str]) -> dict[str, Any]:
        """The ``requestContext.authorizer`` of an authorized request; raises :class:`AuthError`."""
        if route.unsupported_auth:
            raise AuthError(route.unsupported_auth)
        authorizer = route.authorizer
        assert authorizer is not None
        raw = headers.get(authorizer.header, "").strip()
        if raw.lower().startswith("bearer "):
            raw = raw[7:].strip()
        if not raw:
            raise AuthError("no token")
        try:
            claims: dict[str, Any] = jwt.decode(
                raw,
                self.secret,
                algorithms=["HS256"],
                options={"verify_aud": False, "require": ["exp"]},
                leeway=0,
            )
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        issuer = authorizer.issuer or DEFAULT_ISSUER
        if claims.get("iss") != issuer:
            raise AuthError("issuer mismatch")
        audiences = set(authorizer.audience or (DEFAULT_AUDIENCE,))
        token_aud = claims.get("aud")
        token_audiences = set(token_aud if isinstance(token_aud, list) else [token_aud])
        if not (audiences & token_audiences) and claims.get("client_id") not in audiences:
            raise AuthError("audience mismatch")
        token_scopes = str(claims.get("scope") or claims.get("scp") or "").split()
        if route.scopes and not set(route.scopes) & set(token_scopes):
            raise AuthError("missing scope", forbidden=True)
        return {
            "jwt": {
                "claims": {k: _claim_text(v) for k, v in claims.items()},
                "scopes": token_scopes or None,
            }
        }
