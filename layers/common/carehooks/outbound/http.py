"""The one HTTP session every platform call goes through.

- Connect and read timeouts on every request (``requests`` has no session-wide default).
- Retries by urllib3's ``Retry``, with exponential back-off and jitter, only where a retry cannot make
  the platform act twice (the decision table, per platform and with references, is
  ``docs/platform-retries.md``):

  - connection errors before the request was sent (refused, connect timeout): every request;
  - 429: every request (the platform refused it; none of them acts on a rate-limited request);
  - 500, 502, 503 and 504: only idempotent requests (reads, hiding a comment, subscribing an app).
    None of the send APIs (Meta's Send and Cloud APIs, X, Telegram, Twilio) takes an idempotency key,
    so a send answered with a 5xx *after its body went out* may have been delivered: it is not retried,
    and :func:`request` raises ``OutcomeUnknownError`` for it, like a read timeout.

  A ``Retry-After`` header is honoured; one longer than :data:`MAX_RETRY_AFTER` is not slept inside a
  Lambda but handed back to the caller (the platform client raises ``RateLimitedError`` with
  ``retry_after``), which backs off through its queue or schedule instead.
- Read errors (the request was sent, the answer never came: a read timeout, a connection dropped
  after sending) are **not** retried here: a POST may have been delivered already, and a second one
  would message the customer twice. They surface as ``OutcomeUnknownError`` (not retryable), so
  senders that must send at most once keep their claim and record the outcome as unknown.
- Anything that is not a network failure is returned as a response for the platform client to
  classify; the platform clients own their error tables.
"""

from __future__ import annotations

import email.utils
import logging
import time
from functools import cache
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from carehooks.outbound.models import OutcomeUnknownError, TransientError

if TYPE_CHECKING:
    from urllib3.connectionpool import ConnectionPool
    from urllib3.response import BaseHTTPResponse

CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 10.0
# Answers retried at once: a refusal (429) for every request; server errors only for idempotent ones.
SAFE_RETRY_STATUSES = frozenset({429})
IDEMPOTENT_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
MAX_RETRIES = 3
BACKOFF_FACTOR = 0.5
BACKOFF_MAX = 4.0
BACKOFF_JITTER = 0.5
MAX_RETRY_AFTER = 8.0
USER_AGENT = "carehooks/0.1 (+https://github.com/carehooks)"


# urllib3 logs the URL path when it retries (the pool's warnings and requests, Retry's DEBUG
# "Incremented Retry for (url=...)"). A platform that puts a secret in the path installs a filter on
# these loggers (:func:`filter_url_logs`); a logger's filter only sees records logged on it, so each is
# filtered.
URL_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry")


def filter_url_logs(log_filter: logging.Filter) -> None:
    """Install ``log_filter`` on every logger that writes request URLs (once per filter class)."""
    for name in URL_LOGGERS:
        url_logger = logging.getLogger(name)
        if not any(type(f) is type(log_filter) for f in url_logger.filters):
            url_logger.addFilter(log_filter)


def _sleep(seconds: float) -> None:
    """The one place retries wait (tests replace it to record the waits)."""
    time.sleep(seconds)


class PlatformRetry(Retry):
    """urllib3 ``Retry`` that never sleeps longer than :data:`MAX_RETRY_AFTER` inside a request."""

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        if response is not None:
            wait = self.get_retry_after(response)
            if wait is not None and wait > MAX_RETRY_AFTER:
                # Give the response back (raise_on_status=False): the caller backs off for that long.
                raise MaxRetryError(_pool, url or "", "Retry-After longer than this request may wait")  # type: ignore[arg-type]
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def sleep_for_retry(self, response: BaseHTTPResponse) -> bool:
        retry_after = self.get_retry_after(response)
        if retry_after:
            _sleep(retry_after)
            return True
        return False

    def _sleep_backoff(self) -> None:
        backoff = self.get_backoff_time()
        if backoff > 0:
            _sleep(backoff)


def retry_policy(idempotent: bool = False) -> PlatformRetry:
    """The retry policy of a platform call; an ``idempotent`` one is also retried on 5xx."""
    return PlatformRetry(
        total=MAX_RETRIES,
        connect=MAX_RETRIES,
        read=0,
        status=MAX_RETRIES,
        other=0,
        redirect=0,
        allowed_methods=None,  # POSTs too: which answers are safe is the session's choice (module doc)
        status_forcelist=IDEMPOTENT_RETRY_STATUSES if idempotent else SAFE_RETRY_STATUSES,
        backoff_factor=BACKOFF_FACTOR,
        backoff_max=BACKOFF_MAX,
        backoff_jitter=BACKOFF_JITTER,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )


@cache
def session(idempotent: bool = False) -> requests.Session:
    """The process's session for sends (or, ``idempotent``, for calls safe to repeat): pooled
    connections to each platform, the retry policy mounted."""
    new = requests.Session()
    adapter = HTTPAdapter(max_retries=retry_policy(idempotent), pool_connections=8, pool_maxsize=8)
    new.mount("https://", adapter)
    new.mount("http://", adapter)
    new.headers["User-Agent"] = USER_AGENT
    return new


def request(
    method: str,
    url: str,
    *,
    platform: str,
    json: Any = None,
    data: dict[str, str | list[str]] | None = None,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
    idempotent: bool | None = None,
) -> requests.Response:
    """Send one request through the shared session.

    ``idempotent`` says whether repeating the request is harmless (default: by its method, so a POST
    is not). Returns the final response whatever its status (after the retries the policy allows),
    except a 5xx answer to a request that is not idempotent; raises :class:`TransientError` when the
    platform could not be reached (nothing was sent), and :class:`OutcomeUnknownError` when the request
    went out and no answer came back, or a 5xx came back to a request that is not idempotent.
    """
    if idempotent is None:
        idempotent = method.upper() in IDEMPOTENT_METHODS
    try:
        response = session(idempotent).request(
            method, url, json=json, data=data, headers=headers, auth=auth, timeout=timeout
        )
    except requests.ConnectTimeout as exc:
        raise TransientError(f"{platform} could not be reached (connect timeout)") from exc
    except requests.Timeout as exc:
        raise OutcomeUnknownError(
            f"{platform} did not answer in time; the message may or may not have been sent"
        ) from exc
    except requests.ConnectionError as exc:
        if _broken_after_sending(exc):
            raise OutcomeUnknownError(
                f"{platform} dropped the connection before answering; the message may or may not have been sent"
            ) from exc
        raise TransientError(f"{platform} could not be reached (connection error)") from exc
    except requests.RequestException as exc:
        raise TransientError(f"{platform} request failed: {type(exc).__name__}") from exc
    if response.status_code >= 500 and not idempotent:
        # The body went out and the platform failed while handling it: it may have sent the message.
        raise OutcomeUnknownError(
            f"{platform} answered HTTP {response.status_code} after receiving the request; "
            "the message may or may not have been sent",
            platform_code=str(response.status_code),
        )
    return response


def _broken_after_sending(exc: requests.ConnectionError) -> bool:
    """Whether the connection broke while waiting for the answer (urllib3's ProtocolError), not before."""
    from urllib3.exceptions import ProtocolError

    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ProtocolError):
            return True
        reason = getattr(current, "reason", None)
        nested = [*current.args, reason, current.__cause__, current.__context__]
        pending.extend(e for e in nested if isinstance(e, BaseException))
    return False


def retry_after(response: requests.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - time.time())


def json_body(response: requests.Response) -> dict[str, Any]:
    """The response body as a JSON object, or ``{}`` when it is not one (HTML error pages, empty)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
