"""The one HTTP error mapper: classes, the one body, translations, and what never leaks."""

from __future__ import annotations

import json

from carehooks.web.errors import (
    EnqueueError,
    HttpError,
    InternalError,
    InvalidInputError,
    JsonRequiredError,
    NotConfiguredError,
    ResourceNotFoundError,
    SendNotDoneError,
    StatusError,
    UnavailableError,
    error_body,
    error_response,
    http_error,
)


class Base(Exception):
    pass


class Specific(Base):
    pass


def test_an_http_error_maps_to_itself_and_an_unforeseen_one_to_nothing() -> None:
    error = ResourceNotFoundError("no conversation 'x'")
    assert http_error(error) is error
    assert http_error(RuntimeError("boom")) is None
    assert http_error(RuntimeError("boom"), {ValueError: lambda exc: UnavailableError()}) is None


def test_the_most_specific_translation_wins() -> None:
    translations = {Base: lambda exc: UnavailableError(), Specific: lambda exc: ResourceNotFoundError()}
    assert isinstance(http_error(Specific(), translations), ResourceNotFoundError)
    assert isinstance(http_error(Base(), translations), UnavailableError)


def test_the_one_body_has_fields_only_when_there_are_some() -> None:
    assert error_body("not_found", "no such route") == {
        "error": {"code": "not_found", "message": "no such route"}
    }
    fields = [{"field": "body.text", "reason": "must not be blank"}]
    assert error_body("invalid_input", "the request is not valid", fields)["error"]["fields"] == fields
    assert InvalidInputError(fields=fields).body() == error_body(
        "invalid_input", "the request is not valid", fields
    )


def test_a_webhook_error_answers_its_fixed_message_never_its_detail() -> None:
    response = error_response(NotConfiguredError("META_APP_SECRET"))
    assert response["statusCode"] == 500
    assert response["headers"] == {"Content-Type": "application/json"}
    body = json.loads(response["body"])
    assert body == {"error": {"code": "not_configured", "message": "The webhook is not configured."}}
    assert "META_APP_SECRET" not in response["body"]
    assert json.loads(error_response(EnqueueError("SQS send failed: ClientError"))["body"])["error"] == {
        "code": "enqueue_failed",
        "message": "The event could not be accepted; please retry.",
    }


def test_statuses_and_codes_set_per_instance() -> None:
    refused = SendNotDoneError("outside the window", "send_skipped")
    assert (refused.status, refused.code, refused.message) == (409, "send_skipped", "outside the window")
    framework = StatusError(405, None)
    assert (framework.status, framework.code, framework.message) == (
        405,
        "error",
        "the request could not be served",
    )
    internal = InternalError("req-1")
    assert (internal.status, internal.code) == (500, "internal")
    assert internal.message == "the request failed unexpectedly (request id req-1)"
    media = JsonRequiredError()
    assert (media.status, media.code) == (415, "unsupported_media_type")
    assert media.message == "send a JSON body (Content-Type: application/json)"
    assert isinstance(media, HttpError)
