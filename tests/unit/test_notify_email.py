"""Ops email: the MIME message, and SES failures as domain errors (a stub client, no network)."""

from __future__ import annotations

import email
import email.policy
from typing import Any, cast

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from carehooks.notify.email import EmailError, EmailThrottledError, build_message, send_email, send_message


class StubSes:
    """Records calls; raises what it is given."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[dict[str, Any]] = []

    def send_email(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        return {"MessageId": "0100-abc"}


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "nope"}}, "SendEmail")


def test_the_message_is_multipart_alternative_with_text_then_html() -> None:
    message = build_message(
        "carehooks <alerts@example.com>",
        ["a@example.com", "b@example.com"],
        "SLA breach: 1 conversation",
        "<p>é</p>",
        "é",
    )
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["To"] == "a@example.com, b@example.com"
    assert parsed["Subject"] == "SLA breach: 1 conversation"
    assert parsed["Message-ID"].endswith("@example.com>")
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert cast(Any, parts[0]).get_content().strip() == "é"
    assert cast(Any, parts[1]).get_content().strip() == "<p>é</p>"
    # 7-bit clean on the wire, whatever the text.
    message.as_bytes().decode("ascii")


def test_send_email_sends_raw_mime_to_every_recipient() -> None:
    ses = StubSes()
    message_id = send_email(["a@example.com"], "s", "<p>h</p>", "t", sender="alerts@example.com", client=ses)  # type: ignore[arg-type]
    assert message_id == "0100-abc"
    (call,) = ses.calls
    assert call["FromEmailAddress"] == "alerts@example.com"
    assert call["Destination"] == {"ToAddresses": ["a@example.com"]}
    assert b"multipart/alternative" in call["Content"]["Raw"]["Data"]


@pytest.mark.parametrize("code", ["TooManyRequestsException", "LimitExceededException", "Throttling"])
def test_throttling_is_reported_as_throttling(code: str) -> None:
    with pytest.raises(EmailThrottledError):
        send_email(
            ["a@example.com"], "s", "h", "t", sender="x@example.com", client=StubSes(client_error(code))
        )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "error",
    [
        client_error("MessageRejected"),
        client_error("AccountSuspendedException"),
        EndpointConnectionError(endpoint_url="x"),
    ],
)
def test_other_failures_are_email_errors(error: Exception) -> None:
    with pytest.raises(EmailError) as caught:
        send_email(["a@example.com"], "s", "h", "t", sender="x@example.com", client=StubSes(error))  # type: ignore[arg-type]
    assert not isinstance(caught.value, EmailThrottledError)


def test_a_prepared_message_is_sent_as_is_from_its_sender() -> None:
    # The weekly digest's path: its own MIME message (chart inline), the same SES call and errors.
    message = build_message("Care <care@example.com>", ["ops@example.com"], "s", "<p>h</p>", "t")
    ses = StubSes()
    assert send_message(message, ["ops@example.com"], client=ses) == "0100-abc"  # type: ignore[arg-type]
    (call,) = ses.calls
    assert call["FromEmailAddress"] == "Care <care@example.com>"
    assert call["Content"]["Raw"]["Data"] == message.as_bytes()
    with pytest.raises(EmailThrottledError):
        send_message(message, ["ops@example.com"], client=StubSes(client_error("Throttling")))  # type: ignore[arg-type]


def test_no_recipients_is_an_error_before_any_call() -> None:
    ses = StubSes()
    with pytest.raises(EmailError):
        send_email([], "s", "h", "t", sender="x@example.com", client=ses)  # type: ignore[arg-type]
    assert ses.calls == []


def test_the_date_header_follows_the_one_clock() -> None:
    from datetime import UTC, datetime

    from carehooks import clock

    with clock.frozen(datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)):
        message = build_message("a@example.com", ["b@example.com"], "s", "<p>h</p>", "t")
    assert message["Date"] == "Wed, 02 Jan 2030 03:04:05 +0000"
