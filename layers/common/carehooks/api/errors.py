"""Every error of the agent API and how it becomes an HTTP answer, in one place.

The body is always ``{"error": {"code", "message", "fields"?}}`` (the shape of
:func:`carehooks.http.error_response`). ``fields`` lists ``{"field", "reason"}`` for invalid input, with
the field as ``<where>.<name>`` (``body.text``, ``query.limit``). Messages say what the caller can do;
they never carry stack traces, exception texts from libraries or table names. An unexpected failure is
logged in full and answered with a 500 that names only the request id.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from carehooks.observability import logger
from carehooks.store.errors import ConflictError, StoreError
from carehooks.store.queries import CursorError

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver


class ApiError(Exception):
    """An answer other than success. Subclasses fix the status and the code."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class InvalidInputError(ApiError):
    """Well-formed input the API cannot accept (the same answer as a failed model validation)."""

    status = 422
    code = "invalid_input"


class UnauthenticatedError(ApiError):
    status = 401
    code = "unauthenticated"


class ResourceNotFoundError(ApiError):
    status = 404
    code = "not_found"


class StateConflictError(ApiError):
    """The request does not fit the conversation's current state (e.g. resolving a resolved one)."""

    status = 409
    code = "conflict"


class VersionConflictError(StateConflictError):
    """The conversation changed since the version the caller read."""

    code = "version_conflict"


class SendNotDoneError(StateConflictError):
    """The channel did not take the message (outside its window, recipient unreachable, refused)."""

    code = "send_refused"

    def __init__(self, message: str, code: str = "send_refused") -> None:
        super().__init__(message)
        self.code = code


class UnavailableError(ApiError):
    """A dependency (the table, a platform) cannot answer now; retrying later may work."""

    status = 503
    code = "unavailable"


def error_body(code: str, message: str, fields: list[dict[str, str]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def error_response(
    status: int, code: str, message: str, fields: list[dict[str, str]] | None = None
) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(error_body(code, message, fields), separators=(",", ":")),
    )


def lambda_error(status: int, code: str, message: str) -> dict[str, Any]:
    """The same body as a raw Lambda proxy answer (for checks made before the resolver runs)."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps(error_body(code, message), separators=(",", ":")),
    }


def validation_fields(errors: list[Any]) -> list[dict[str, str]]:
    """``{"field", "reason"}`` for each pydantic error, without echoing the input back."""
    out: list[dict[str, str]] = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
        reason = str(error.get("msg") or error.get("type") or "invalid")
        out.append({"field": ".".join(location) or "body", "reason": reason})
    return out


def _is_json_error(errors: list[Any]) -> bool:
    return any(error.get("type") == "json_invalid" for error in errors)


def _api_error(exc: ApiError) -> Response[str]:
    return error_response(exc.status, exc.code, exc.message, exc.fields)


def _invalid(exc: RequestValidationError) -> Response[str]:
    errors = list(exc.errors())
    if _is_json_error(errors):
        return error_response(
            400, "invalid_json", "the body is not valid JSON", [{"field": "body", "reason": "invalid JSON"}]
        )
    return error_response(422, "invalid_input", "the request is not valid", validation_fields(errors))


def _media_type(exc: RequestUnsupportedContentType) -> Response[str]:
    return error_response(415, "unsupported_media_type", "send a JSON body (Content-Type: application/json)")


def _cursor(exc: CursorError) -> Response[str]:
    return error_response(400, "invalid_cursor", str(exc), [{"field": "query.cursor", "reason": str(exc)}])


def _conflict(exc: ConflictError) -> Response[str]:
    return error_response(
        409, "version_conflict", "the conversation changed while this request ran; read it again and retry"
    )


def _store(exc: StoreError) -> Response[str]:
    logger.warning("store unavailable", extra={"error": str(exc)})
    return error_response(503, "unavailable", "the conversation store is busy; try again shortly")


def _no_route(exc: RouteNotFoundError) -> Response[str]:
    return error_response(404, "not_found", "no such route")


def _service(exc: ServiceError) -> Response[str]:
    message = exc.msg if isinstance(exc.msg, str) else "the request could not be served"
    return error_response(int(exc.status_code), "error", message)


def register(app: APIGatewayHttpResolver) -> None:
    """Install the exception handlers on the resolver (the most specific class wins)."""

    def unexpected(exc: Exception) -> Response[str]:
        logger.exception("agent API request failed")
        request_id = (app.current_event.raw_event.get("requestContext") or {}).get("requestId", "-")
        return error_response(500, "internal", f"the request failed unexpectedly (request id {request_id})")

    app.exception_handler_manager.update_exception_handlers(
        {
            ApiError: _api_error,
            RequestValidationError: _invalid,
            RequestUnsupportedContentType: _media_type,
            CursorError: _cursor,
            ConflictError: _conflict,
            StoreError: _store,
            RouteNotFoundError: _no_route,
            ServiceError: _service,
            Exception: unexpected,
        }
    )
