"""X client: direct messages (``POST /2/dm_conversations/with/{id}/messages``) and public replies
(``POST /2/tweets`` with ``reply.in_reply_to_tweet_id``), with the ``X_ACCESS_TOKEN`` user token.

X has no messaging window, but the customer must accept the account's DMs. Buttons do not exist in
the v2 DM API, so choices are listed as numbered lines. A public reply is cut to 280 weighted
characters, counted as X counts them (:mod:`carehooks.channels.x.weighted`).
"""

from __future__ import annotations

import time
from typing import Any

import requests

from carehooks.channels.x.traits import DM_LIMIT, DM_MEASURE, POST_LIMIT, POST_MEASURE
from carehooks.config.settings import secret
from carehooks.domain.models import Conversation
from carehooks.outbound import http
from carehooks.outbound.client import STANDARD, SendPlan
from carehooks.outbound.models import (
    AuthConfigError,
    OutboundMessage,
    OutcomeUnknownError,
    PermanentError,
    RateLimitedError,
    RecipientUnreachableError,
    SendError,
    SendResult,
    TransientError,
)
from carehooks.outbound.text import choices_as_text, fit

PLATFORM = "X"
API_URL = "https://api.x.com"  # unless X_API_URL says otherwise


class XClient:
    """Sends for the account the conversation belongs to (``X_ACCESS_TOKEN``: OAuth 2.0 user token)."""

    def __init__(self, base_url: str | None = None) -> None:
        self._base_url = base_url

    @property
    def base_url(self) -> str:
        return (self._base_url or secret("X_API_URL") or API_URL).rstrip("/")

    def send(
        self, conversation: Conversation, message: OutboundMessage, plan: SendPlan = STANDARD
    ) -> SendResult:
        """A public reply when ``plan.public_reply_to`` is set, else a direct message."""
        if plan.mode != "standard":
            raise PermanentError(f"X has no {plan.mode} sends")
        text = choices_as_text(message.text, message.choices)
        if plan.public_reply_to:
            fitted = fit(text, POST_LIMIT, measure=POST_MEASURE)
            body: dict[str, Any] = {
                "text": fitted.text,
                "reply": {"in_reply_to_tweet_id": plan.public_reply_to},
            }
            answer = self._post("/2/tweets", body, public=True)
            data = answer.get("data") if isinstance(answer.get("data"), dict) else {}
            post_id = (data or {}).get("id")
            if not post_id:
                raise OutcomeUnknownError("X accepted the post but returned no id")
            return SendResult(
                status="sent",
                platform_message_id=str(post_id),
                details={**fitted.details, "x_send": "public_reply"},
            )
        fitted = fit(text, DM_LIMIT, measure=DM_MEASURE)
        answer = self._post(
            f"/2/dm_conversations/with/{conversation.contact_id}/messages",
            {"text": fitted.text},
            public=False,
        )
        data = answer.get("data") if isinstance(answer.get("data"), dict) else {}
        event_id = (data or {}).get("dm_event_id")
        if not event_id:
            raise OutcomeUnknownError("X accepted the direct message but returned no dm_event_id")
        return SendResult(
            status="sent",
            platform_message_id=str(event_id),
            details={**fitted.details, "x_send": "direct_message"},
        )

    def _post(self, path: str, body: dict[str, Any], public: bool) -> dict[str, Any]:
        token = secret("X_ACCESS_TOKEN")
        if not token:
            raise AuthConfigError("no X access token configured (set X_ACCESS_TOKEN)")
        response = http.request(
            "POST",
            f"{self.base_url}{path}",
            platform=PLATFORM,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        answer = http.json_body(response)
        if response.status_code >= 400:
            raise classify(response, answer, public)
        return answer


def classify(response: requests.Response, body: dict[str, Any], public: bool) -> SendError:
    """The one mapping of a failed X call onto the SendError taxonomy."""
    status = response.status_code
    detail = _detail(body)
    code = str(status)
    if status == 429:
        return RateLimitedError(
            "X rate limit reached for this account or app", platform_code=code, retry_after=_reset(response)
        )
    if status == 401:
        return AuthConfigError("X rejected the access token (expired or revoked)", platform_code=code)
    if status == 403:
        return _forbidden(body, detail, public)
    if status == 404:
        return RecipientUnreachableError(
            f"X could not find the recipient or post: {detail}", platform_code=code
        )
    if status >= 500:
        return TransientError(f"X answered HTTP {status}", platform_code=code)
    return PermanentError(f"X rejected the request: {detail or f'HTTP {status}'}", platform_code=code)


def _forbidden(body: dict[str, Any], detail: str, public: bool) -> SendError:
    code = "403"
    # An app without the right access level or product enrolment: configuration, not the customer.
    if body.get("reason") == "client-not-enrolled" or "authentication" in str(body.get("title", "")).lower():
        return AuthConfigError(f"the X app is not allowed to do this: {detail}", platform_code=code)
    if public:
        return PermanentError(f"X refused the public reply: {detail or 'forbidden'}", platform_code=code)
    return RecipientUnreachableError(
        f"the customer does not accept direct messages from this account ({detail or 'forbidden'})",
        platform_code=code,
    )


def _detail(body: dict[str, Any]) -> str:
    if body.get("detail"):
        return str(body["detail"])[:200]
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message") or errors[0].get("detail") or "")[:200]
    return str(body.get("title") or "")[:200]


def _reset(response: requests.Response) -> float | None:
    """X says when the limit resets (``x-rate-limit-reset``, epoch seconds); ``Retry-After`` if given."""
    header = http.retry_after(response)
    if header is not None:
        return header
    reset = response.headers.get("x-rate-limit-reset", "")
    if reset.isdigit():
        return max(0.0, int(reset) - time.time())
    return None
