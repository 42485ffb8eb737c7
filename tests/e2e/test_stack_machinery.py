"""The local stack's emulation of API Gateway, Lambda, SQS, Scheduler and SES, driven over HTTP.

Runs tests/e2e/fixtures/template.yaml, whose small functions report what they received (as a response
or through the platform sandbox), so each behaviour is checked from outside the stack.
"""

from __future__ import annotations

import base64
import json
import socket
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.e2e.harness import LocalStack, wait_for

pytestmark = pytest.mark.e2e


def echo(
    stack: LocalStack, method: str, path: str, body: bytes | None = None, **headers: str
) -> dict[str, Any]:
    answer = stack.request(method, path, body, headers)
    assert answer.status == 200, answer.body
    data: dict[str, Any] = answer.json()
    return data


def sandbox_texts(stack: LocalStack, bot: str) -> list[Any]:
    """What a fixture function reported through the Telegram sandbox."""
    return [json.loads(i["body"]["text"]) for i in stack.outbox() if f"/bot{bot}/" in i["url"]]


# -- API Gateway: the event ---------------------------------------------------------------------
def test_a_request_becomes_a_payload_v2_event(machinery_stack: LocalStack) -> None:
    body = b"From=%2B14155550100&Body=Hello+there&Empty="
    data = echo(
        machinery_stack,
        "POST",
        "/echo/abc%20def?x=1&x=2&y=",
        body,
        **{
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Custom-Header": "Value",
            "Cookie": "a=1; b=2",
        },
    )
    event = data["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "ANY /echo/{token}"
    assert event["rawPath"] == "/echo/abc%20def"
    assert event["rawQueryString"] == "x=1&x=2&y="
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["pathParameters"] == {"token": "abc def"}
    assert event["headers"]["x-custom-header"] == "Value"
    assert all(name == name.lower() for name in event["headers"])
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["a=1", "b=2"]
    # Form posts arrive base64-encoded from an HTTP API, as Twilio's do on AWS.
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body
    context = event["requestContext"]
    assert context["http"]["method"] == "POST"
    assert context["http"]["path"] == "/echo/abc%20def"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["stage"] == "$default"
    assert context["requestId"]
    assert abs(context["timeEpoch"] / 1000 - datetime.now(UTC).timestamp()) < 60
    assert "authorizer" not in context


def test_json_bodies_arrive_as_text(machinery_stack: LocalStack) -> None:
    data = echo(
        machinery_stack, "PUT", "/echo/t1", b'{"a": "\\u00e4"}', **{"Content-Type": "application/json"}
    )
    assert data["event"]["isBase64Encoded"] is False
    assert data["event"]["body"] == '{"a": "\\u00e4"}'
    assert "queryStringParameters" not in data["event"]


def test_greedy_path_variables(machinery_stack: LocalStack) -> None:
    data = echo(machinery_stack, "GET", "/files/a/b/c.txt")
    assert data["event"]["routeKey"] == "GET /files/{path+}"
    assert data["event"]["pathParameters"] == {"path": "a/b/c.txt"}


def test_the_response_is_mapped_back(machinery_stack: LocalStack) -> None:
    answer = machinery_stack.get("/echo/r1")
    assert answer.status == 200
    assert answer.headers["X-Echo"] == "1"
    assert answer.headers["Set-Cookie"] == "seen=1; Path=/"
    assert answer.headers["Content-Type"] == "application/json"


def test_a_plain_result_becomes_a_json_200(machinery_stack: LocalStack) -> None:
    answer = machinery_stack.post_json("/plain", {})
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == {"plain": True, "greeting": "hello"}


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/nowhere"), ("DELETE", "/plain"), ("GET", "/echo/a/b")]
)
def test_unknown_routes_get_api_gateways_404(machinery_stack: LocalStack, method: str, path: str) -> None:
    answer = machinery_stack.request(method, path)
    assert answer.status == 404
    assert answer.json() == {"message": "Not Found"}


def raw_exchange(stack: LocalStack, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as is (what urllib would refuse to send) and read the whole answer."""
    with socket.create_connection(("127.0.0.1", stack.port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"TRACE /api/conversations HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        (b"CONNECT /plain HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        (b"QUERY /api/conversations HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        (b"BREW /plain HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /plain HTTP/1.1\r\nHost: x\r\nX-Long: " + b"b" * 70_000 + b"\r\n\r\n", 431),
        (b"GET /plain HTTP/7.0\r\n\r\n", 505),
        (b"GET\r\n\r\n", 400),
        (b"POST /plain HTTP/1.1\r\nHost: x\r\nContent-Length: many\r\n\r\n", 400),
        (b"POST /plain HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    ],
    ids=[
        "TRACE",
        "CONNECT",
        "QUERY",
        "unknown method",
        "long path",
        "long header",
        "HTTP/7",
        "no path",
        "bad length",
        "bad chunk",
    ],
)
def test_what_the_http_server_refuses_itself_is_a_json_error(
    machinery_stack: LocalStack, request_bytes: bytes, status: int
) -> None:
    got, headers, body = raw_exchange(machinery_stack, request_bytes)
    assert got == status
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message"}
    assert error["code"].replace("_", "").isalnum()
    assert b"<html" not in body.lower()
    if status == 405:
        assert headers["allow"] == "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
    # and the stack keeps serving
    assert machinery_stack.get("/_local/health").status == 200


# -- Lambda: environment, context, failures -------------------------------------------------------
def test_functions_get_their_template_environment_resolved(machinery_stack: LocalStack) -> None:
    data = echo(machinery_stack, "GET", "/echo/env")
    env = data["env"]
    assert env["GREETING"] == "hello"
    assert env["SECRET_ID"].startswith(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:carehooks-local-Secret"
    )
    assert env["QUEUE_URL"].endswith("/123456789012/carehooks-local-Work.fifo")
    assert env["QUEUE_NAME"] == "carehooks-local-Work.fifo"
    assert env["DLQ_ARN"] == "arn:aws:sqs:us-east-1:123456789012:carehooks-local-WorkDeadLetters.fifo"
    assert env["REGION_AND_STACK"] == "us-east-1/carehooks-local"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "carehooks-local-EchoFunction"
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["AWS_PROFILE"] is None
    assert env["CAREHOOKS_CLOCK_FILE"] == str(machinery_stack.data_dir / "clock.json")
    context = data["context"]
    assert context["function_name"] == "carehooks-local-EchoFunction"
    assert context["memory_limit_in_mb"] == "128"
    assert 0 < context["remaining_ms"] <= 5000


def test_a_handler_exception_is_a_500_with_the_traceback_logged(machinery_stack: LocalStack) -> None:
    answer = machinery_stack.get("/boom")
    assert answer.status == 500
    assert answer.json() == {"message": "Internal Server Error"}
    wait_for(lambda: "boom on purpose" in machinery_stack.log(), what="the traceback in the log")
    log = machinery_stack.log()
    assert "Traceback (most recent call last)" in log
    assert "REPORT EchoFunction" in log
    assert "ERROR RuntimeError: boom on purpose" in log


def test_a_function_over_its_timeout_is_ended(machinery_stack: LocalStack) -> None:
    answer = machinery_stack.get("/slow")
    assert answer.status == 500
    assert "Task timed out after 1.00 seconds" in machinery_stack.log()
    # A fresh environment serves the next request.
    assert machinery_stack.get("/echo/after-timeout").status == 200


# -- the JWT authorizer -------------------------------------------------------------------------
def test_jwt_routes_refuse_requests_without_a_valid_token(machinery_stack: LocalStack) -> None:
    assert machinery_stack.get("/api/me").status == 401
    assert machinery_stack.get("/api/me").json() == {"message": "Unauthorized"}
    assert machinery_stack.get("/api/me", {"Authorization": "Bearer not-a-jwt"}).status == 401
    forged = jwt.encode(
        {"sub": "x", "iss": "https://issuer.example.test", "aud": "machinery-api", "exp": 4102444800},
        "someone-elses-secret-that-is-long-enough",
        algorithm="HS256",
    )
    assert machinery_stack.get("/api/me", {"Authorization": f"Bearer {forged}"}).status == 401


def test_a_local_token_passes_with_its_claims(machinery_stack: LocalStack) -> None:
    answer = machinery_stack.post_json(
        "/_local/token", {"sub": "agent-7", "email": "ada@example.com", "name": "Ada"}
    )
    assert answer.status == 200
    token = answer.json()["token"]
    data = echo(machinery_stack, "GET", "/api/me", Authorization=f"Bearer {token}")
    claims = data["event"]["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["sub"] == "agent-7"
    assert claims["email"] == "ada@example.com"
    assert claims["name"] == "Ada"
    assert claims["iss"] == "https://issuer.example.test"
    assert claims["aud"] == "machinery-api"
    assert isinstance(claims["exp"], str)  # API Gateway passes claims as strings


def test_route_scopes_are_enforced(machinery_stack: LocalStack) -> None:
    plain = machinery_stack.post_json("/_local/token", {"sub": "agent-1"}).json()["token"]
    admin = machinery_stack.post_json("/_local/token", {"sub": "agent-2", "scope": "admin"}).json()["token"]
    assert machinery_stack.get("/api/admin", {"Authorization": f"Bearer {plain}"}).status == 403
    data = echo(machinery_stack, "GET", "/api/admin", Authorization=f"Bearer {admin}")
    assert data["event"]["requestContext"]["authorizer"]["jwt"]["scopes"] == ["admin"]


def test_a_token_needs_a_subject(machinery_stack: LocalStack) -> None:
    assert machinery_stack.post_json("/_local/token", {"email": "x@example.com"}).status == 400


# -- SQS: batches, partial failures, the DLQ -------------------------------------------------------
def test_queue_batches_partial_failures_and_the_dead_letter_queue(machinery_stack: LocalStack) -> None:
    items = [
        {"body": "ok-1", "group": "g1"},
        {"body": "poison-1", "group": "g2"},
        {"body": "ok-2", "group": "g3"},
    ]
    assert machinery_stack.post_json("/enqueue", {"items": items}).status == 202

    def both_reports() -> list[Any] | None:
        reports = sandbox_texts(machinery_stack, "1:worker")
        return reports if len(reports) >= 2 else None

    reports = wait_for(both_reports, what="both good records to be processed")
    by_body = {r["body"]: r for r in reports}
    assert set(by_body) == {"ok-1", "ok-2"}
    assert by_body["ok-1"]["group"] == "g1"
    assert by_body["ok-1"]["receives"] == "1"
    assert by_body["ok-1"]["source"] == "aws:sqs"
    assert by_body["ok-1"]["arn"] == "arn:aws:sqs:us-east-1:123456789012:carehooks-local-Work.fifo"

    parked = wait_for(
        lambda: [i for i in machinery_stack.get("/_local/dlq").json()["items"] if i["body"] == "poison-1"],
        timeout=30,
        what="the poison record in the DLQ",
    )
    assert parked[0]["queue"] == "WorkDeadLetters"
    assert parked[0]["source_queue"] == "Work"
    assert parked[0]["group_id"] == "g2"
    assert parked[0]["receive_count"] == 2
    assert "batchItemFailures" in parked[0]["reason"]
    wait_for(
        lambda: "DLQ WorkDeadLetters <- message" in machinery_stack.log(), what="the DLQ line in the log"
    )
    # Deleted on success: good records were processed once, not redelivered.
    assert sorted(r["body"] for r in sandbox_texts(machinery_stack, "1:worker")) == ["ok-1", "ok-2"]


# -- schedules and the shared clock ------------------------------------------------------------------
def test_the_clock_moves_for_every_function(machinery_stack: LocalStack) -> None:
    before = datetime.fromisoformat(machinery_stack.get("/_local/clock").json()["now"])
    moved = machinery_stack.post_json("/_local/clock", {"advance_seconds": 7200}).json()
    assert datetime.fromisoformat(moved["now"]) - before >= timedelta(hours=2)
    seen = datetime.fromisoformat(echo(machinery_stack, "GET", "/echo/clock")["now"])
    assert seen - before >= timedelta(hours=2)

    target = "2031-05-06T07:08:09.000Z"
    assert (
        machinery_stack.post_json("/_local/clock", {"set": target})
        .json()["now"]
        .startswith("2031-05-06T07:08")
    )
    assert echo(machinery_stack, "GET", "/echo/clock")["now"].startswith("2031-05-06T07:08")
    machinery_stack.post_json("/_local/clock", {"reset": True})


def test_a_clock_jump_fires_a_due_schedule_promptly(machinery_stack: LocalStack) -> None:
    def ticks() -> list[Any]:
        return [t for t in sandbox_texts(machinery_stack, "2:tick") if t.get("source") == "aws.events"]

    before = len(ticks())
    machinery_stack.post_json("/_local/clock", {"advance_seconds": 7200})
    try:
        fired = wait_for(
            lambda: ticks() if len(ticks()) > before else None, timeout=10, what="the rate(1 minute) schedule"
        )
    finally:
        machinery_stack.post_json("/_local/clock", {"reset": True})
    event = fired[-1]
    assert event["detail-type"] == "Scheduled Event"
    assert event["resources"][0].startswith("arn:aws:events:us-east-1:123456789012:rule/")
    assert len(ticks()) - before <= 3  # coalesced, not one run per missed minute


@pytest.mark.parametrize(
    ("clock", "message"),
    [
        ({"advance_seconds": "soon"}, "advance_seconds"),
        ({"set": "yesterday"}, "ISO"),
        ({}, "advance_seconds"),
    ],
)
def test_bad_clock_requests_are_refused(
    machinery_stack: LocalStack, clock: dict[str, Any], message: str
) -> None:
    answer = machinery_stack.post_json("/_local/clock", clock)
    assert answer.status == 400
    assert message in answer.json()["error"]


def test_run_a_scheduled_function_now(machinery_stack: LocalStack) -> None:
    answer = machinery_stack.request("POST", "/_local/run/TickFunctionNightly")
    assert answer.status == 200
    assert answer.json() == {"ok": True}
    nightly = [t for t in sandbox_texts(machinery_stack, "2:tick") if t.get("job") == "nightly"]
    assert nightly
    assert nightly[-1]["at"].endswith("Z")  # <aws.scheduler.scheduled-time> was filled in


def test_run_reports_a_failing_job(machinery_stack: LocalStack) -> None:
    answer = machinery_stack.request("POST", "/_local/run/FailingFunction")
    assert answer.status == 500
    assert answer.json()["ok"] is False
    assert "the nightly job failed on purpose" in answer.json()["error"]


def test_run_an_unknown_function(machinery_stack: LocalStack) -> None:
    answer = machinery_stack.request("POST", "/_local/run/NoSuchFunction")
    assert answer.status == 404
    assert answer.json()["ok"] is False


# -- SES: the mail folder -------------------------------------------------------------------------------
def test_sent_mail_lands_in_the_mail_folder(machinery_stack: LocalStack) -> None:
    assert machinery_stack.request("POST", "/_local/run/MailFunction").json() == {"ok": True}
    items = wait_for(
        lambda: len(m := machinery_stack.get("/_local/mail").json()["items"]) >= 2 and m, what="mail"
    )
    simple, raw = items[-2], items[-1]
    assert simple["from"] == "ops@example.com"
    assert simple["to"] == ["ops-team@example.com"]
    assert simple["subject"] == "SLA warning: simple"
    assert raw["subject"] == "SLA breach: raw"
    assert raw["to"] == ["ops-team@example.com", "lead@example.com"]
    for item in (simple, raw):
        path = Path(item["file"])
        assert path.parent == machinery_stack.data_dir / "mail"
        assert path.suffix == ".eml"
        assert item["at"]
    parsed = message_from_bytes(Path(raw["file"]).read_bytes(), policy=policy.default)
    html = parsed.get_body(preferencelist=("html",))
    assert html is not None
    assert "<b>missed</b>" in html.get_content()
