"""Every HTTP error and how it becomes an answer, for the webhooks, the agent API and the survey page.

An :class:`HttpError` carries a status, a code and a message safe to show the caller; ``detail`` is
for the logs only and never reaches a body. The body is always ``{"error": {"code", "message",
"fields"?}}`` (:func:`error_body`); ``fields`` lists ``{"field", "reason"}`` for invalid input.

:func:`http_error` is the one mapper: an exception answers as itself when it is an :class:`HttpError`,
else as its translation (exceptions of lower floors and libraries, given by the edge that sees them;
the most specific class wins), else it is unforeseen (``None``: the edge logs it and answers its own
fallback). :func:`error_response` turns the mapped error into the API Gateway answer; the survey page
renders a notice page from the mapped status instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from carehooks.web.responses import json_response, json_text

Fields = list[dict[str, str]]


class HttpError(Exception):
    """An answer other than success. Subclasses fix the status, the code and the default message."""

    status = 400
    code = "bad_request"
    message = "Bad request."

    def __init_subclass__(
        cls, *, status: int | None = None, code: str | None = None, message: str | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code
        if message is not None:
            cls.message = message

    def __init__(self, detail: str = "", *, message: str | None = None, fields: Fields | None = None) -> None:
        super().__init__(detail or self.code)
        self.detail = detail
        if message is not None:
            self.message = message
        self.fields = fields

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.fields)


# How an edge maps exceptions that are not HTTP errors (of lower floors, of libraries) to one.
Translations = Mapping[type[Exception], Callable[[Any], HttpError]]


# ---------------------------------------------------------------- webhooks: fixed, non-leaking messages
class IngressError(HttpError):
    """A refused webhook request; the platform sees only the class's message, never ``detail``."""


class MalformedBodyError(
    IngressError, code="malformed_body", message="The request body is not a valid webhook payload."
): ...


class PayloadTooLargeError(
    IngressError, status=413, code="payload_too_large", message="The request body is too large."
): ...


class UnsupportedMediaTypeError(
    IngressError,
    status=415,
    code="unsupported_media_type",
    message="The request content type is not supported.",
): ...


class InvalidSignatureError(
    IngressError, status=401, code="invalid_signature", message="The request signature is missing or invalid."
): ...


class ForbiddenError(IngressError, status=403, code="forbidden", message="Verification failed."): ...


class NotConfiguredError(
    IngressError, status=500, code="not_configured", message="The webhook is not configured."
):
    """A secret the check needs is not configured: reject (500) and log, never skip the check."""


class EnqueueError(
    IngressError, status=503, code="enqueue_failed", message="The event could not be accepted; please retry."
):
    """SQS did not accept every event: answer 5xx so the platform retries."""


# ---------------------------------------------------------------- the agent API: messages for callers
class ApiError(HttpError):
    """An agent API answer; its message is written for the caller (never a library's text)."""

    def __init__(self, message: str | None = None, fields: Fields | None = None) -> None:
        super().__init__(message or "", message=message, fields=fields)


class InvalidInputError(ApiError, status=422, code="invalid_input", message="the request is not valid"):
    """Well-formed input the API cannot accept (the same answer as a failed model validation)."""


class InvalidJsonError(ApiError, code="invalid_json", message="the body is not valid JSON"): ...


class InvalidBodyError(ApiError, code="invalid_body", message="the body cannot be read"):
    """The body is not text (bad base64, not UTF-8): refused before routing."""


class BodyTooLargeError(
    ApiError, status=413, code="payload_too_large", message="the body is larger than 1 MiB"
): ...


class InvalidCursorError(ApiError, code="invalid_cursor", message="the cursor is not valid"): ...


class JsonRequiredError(
    UnsupportedMediaTypeError, message="send a JSON body (Content-Type: application/json)"
): ...


class UnauthenticatedError(
    ApiError, status=401, code="unauthenticated", message="a valid agent token is required"
): ...


class ResourceNotFoundError(ApiError, status=404, code="not_found", message="no such resource"): ...


class NoRouteError(ResourceNotFoundError, message="no such route"): ...


class GoneError(ApiError, status=410, code="gone", message="this is no longer available"):
    """Genuine but expired (a survey link past its expiry)."""


class StateConflictError(
    ApiError, status=409, code="conflict", message="the request conflicts with the current state"
):
    """The request does not fit the conversation's current state (e.g. resolving a resolved one)."""


class VersionConflictError(
    StateConflictError,
    code="version_conflict",
    message="the conversation changed while this request ran; read it again and retry",
):
    """The conversation changed since the version the caller read."""


class SendNotDoneError(
    StateConflictError, code="send_refused", message="the channel did not take the message"
):
    """The channel did not take the message (outside its window, recipient unreachable, refused)."""

    def __init__(self, message: str, code: str = "send_refused") -> None:
        super().__init__(message)
        self.code = code


class UnavailableError(
    ApiError, status=503, code="unavailable", message="unavailable right now; try again shortly"
):
    """A dependency (the table, a platform) cannot answer now; retrying later may work."""


class StoreBusyError(UnavailableError, message="the conversation store is busy; try again shortly"): ...


class StatusError(ApiError, code="error", message="the request could not be served"):
    """An answer the HTTP framework chose (its status, its message)."""

    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(message)
        self.status = status


class InternalError(ApiError, status=500, code="internal"):
    """An unforeseen failure: the answer names only the request id (the logs hold the rest)."""

    def __init__(self, request_id: str) -> None:
        super().__init__(f"the request failed unexpectedly (request id {request_id})")


# ---------------------------------------------------------------- the mapper and the one body
def http_error(exc: BaseException, translations: Translations | None = None) -> HttpError | None:
    """The HTTP error ``exc`` answers as: itself, its translation (most specific class first), or
    ``None`` when it is unforeseen."""
    if isinstance(exc, HttpError):
        return exc
    for cls in type(exc).__mro__:
        translate = (translations or {}).get(cls)
        if translate is not None:
            return translate(exc)
    return None


def error_body(code: str, message: str, fields: Fields | None = None) -> dict[str, Any]:
    """The one error body: ``{"error": {"code", "message", "fields"?}}``."""
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def error_json(error: HttpError) -> str:
    """The error's body as the JSON text of an answer."""
    return json_text(error.body())


def error_response(error: HttpError) -> dict[str, Any]:
    """The error as an API Gateway (payload v2) JSON answer."""
    return json_response(error.status, error.body())


# ---------------------------------------------------------------- the agent API: contacts and notes (issue 16)
class NotAllowedError(ApiError, status=403, code="forbidden", message="you are not allowed to do this"):
    """The agent is authenticated but may not do this (e.g. delete another agent's note)."""
