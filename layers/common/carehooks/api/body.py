"""What the agent API accepts as a request body, checked once for every route before routing.

Every body of the API is one JSON object sent as ``application/json``; a request without a body sends
none (zero bytes). Anything else is refused the same way on every route, present or future:

=====  ======================  ==============================================================
 413   ``payload_too_large``   more than :data:`MAX_BODY_BYTES`
 400   ``invalid_body``        not text: bad base64, not UTF-8
 415   ``unsupported_media_type``  no ``Content-Type: application/json`` (form posts, multipart,
                               text, none at all)
 400   ``invalid_json``        not JSON, ``NaN``, or nested deeper than 32 levels
 422   ``invalid_input``       JSON, but not an object (``null``, ``[null, null]``, ``"x"``), or an
                               integer longer than 1,000 digits
=====  ======================  ==============================================================

The routes' models then check the object's fields (422 naming each). Checking here, before the
framework reads the body, keeps its own readers (form fields, multipart parts, an unguarded
``json.loads``) from ever seeing a body the API does not speak.
"""

from __future__ import annotations

from typing import Any

from carehooks.web.errors import (
    BodyTooLargeError,
    HttpError,
    InvalidBodyError,
    InvalidInputError,
    InvalidJsonError,
    JsonRequiredError,
)
from carehooks.web.events import RequestBodyError, header, raw_body
from carehooks.web.jsonbody import JsonBodyError, NumberTooLongError, parse

# The largest legitimate body (a rules dry run with 65,536 characters of text, every one escaped) is
# well under this; API Gateway refuses more than 10 MB itself, and Lambda more than 6 MB.
MAX_BODY_BYTES = 1_048_576
JSON_MEDIA_TYPE = "application/json"


def body_problem(event: dict[str, Any]) -> HttpError | None:
    """Why the body of ``event`` cannot be accepted, or None when there is none or it is one JSON object."""
    try:
        check_body(event)
    except HttpError as error:
        return error
    return None


def check_body(event: dict[str, Any]) -> None:
    """Raise the :class:`HttpError` a body that is not one JSON object sent as JSON answers as."""
    try:
        raw = raw_body(event)
    except RequestBodyError as exc:
        raise InvalidBodyError(f"the {exc}") from exc
    if not raw:
        return
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLargeError(f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidBodyError("the body is not UTF-8 text") from exc
    if media_type(header(event, "content-type")) != JSON_MEDIA_TYPE:
        raise JsonRequiredError()
    try:
        document = parse(text)
    except NumberTooLongError as exc:
        raise InvalidInputError(fields=[{"field": "body", "reason": str(exc)}]) from exc
    except JsonBodyError as exc:
        raise InvalidJsonError(fields=[{"field": "body", "reason": str(exc)}]) from exc
    if not isinstance(document, dict):
        raise InvalidInputError(fields=[{"field": "body", "reason": "the body must be a JSON object"}])
    _canonical_content_type(event)


def _canonical_content_type(event: dict[str, Any]) -> None:
    """Media types are case-insensitive, the framework's test is not: ``Application/JSON`` is JSON too."""
    headers = event.get("headers")
    if isinstance(headers, dict):
        for name in [key for key in headers if str(key).lower() == "content-type"]:
            headers[name] = JSON_MEDIA_TYPE


def media_type(content_type: str | None) -> str:
    """The media type of a ``Content-Type`` header, without parameters, lower-cased ('' when absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()
