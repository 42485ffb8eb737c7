"""The Graph API client Messenger, Instagram and WhatsApp share: tokens, requests, and Meta's error table.

Access tokens: ``META_ACCESS_TOKEN_<id>`` for one Page, Instagram account or WhatsApp phone number id
(the conversation's ``account_id``), else ``META_ACCESS_TOKEN`` for all of them. Tokens travel in the
``Authorization: Bearer`` header, never in the URL, so request logs and the local outbox hold no token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carehooks.config.settings import secret
from carehooks.outbound import http
from carehooks.outbound.models import (
    AuthConfigError,
    OutsideWindowError,
    PermanentError,
    RateLimitedError,
    RecipientUnreachableError,
    SendError,
    TransientError,
)

PLATFORM = "Meta"
API_URL = "https://graph.facebook.com/v25.0"  # unless META_GRAPH_URL says otherwise


def access_token(account_id: str) -> str:
    """The token for one Page / Instagram account / phone number id; AuthConfigError when none is set."""
    token = secret(f"META_ACCESS_TOKEN_{account_id}") or secret("META_ACCESS_TOKEN")
    if not token:
        raise AuthConfigError(
            f"no Meta access token configured for {account_id} "
            f"(set META_ACCESS_TOKEN_{account_id} or META_ACCESS_TOKEN)"
        )
    return token


@dataclass(frozen=True)
class _Rule:
    kind: type[SendError]
    reason: str


# Meta's error codes (platforms.md §2.8, §4.5) → the SendError taxonomy. Codes marked there as
# unverified are included as documented; anything unknown falls back on the HTTP status.
_BY_CODE_AND_SUBCODE: dict[tuple[int, int], _Rule] = {
    (10, 2018278): _Rule(OutsideWindowError, "outside the 24-hour messaging window (Meta refused the send)"),
    (10, 2534022): _Rule(
        OutsideWindowError, "outside the Instagram 24-hour messaging window (Meta refused the send)"
    ),
    (551, 1545041): _Rule(RecipientUnreachableError, "the person is not available to receive messages"),
}
_BY_CODE: dict[int, _Rule] = {
    1: _Rule(TransientError, "Meta reported an unknown temporary error"),
    2: _Rule(
        TransientError,
        "Meta's service was temporarily unavailable (also seen when the customer blocked the business)",
    ),
    4: _Rule(RateLimitedError, "the app hit Meta's rate limit"),
    10: _Rule(AuthConfigError, "the app lacks the permission this send needs"),
    17: _Rule(RateLimitedError, "the account hit Meta's rate limit"),
    32: _Rule(RateLimitedError, "the Page hit Meta's rate limit"),
    100: _Rule(PermanentError, "Meta rejected a parameter of the request"),
    190: _Rule(AuthConfigError, "the Meta access token is invalid or expired"),
    200: _Rule(AuthConfigError, "the app lacks the permission this send needs"),
    551: _Rule(RecipientUnreachableError, "the person is not available (messages turned off or unreachable)"),
    613: _Rule(RateLimitedError, "the app hit Meta's rate limit"),
    80007: _Rule(RateLimitedError, "the WhatsApp Business Account hit its rate limit"),
    130429: _Rule(RateLimitedError, "the phone number hit WhatsApp's throughput limit"),
    131000: _Rule(TransientError, "WhatsApp reported an unknown error"),
    131026: _Rule(RecipientUnreachableError, "the message could not be delivered to this WhatsApp user"),
    131047: _Rule(
        OutsideWindowError,
        "more than 24 hours since the customer last wrote: only an approved template may be sent",
    ),
    131048: _Rule(RateLimitedError, "WhatsApp's spam rate limit: sending from this number is paused for now"),
    131049: _Rule(PermanentError, "WhatsApp did not deliver it, to maintain healthy ecosystem engagement"),
    131050: _Rule(RecipientUnreachableError, "the customer stopped marketing messages from this business"),
    131051: _Rule(PermanentError, "WhatsApp does not support this message type"),
    131053: _Rule(
        PermanentError, "WhatsApp could not fetch or use the attachment from its URL (media upload error)"
    ),
    132000: _Rule(PermanentError, "the template's parameter count does not match the approved template"),
    132001: _Rule(PermanentError, "the template does not exist in this language, or is not approved"),
    133010: _Rule(AuthConfigError, "the WhatsApp phone number is not registered"),
}


def classify(status_code: int, body: dict[str, Any], retry_after: float | None = None) -> SendError:
    """The one mapping of a failed Graph call onto the SendError taxonomy, with a readable reason."""
    raw_error = body.get("error")
    error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
    code = _int(error.get("code"))
    subcode = _int(error.get("error_subcode"))
    platform_code = None if code is None else (f"{code}/{subcode}" if subcode else str(code))
    rule = _BY_CODE_AND_SUBCODE.get((code or 0, subcode or 0)) or _BY_CODE.get(code or 0)
    if rule is None and code is not None and 200 <= code < 300:
        rule = _BY_CODE[200]
    if rule is None:
        rule = _by_status(status_code)
    detail = str(error.get("error_user_msg") or error.get("message") or "").strip()
    reason = rule.reason
    if detail and rule.kind is PermanentError:
        reason = f"{reason}: {detail[:200]}"
    if platform_code:
        reason = f"{reason} (Meta error {platform_code})"
    return rule.kind(reason, platform_code=platform_code, retry_after=retry_after)


def _by_status(status_code: int) -> _Rule:
    if status_code == 429:
        return _Rule(RateLimitedError, "Meta is rate limiting requests")
    if status_code >= 500:
        return _Rule(TransientError, f"Meta answered HTTP {status_code}")
    if status_code in (401, 403):
        return _Rule(AuthConfigError, f"Meta refused the credentials (HTTP {status_code})")
    return _Rule(PermanentError, f"Meta rejected the request (HTTP {status_code})")


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class GraphClient:
    """Authenticated JSON calls to the Graph API (``META_GRAPH_URL``)."""

    def __init__(self, base_url: str | None = None) -> None:
        self._base_url = base_url

    @property
    def base_url(self) -> str:
        return (self._base_url or secret("META_GRAPH_URL") or API_URL).rstrip("/")

    def call(
        self,
        method: str,
        path: str,
        account_id: str,
        body: dict[str, Any] | None = None,
        *,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """One Graph call with the account's token; the JSON answer, or a classified SendError.

        ``idempotent`` marks a POST that is harmless to repeat (hiding a comment, subscribing an app),
        which is then retried on 5xx too (:mod:`carehooks.outbound.http`).
        """
        token = access_token(account_id)
        response = http.request(
            method,
            f"{self.base_url}/{path.lstrip('/')}",
            platform=PLATFORM,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            idempotent=idempotent,
        )
        answer = http.json_body(response)
        if response.status_code >= 400 or "error" in answer:
            raise classify(response.status_code, answer, http.retry_after(response))
        return answer
