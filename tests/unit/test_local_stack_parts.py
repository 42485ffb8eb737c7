"""Pure parts of the local stack (infra/local): schedules, routing, API Gateway mapping, SQS results,
template resolution, replay signatures. The stack as a whole is tested over HTTP in tests/e2e."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from infra.cli.replay import platform_of, signed_request, twilio_signature
from infra.local.apigw import Router, build_event, is_text, map_result
from infra.local.model import Route, Schedule, TemplateModel
from infra.local.queues import failed_ids
from infra.local.resolver import Resolver, UnresolvableError
from infra.local.schedules import Cron, Expression, ExpressionError, schedule_event
from infra.local.settings import read_env_file, secret_values

UTC_ZONE = ZoneInfo("UTC")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- schedule expressions ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 3 * * ? *)", "2026-01-01T03:00:00", "2026-01-02T03:00:00"),
        ("cron(0/15 * * * ? *)", "2026-01-01T10:07:00", "2026-01-01T10:15:00"),
        ("cron(0 9 ? * MON-FRI *)", "2026-01-02T10:00:00", "2026-01-05T09:00:00"),  # Fri -> Mon
        ("cron(0 12 L * ? *)", "2026-02-01T00:00:00", "2026-02-28T12:00:00"),
        ("cron(0 8 ? * 6#3 *)", "2026-01-01T00:00:00", "2026-01-16T08:00:00"),  # third Friday
        ("cron(0 8 ? * 2L *)", "2026-01-01T00:00:00", "2026-01-26T08:00:00"),  # last Monday
        ("cron(0 8 15W * ? *)", "2026-02-01T00:00:00", "2026-02-16T08:00:00"),  # Sun 15th -> Mon 16th
        ("cron(30 1 1 JAN ? 2027)", "2026-06-01T00:00:00", "2027-01-01T01:30:00"),
    ],
)
def test_cron_next_run(expression: str, after: str, expected: str) -> None:
    parsed = Expression.parse(expression)
    assert parsed.next_after(at(after), UTC_ZONE, at(after)) == at(expected)


def test_cron_in_a_time_zone() -> None:
    cron = Cron.parse("0 3 * * ? *")
    # 03:00 in Paris in winter is 02:00 UTC.
    assert cron.next_after(at("2026-01-10T00:00:00"), ZoneInfo("Europe/Paris")) == at("2026-01-10T02:00:00")


def test_rate_counts_from_its_anchor() -> None:
    anchor = at("2026-01-01T00:00:00")
    rate = Expression.parse("rate(5 minutes)")
    assert rate.next_after(anchor, UTC_ZONE, anchor) == anchor + timedelta(minutes=5)
    # Two hours later: the next due time is the next multiple, not 24 overdue runs.
    assert rate.next_after(anchor + timedelta(hours=2, seconds=1), UTC_ZONE, anchor) == anchor + timedelta(
        hours=2, minutes=5
    )
    assert Expression.parse("rate(1 day)").period == timedelta(days=1)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(0 minutes)",
        "rate(5 weeks)",
        "cron(0 3 * * * *)",
        "cron(0 3 ? * ? *)",
        "cron(61 * * * ? *)",
        "every day",
    ],
)
def test_bad_expressions_are_refused(expression: str) -> None:
    with pytest.raises(ExpressionError):
        Expression.parse(expression)


def test_schedule_events_look_like_eventbridge() -> None:
    rule = Schedule("Fn", "Tick", "Schedule", "rate(1 minute)")
    event = schedule_event(rule, at("2026-01-01T00:01:00"), "us-east-1", "stack")
    assert event["source"] == "aws.events"
    assert event["detail-type"] == "Scheduled Event"
    assert event["time"] == "2026-01-01T00:01:00Z"
    assert event["detail"] == {}
    v2 = Schedule(
        "Fn", "Nightly", "ScheduleV2", "cron(0 3 * * ? *)", input='{"at": "<aws.scheduler.scheduled-time>"}'
    )
    assert schedule_event(v2, at("2026-01-01T03:00:00"), "us-east-1", "stack") == {
        "at": "2026-01-01T03:00:00Z"
    }


# -- API Gateway ---------------------------------------------------------------------------------------
def route(method: str, path: str) -> Route:
    return Route(method=method, path=path, function=f"{method} {path}", event="E")


def test_the_most_specific_route_wins() -> None:
    router = Router(
        [
            route("ANY", "/api/{proxy+}"),
            route("GET", "/api/conversations/{id}"),
            route("GET", "/api/conversations/search"),
            route("ANY", "$default"),
        ]
    )

    def matched(method: str, path: str) -> tuple[str, dict[str, str]] | None:
        found = router.match(method, path)
        return (found[0].function, found[1]) if found else None

    assert matched("GET", "/api/conversations/search") == ("GET /api/conversations/search", {})
    assert matched("GET", "/api/conversations/01H") == ("GET /api/conversations/{id}", {"id": "01H"})
    assert matched("POST", "/api/conversations/01H") == ("ANY /api/{proxy+}", {"proxy": "conversations/01H"})
    assert matched("GET", "/elsewhere") == ("ANY $default", {})
    assert Router([route("GET", "/a")]).match("POST", "/a") is None


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("text/plain", True),
        ("application/vnd.api+json", True),
        ("application/x-www-form-urlencoded", False),
        ("multipart/form-data; boundary=x", False),
        ("application/octet-stream", False),
        (None, False),
    ],
)
def test_which_bodies_api_gateway_base64_encodes(content_type: str | None, text: bool) -> None:
    assert is_text(content_type, None) is text


def test_repeated_headers_and_query_values_are_joined() -> None:
    event = build_event(
        route("GET", "/x"),
        {},
        "GET",
        "/x",
        "a=1&a=2",
        [("X-Multi", "1"), ("x-multi", "2"), ("Host", "127.0.0.1:3000")],
        b"",
        "127.0.0.1",
        at("2026-01-01T00:00:00"),
    )
    assert event["headers"]["x-multi"] == "1,2"
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert "body" not in event
    assert event["requestContext"]["time"] == "01/Jan/2026:00:00:00 +0000"


def test_results_map_like_api_gateway() -> None:
    plain = map_result({"ok": True})
    assert (plain.status, json.loads(plain.body)) == (200, {"ok": True})
    binary = map_result(
        {"statusCode": 201, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}
    )
    assert (binary.status, binary.body) == (201, b"\x00\x01")
    cookies = map_result({"statusCode": 204, "cookies": ["a=1", "b=2"]})
    assert [v for k, v in cookies.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert map_result({"statusCode": "nope"}).status == 500
    assert map_result({"statusCode": 200, "body": "%%%", "isBase64Encoded": True}).status == 500


# -- SQS partial batch responses ---------------------------------------------------------------------------
def test_batch_item_failures() -> None:
    ids = {"a", "b"}
    assert failed_ids(None, ids) == set()
    assert failed_ids({"batchItemFailures": []}, ids) == set()
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, ids) == {"b"}
    # Like Lambda, an unknown or empty identifier fails the whole batch.
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, ids) is None
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, ids) is None
    assert failed_ids({"batchItemFailures": "b"}, ids) is None


# -- the template ---------------------------------------------------------------------------------------
TEMPLATE = {
    "Parameters": {"Stage": {"Type": "String", "Default": "dev"}},
    "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
    "Globals": {"Function": {"Timeout": 7, "Environment": {"Variables": {"TABLE": {"Ref": "Table"}}}}},
    "Resources": {
        "Table": {"Type": "AWS::DynamoDB::Table"},
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Fn": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "CodeUri": "functions/fn/",
                "Handler": "app.handler",
                "Environment": {
                    "Variables": {
                        "QUEUE": {"Fn::GetAtt": ["Queue", "QueueName"]},
                        "WHERE": {"Fn::Sub": "${AWS::Region}/${Stage}/${Queue.Arn}"},
                        "MODE": {"Fn::If": ["IsProd", "strict", "relaxed"]},
                        "MISSING": {"Ref": "Nothing"},
                    }
                },
                "Events": {
                    "Api": {"Type": "HttpApi", "Properties": {"Method": "get", "Path": "/x/{id}"}},
                    "Work": {
                        "Type": "SQS",
                        "Properties": {
                            "Queue": {"Fn::GetAtt": ["Queue", "Arn"]},
                            "BatchSize": 3,
                            "FunctionResponseTypes": ["ReportBatchItemFailures"],
                        },
                    },
                    "Tick": {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "rate(1 hour)"}},
                },
            },
        },
    },
}
ATTRIBUTES = {
    "Table": {"Ref": "local-table"},
    "Queue": {
        "Ref": "http://q",
        "QueueName": "local-queue",
        "Arn": "arn:aws:sqs:us-east-1:123456789012:local-queue",
    },
}


def test_the_model_resolves_environments_and_events() -> None:
    warnings: list[str] = []
    resolver = Resolver(TEMPLATE, ATTRIBUTES, {"Stage": "dev"}, "us-east-1", "stack", warnings.append)
    model = TemplateModel(TEMPLATE, resolver, "stack")
    function = model.functions["Fn"]
    assert function.timeout == 7
    assert function.environment["TABLE"] == "local-table"
    assert function.environment["QUEUE"] == "local-queue"
    assert function.environment["WHERE"] == "us-east-1/dev/arn:aws:sqs:us-east-1:123456789012:local-queue"
    assert function.environment["MODE"] == "relaxed"
    assert function.environment["MISSING"] == ""
    assert any("Nothing" in w for w in warnings)
    [api] = function.routes
    assert (api.method, api.path, api.key) == ("GET", "/x/{id}", "GET /x/{id}")
    [queue] = function.queues
    assert (queue.queue, queue.batch_size, queue.report_failures) == ("Queue", 3, True)
    [tick] = function.schedules
    assert (tick.kind, tick.expression, tick.enabled) == ("ScheduleV2", "rate(1 hour)", True)


def test_unsupported_intrinsics_are_reported() -> None:
    resolver = Resolver(TEMPLATE, ATTRIBUTES, {}, "us-east-1", "stack")
    with pytest.raises(UnresolvableError):
        resolver.resolve({"Fn::ImportValue": "x"})


# -- settings and replay -----------------------------------------------------------------------------------
def test_env_file_and_secret_values(
    tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"  # type: ignore[operator]
    env_file.write_text('# comment\nexport META_APP_SECRET="from-file"\nPORT=4000\nX_API_URL=\nEMPTY=\n')
    monkeypatch.setenv("CAREHOOKS_ENV_FILE", str(env_file))
    for name in ("META_APP_SECRET", "X_API_URL", "TELEGRAM_API_URL", "PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert read_env_file()["META_APP_SECRET"] == "from-file"
    values = secret_values("http://127.0.0.1:4000")
    assert values["META_APP_SECRET"] == "from-file"
    assert "PORT" not in values
    assert values["X_API_URL"] == "http://127.0.0.1:4000/_sandbox/x"
    assert values["PUBLIC_BASE_URL"] == "http://127.0.0.1:4000"
    monkeypatch.setenv("TELEGRAM_API_URL", "https://api.telegram.org")
    assert secret_values("http://127.0.0.1:4000")["TELEGRAM_API_URL"] == "https://api.telegram.org"


def test_twilio_signature_matches_twilios_vector() -> None:
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]
    assert (
        twilio_signature("https://mycompany.com/myapp.php?foo=1&bar=2", params, "12345")
        == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )


def test_replay_signs_like_each_platform() -> None:
    secrets = {
        "META_APP_SECRET": "test_app_secret",
        "X_CONSUMER_SECRET": "z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu",
        "TELEGRAM_SECRET_TOKEN": "tg-secret",
        "TWILIO_AUTH_TOKEN": "12345",
        "PUBLIC_BASE_URL": "https://hooks.example.com",
    }
    _, meta = signed_request("meta", b'{"object":"page","entry":[]}', "/webhooks/meta", secrets)
    assert (
        meta["X-Hub-Signature-256"]
        == "sha256=5da47c9c7409e70d7a1851f0cfd9bc27786bd99587a9bf1dd5b51e23a2de03cf"
    )
    x_body = b'{"for_user_id":"835740314006511618","direct_message_events":[]}'
    _, x = signed_request("x", x_body, "/webhooks/x", secrets)
    assert x["x-twitter-webhooks-signature"] == "sha256=XlqrgwkVvUc5AnxND33uEdjOrsXQiV+hxXAtx0YUZMY="
    _, telegram = signed_request("telegram", b"{}", "/webhooks/telegram", secrets)
    assert telegram["X-Telegram-Bot-Api-Secret-Token"] == "tg-secret"
    body, twilio = signed_request("twilio", b"Body=Hi&From=%2B1&ToCity=", "/webhooks/twilio", secrets)
    assert body == b"Body=Hi&From=%2B1&ToCity="
    assert twilio["Content-Type"] == "application/x-www-form-urlencoded"
    expected = twilio_signature(
        "https://hooks.example.com/webhooks/twilio", [("Body", "Hi"), ("From", "+1"), ("ToCity", "")], "12345"
    )
    assert twilio["X-Twilio-Signature"] == expected


def test_replay_tells_the_platform_from_the_path() -> None:
    assert platform_of(Path("events/twilio/sms.txt")) == "twilio"
    with pytest.raises(SystemExit):
        platform_of(Path("events/other/x.json"))
