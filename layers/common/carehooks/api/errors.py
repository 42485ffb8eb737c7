"""The agent API's errors on the resolver: Powertools' exception handlers call the one mapper.

The error classes, their statuses, codes and messages, the body and the mapping live in
:mod:`carehooks.web.errors`. Here: which exceptions of the framework and of the store answer as which
HTTP error (:data:`TRANSLATIONS`), and :func:`register`, which installs one handler for all of them.
Messages never carry stack traces, exception texts from libraries or table names. An unexpected failure
is logged in full and answered with a 500 that names only the request id.
"""

from __future__ import annotations

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
from carehooks.web.errors import (
    HttpError,
    InternalError,
    InvalidCursorError,
    InvalidInputError,
    InvalidJsonError,
    JsonRequiredError,
    NoRouteError,
    StatusError,
    StoreBusyError,
    Translations,
    VersionConflictError,
    error_json,
    http_error,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver


def validation_fields(errors: list[Any]) -> list[dict[str, str]]:
    """``{"field", "reason"}`` for each pydantic error, without echoing the input back."""
    out: list[dict[str, str]] = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
        reason = str(error.get("msg") or error.get("type") or "invalid")
        out.append({"field": ".".join(location) or "body", "reason": reason})
    return out


def _invalid(exc: RequestValidationError) -> HttpError:
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        return InvalidJsonError(fields=[{"field": "body", "reason": "invalid JSON"}])
    return InvalidInputError(fields=validation_fields(errors))


def _cursor(exc: CursorError) -> HttpError:
    return InvalidCursorError(str(exc), [{"field": "query.cursor", "reason": str(exc)}])


def _store(exc: StoreError) -> HttpError:
    logger.warning("store unavailable", extra={"error": str(exc)})
    return StoreBusyError()


def _service(exc: ServiceError) -> HttpError:
    return StatusError(int(exc.status_code), exc.msg if isinstance(exc.msg, str) else None)


TRANSLATIONS: Translations = {
    RequestValidationError: _invalid,
    RequestUnsupportedContentType: lambda exc: JsonRequiredError(),
    CursorError: _cursor,
    ConflictError: lambda exc: VersionConflictError(),
    StoreError: _store,
    RouteNotFoundError: lambda exc: NoRouteError(),
    ServiceError: _service,
}


def register(app: APIGatewayHttpResolver) -> None:
    """Install the one exception handler on the resolver, for HTTP errors, translations and the rest."""

    def answer(exc: Exception) -> Response[str]:
        error = http_error(exc, TRANSLATIONS)
        if error is None:
            logger.exception("agent API request failed")
            error = InternalError(
                (app.current_event.raw_event.get("requestContext") or {}).get("requestId", "-")
            )
        return Response(
            status_code=error.status, content_type=content_types.APPLICATION_JSON, body=error_json(error)
        )

    app.exception_handler_manager.update_exception_handlers(
        dict.fromkeys((HttpError, *TRANSLATIONS, Exception), answer)
    )
