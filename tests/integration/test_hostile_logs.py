"""Log hygiene: no secret, token or customer message text in any log line of the real flows.

Webhook → queue → processor → rules → acknowledgement sent through stubbed platforms, for Messenger,
WhatsApp, X, Telegram and Twilio; a forged request; a record parked as malformed; a platform send that
fails (Telegram's URL carries the bot token). Secrets, tokens and texts are distinctive markers; every
log record (caplog, with its extra fields and traceback), everything the Powertools logger wrote and all
of stdout / stderr (metrics) is searched for them. Ids are fine.
"""

from __future__ import annotations

import io
import json
import logging
import re
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from carehooks.observability import logger as powertools_logger
from tests.channel_support import (
    PUBLIC_BASE_URL,
    TELEGRAM_API_URL,
    configure_channels,
    platform_stubs,
    point_platforms_at_stubs,
    twilio_signature,
    x_signature,
)
from tests.helpers import FakeContext, event_json, http_event, load_handler, meta_signature
from tests.hostile_support import count
from tests.integration.conftest import Aws

SECRETS = {
    "META_APP_SECRET": "SECRETmetaApp7f31",
    "META_ACCESS_TOKEN": "TOKENmetaAccess9a2",
    "X_CONSUMER_SECRET": "SECRETxConsumer4d8",
    "X_ACCESS_TOKEN": "TOKENxAccess1c5",
    "TELEGRAM_SECRET_TOKEN": "SECRETtgHook6e0",
    "TELEGRAM_BOT_TOKEN": "424242:TOKENtgBot3b9",
    "TWILIO_AUTH_TOKEN": "SECRETtwilioAuth8f4",
}
TEXT = "CUSTOMERTEXT{} my card number is 4111 and I live at 1 Secret Lane"


@pytest.fixture
def flows(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    configure_channels(monkeypatch)
    point_platforms_at_stubs(monkeypatch)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("INBOUND_DLQ_URL", aws.dlq_url)
    return aws


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """Everything the Powertools logger writes (as in Lambda), besides caplog's records."""
    # carehooks at DEBUG; libraries at INFO (botocore's DEBUG wire logs are never on in Lambda).
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="carehooks")
    stream = io.StringIO()
    handlers = [h for h in powertools_logger.handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.setStream(stream) for h in handlers]
    yield stream
    for handler, old in zip(handlers, previous, strict=True):
        handler.setStream(old)


def _post(function: str, path: str, raw: bytes, headers: dict[str, str]) -> int:
    response: dict[str, Any] = load_handler(function).handler(
        http_event("POST", path, raw, headers), FakeContext()
    )
    return int(response["statusCode"])


def _messenger(n: int) -> tuple[bytes, dict[str, str]]:
    body = event_json("meta/messenger_text.json")
    body["entry"][0]["messaging"][0]["message"]["text"] = TEXT.format(n)
    raw = json.dumps(body).encode()
    return raw, {
        "content-type": "application/json",
        "x-hub-signature-256": meta_signature(raw, SECRETS["META_APP_SECRET"]),
    }


def _whatsapp(n: int) -> tuple[bytes, dict[str, str]]:
    body = event_json("meta/whatsapp_text.json")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = TEXT.format(n)
    raw = json.dumps(body).encode()
    return raw, {
        "content-type": "application/json",
        "x-hub-signature-256": meta_signature(raw, SECRETS["META_APP_SECRET"]),
    }


def _x(n: int) -> tuple[bytes, dict[str, str]]:
    body = event_json("x/direct_message.json")
    body["direct_message_events"][0]["message_create"]["message_data"]["text"] = TEXT.format(n)
    raw = json.dumps(body).encode()
    return raw, {
        "content-type": "application/json",
        "x-twitter-webhooks-signature": x_signature(raw, SECRETS["X_CONSUMER_SECRET"]),
    }


def _telegram(n: int) -> tuple[bytes, dict[str, str]]:
    body = event_json("telegram/message.json")
    body["message"]["text"] = TEXT.format(n)
    raw = json.dumps(body).encode()
    return raw, {
        "content-type": "application/json",
        "x-telegram-bot-api-secret-token": SECRETS["TELEGRAM_SECRET_TOKEN"],
    }


def _twilio(n: int) -> tuple[bytes, dict[str, str]]:
    from urllib.parse import urlencode

    raw = urlencode(
        {
            "MessageSid": f"SM{n:032d}",
            "From": "+14155550100",
            "To": "+15005550006",
            "Body": TEXT.format(n),
            "NumMedia": "0",
        }
    ).encode()
    signature = twilio_signature(
        raw, token=SECRETS["TWILIO_AUTH_TOKEN"], url=PUBLIC_BASE_URL + "/webhooks/twilio"
    )
    return raw, {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature}


FLOWS = [
    ("meta_webhook", "/webhooks/meta", _messenger),
    ("meta_webhook", "/webhooks/meta", _whatsapp),
    ("x_webhook", "/webhooks/x", _x),
    ("telegram_webhook", "/webhooks/telegram", _telegram),
    ("twilio_webhook", "/webhooks/twilio", _twilio),
]


UNCAUGHT: list[str] = []


def deliver(aws: Aws) -> None:
    """Run the processor on what is queued; an invocation error is what Lambda would log, so keep it."""
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    records = aws.drain()
    if records:
        try:
            load_handler("inbound_processor").handler({"Records": records}, FakeContext())
        except BatchProcessingError as exc:
            UNCAUGHT.append("".join(traceback.format_exception(exc)))


def markers() -> list[str]:
    texts = ["CUSTOMERTEXT", "Secret Lane", "card number"]
    return [*SECRETS.values(), SECRETS["TELEGRAM_BOT_TOKEN"].split(":", 1)[1], *texts]


def everything_logged(caplog: pytest.LogCaptureFixture, stream: io.StringIO, out: str) -> str:
    records = [json.dumps(r.__dict__, default=str) for r in caplog.records]
    tracebacks = [caplog.text, *UNCAUGHT]
    return "\n".join([*records, *tracebacks, stream.getvalue(), out])


def test_no_secret_token_or_customer_text_is_logged_by_the_real_flows(
    flows: Aws,
    all_logs: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    aws = flows
    with platform_stubs() as stub:
        # Given customers writing on every channel (acknowledged by the default rules)
        for n, (function, path, build) in enumerate(FLOWS, start=1):
            count("logs:flow")
            raw, headers = build(n)
            assert _post(function, path, raw, headers) == 200, function
        deliver(aws)
        # (The samples are dated years before today: each gets its receipt time, docs/timestamps.md, so
        # every channel acknowledges.)
        acknowledged = {str(c.request.url).split("/")[2] for c in stub.calls}
        # And a forged request, and a signed one whose payload can never be parsed (parked)
        raw, headers = _messenger(90)
        assert (
            _post("meta_webhook", "/webhooks/meta", raw, {**headers, "x-hub-signature-256": "sha256=00"})
            == 401
        )
        broken = event_json("meta/messenger_text.json")
        broken["entry"][0]["messaging"][0]["message"]["text"] = TEXT.format(91)
        broken["entry"][0]["messaging"][0]["timestamp"] = TEXT.format(92)
        raw = json.dumps(broken).encode()
        headers = {
            "content-type": "application/json",
            "x-hub-signature-256": meta_signature(raw, SECRETS["META_APP_SECRET"]),
        }
        assert _post("meta_webhook", "/webhooks/meta", raw, headers) == 200
        deliver(aws)
    # And a Telegram send that fails (its URL carries the bot token)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as failing:
        failing.add(
            responses.POST,
            re.compile(re.escape(TELEGRAM_API_URL) + r"/.*"),
            status=500,
            body=f"upstream error for {SECRETS['TELEGRAM_BOT_TOKEN']}",
        )
        raw, headers = _telegram(93)
        raw = raw.replace(b'"update_id": 10000', b'"update_id": 10093').replace(
            b'"id": 1111111', b'"id": 2222222'
        )
        assert _post("telegram_webhook", "/webhooks/telegram", raw, headers) == 200
        deliver(aws)
        assert failing.calls, "the failing Telegram send was attempted"

    # Then the flows did their work
    assert acknowledged == {"graph.test", "x.test", "telegram.test", "twilio.test"}
    assert len(aws.items("MSG#")) >= 5
    # And no marker appears in any log output
    out, err = capsys.readouterr()
    logged = everything_logged(caplog, all_logs, out + err)
    # The capture works: ids, outcomes and the parked record are in the logs
    assert "message stored" in logged
    assert "send failed" in logged
    assert "malformed record parked in the DLQ" in logged
    assert "platform_message_id" in logged  # ids are logged, texts are not
    leaked = [m for m in markers() if m in logged]
    assert leaked == []
