"""Errors of the receive flow. Each maps to one HTTP status with a fixed, non-leaking message."""


class IngressError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.code)
        self.detail = detail


class MalformedBodyError(IngressError):
    status = 400
    code = "malformed_body"


class PayloadTooLargeError(IngressError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaTypeError(IngressError):
    status = 415
    code = "unsupported_media_type"


class InvalidSignatureError(IngressError):
    status = 401
    code = "invalid_signature"


class ForbiddenError(IngressError):
    status = 403
    code = "forbidden"


class NotConfiguredError(IngressError):
    """A secret the check needs is not configured: reject (500) and log, never skip the check."""

    status = 500
    code = "not_configured"


class EnqueueError(IngressError):
    """SQS did not accept every event: answer 5xx so the platform retries."""

    status = 503
    code = "enqueue_failed"
