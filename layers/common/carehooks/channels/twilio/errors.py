"""Twilio's error codes → the SendError taxonomy and readable reasons: the one table for sends (API
errors) and status callbacks (``ErrorCode`` of an undelivered or failed message).

Codes marked *(unverified)* in platforms.md are included as documented there; the rest are from
Twilio's public error dictionary.
"""

from __future__ import annotations

from carehooks.outbound.models import (
    AuthConfigError,
    OutsideWindowError,
    PermanentError,
    RateLimitedError,
    RecipientUnreachableError,
    SendError,
    TransientError,
)

_TABLE: dict[int, tuple[type[SendError], str]] = {
    11751: (PermanentError, "the attachment is larger than the carrier or WhatsApp accepts"),
    12300: (PermanentError, "the attachment's URL answered with a content type Twilio cannot send"),
    20003: (AuthConfigError, "Twilio rejected the credentials (TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN)"),
    20404: (AuthConfigError, "Twilio could not find the account or resource (check TWILIO_ACCOUNT_SID)"),
    20429: (RateLimitedError, "Twilio is rate limiting requests"),
    21211: (RecipientUnreachableError, "the customer's number is not a valid phone number"),
    21408: (AuthConfigError, "sending to this region is not enabled on the Twilio account"),
    21606: (AuthConfigError, "the sending number cannot send messages to this destination"),
    21610: (RecipientUnreachableError, "the customer replied STOP and unsubscribed from this number"),
    21612: (RecipientUnreachableError, "this route cannot reach the customer's number"),
    21614: (RecipientUnreachableError, "the customer's number cannot receive SMS (not a mobile number)"),
    21617: (PermanentError, "the message body is longer than Twilio allows (1600 characters)"),
    21620: (PermanentError, "an attachment URL is not valid or could not be fetched"),
    21623: (PermanentError, "too many attachments for one message (at most 10)"),
    21656: (PermanentError, "a template variable (ContentVariables) was empty or invalid"),
    21659: (AuthConfigError, "the sending number does not belong to this Twilio account"),
    30003: (RecipientUnreachableError, "the customer's handset is unreachable"),
    30005: (RecipientUnreachableError, "the customer's number is unknown or no longer exists"),
    30006: (RecipientUnreachableError, "the customer's number is a landline or unreachable carrier"),
    30007: (PermanentError, "the carrier filtered the message (spam or content rules)"),
    30008: (TransientError, "the carrier reported an unknown error"),
    63003: (RecipientUnreachableError, "WhatsApp could not find the customer's address"),
    63007: (AuthConfigError, "no WhatsApp sender is configured for the sending number"),
    63016: (
        OutsideWindowError,
        "outside the WhatsApp 24-hour window: free-form text is refused; an approved template (ContentSid) is needed",
    ),
    63018: (RateLimitedError, "WhatsApp's rate limit for this sender was exceeded"),
    63019: (PermanentError, "WhatsApp could not download the attachment from its URL"),
    63024: (RecipientUnreachableError, "the customer is not a valid WhatsApp recipient"),
}


def describe(code: str | int | None) -> str | None:
    """A readable description of a Twilio error code (None for no code)."""
    if code in (None, ""):
        return None
    number = _int(code)
    if number is not None and number in _TABLE:
        return f"{_TABLE[number][1]} (Twilio error {number})"
    return f"Twilio error {code}"


def classify(
    status_code: int, code: str | int | None, message: str = "", retry_after: float | None = None
) -> SendError:
    """A failed send (HTTP status + Twilio ``code``) as a SendError with a readable reason."""
    number = _int(code)
    platform_code = str(number) if number is not None else str(status_code)
    if number is not None and number in _TABLE:
        kind, text = _TABLE[number]
        return kind(f"{text} (Twilio error {number})", platform_code=platform_code, retry_after=retry_after)
    suffix = f": {message[:200]}" if message else ""
    if status_code == 429:
        return RateLimitedError(
            "Twilio is rate limiting requests", platform_code=platform_code, retry_after=retry_after
        )
    if status_code >= 500:
        return TransientError(f"Twilio answered HTTP {status_code}{suffix}", platform_code=platform_code)
    if status_code in (401, 403):
        return AuthConfigError(f"Twilio refused the credentials{suffix}", platform_code=platform_code)
    return PermanentError(f"Twilio rejected the message{suffix}", platform_code=platform_code)


def _int(value: str | int | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        return None
