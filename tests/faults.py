"""Fault injection for the fault tests: every AWS call and every platform send can fail, deterministically.

:class:`FaultInjector` wraps ``botocore.client.BaseClient._make_api_call`` (above botocore's own retries,
so an injected fault is what the code sees once those retries are spent) and, through
:func:`platform_stubs`, the platforms' send APIs stubbed with ``responses``. A seeded random decides,
call by call, whether to fail and how; counters say what was seen and injected, per kind.

AWS faults (raised as the ``ClientError`` / botocore exception the real service gives):

- DynamoDB: ``ProvisionedThroughputExceededException`` or ``ThrottlingException`` (nothing written);
  ``race``: a concurrent writer bumps the conversation's ``version`` just before a versioned write, so
  the real call then fails its condition (``ConditionalCheckFailedException`` or
  ``TransactionCanceledException`` with ``ConditionalCheckFailed``), exactly as moto/DynamoDB answer it.
- SQS ``SendMessageBatch``: ``ThrottlingException`` / ``InternalError`` (nothing sent), or ``partial``:
  only some entries sent, the others returned in ``Failed`` (``SenderFault: false``).
- SES v2 ``SendEmail``: ``TooManyRequestsException`` or ``Throttling`` (nothing sent).
- Secrets Manager ``GetSecretValue``: ``InternalServiceError`` or an endpoint that cannot be reached.
- EventBridge ``PutEvents``: ``ThrottlingException`` / ``InternalException`` (nothing put), or ``partial``:
  some entries put, the others refused (``FailedEntryCount``, an ``ErrorCode`` each).

- S3 ``PutObject`` (the raw inbound archive): ``SlowDown`` / ``InternalError`` (nothing written).

Platform faults (the send APIs): ``429`` with ``Retry-After`` (refused), a connect timeout (never reached
the platform), and two where the platform **accepted** the message: ``500``/``502``/``503`` (it then
failed answering: no send API takes an idempotency key, so a sender cannot tell this from a refusal and
must not send again, see ``docs/platform-retries.md``) and ``read_timeout`` (the answer was lost). The
:class:`PlatformLedger` records every request and whether the customer got it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import responses
from botocore.client import BaseClient
from botocore.exceptions import ClientError, EndpointConnectionError

from tests.channel_support import GRAPH_URL, TELEGRAM_API_URL, TWILIO_API_URL, X_API_URL

DYNAMODB_THROTTLES = ("ProvisionedThroughputExceededException", "ThrottlingException")
VERSIONED_WRITES = ("PutItem", "TransactWriteItems")
PLATFORM_FAULTS = ("429", "500", "502", "503", "connect_timeout", "read_timeout")


def client_error(code: str, operation: str, message: str = "injected fault") -> ClientError:
    status = 400 if code not in {"InternalServiceError", "InternalError"} else 500
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


@dataclass
class FaultInjector:
    """Fails about ``rate`` of the calls it sees (seeded), with counters per call and per fault kind.

    ``enabled`` switches injection off (calls are still counted). Clients passed to :meth:`exempt` (the
    test's own harness clients) are never touched nor counted.
    """

    seed: int = 10
    rate: float = 0.2
    enabled: bool = True
    # Per-service rates that override ``rate`` (e.g. {"dynamodb": 0.05}).
    rates: dict[str, float] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    _random: random.Random = field(init=False)
    _archive_attempts: Counter[str] = field(default_factory=Counter)
    _exempt: set[int] = field(default_factory=set)
    _original: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    # -- wiring --------------------------------------------------------------------------------
    def install(self, monkeypatch: pytest.MonkeyPatch) -> FaultInjector:
        original = BaseClient._make_api_call
        self._original = original
        injector = self

        def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            if id(client) in injector._exempt:
                return original(client, operation, params)
            return injector._call(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
        return self

    def exempt(self, *clients: Any) -> None:
        self._exempt.update(id(c) for c in clients)

    def roll(self, service: str = "") -> bool:
        return self.enabled and self._random.random() < self.rates.get(service, self.rate)

    def choose(self, kinds: Iterable[str]) -> str:
        return self._random.choice(list(kinds))

    def injected(self, kind: str) -> None:
        self.faults[kind] += 1

    @property
    def total_faults(self) -> int:
        return sum(self.faults.values())

    def figures(self) -> dict[str, Any]:
        return {
            "calls": sum(self.calls.values()),
            "faults": self.total_faults,
            "faults_by_kind": dict(sorted(self.faults.items())),
        }

    # -- the decision per call -----------------------------------------------------------------
    def _call(self, client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        assert self._original is not None
        service = client.meta.service_model.service_name
        self.calls[f"{service}.{operation}"] += 1
        real = self._original
        if service == "s3":
            return self._archive_call(client, real, operation, params)
        if not self.roll(service):
            return real(client, operation, params)
        if service == "dynamodb":
            if operation in VERSIONED_WRITES and self._random.random() < 0.5:
                bumped = _bump_versions(client, real, operation, params)
                if bumped:
                    self.injected("dynamodb.race")
                    return real(client, operation, params)
            code = self.choose(DYNAMODB_THROTTLES)
            self.injected(f"dynamodb.{code}")
            raise client_error(code, operation)
        if service == "sqs" and operation == "SendMessageBatch":
            kind = self.choose(("ThrottlingException", "InternalError", "partial"))
            if kind == "partial" and len(params["Entries"]) > 1:
                self.injected("sqs.partial")
                return self._partial_batch(client, real, operation, params)
            kind = "ThrottlingException" if kind == "partial" else kind
            self.injected(f"sqs.{kind}")
            raise client_error(kind, operation)
        if service == "sesv2" and operation == "SendEmail":
            code = self.choose(("TooManyRequestsException", "Throttling"))
            self.injected(f"ses.{code}")
            raise client_error(code, operation)
        if service == "secretsmanager":
            kind = self.choose(("InternalServiceError", "unreachable"))
            self.injected(f"secretsmanager.{kind}")
            if kind == "unreachable":
                raise EndpointConnectionError(endpoint_url="https://secretsmanager.eu-west-1.amazonaws.com")
            raise client_error(kind, operation)
        if service == "events" and operation == "PutEvents":
            kind = self.choose(("ThrottlingException", "InternalException", "partial"))
            if kind == "partial":
                self.injected("events.partial")
                return self._partial_put_events(client, real, operation, params)
            self.injected(f"events.{kind}")
            raise client_error(kind, operation)
        # Anything else (the queue's own receive/delete run by the harness are exempt): not injected.
        return real(client, operation, params)

    def _archive_call(
        self, client: BaseClient, real: Callable[..., Any], operation: str, params: dict[str, Any]
    ) -> Any:
        """The raw archive's writes (issue 18) fail at the same rate, each decided by its object key and
        attempt (a seeded hash): the archive's threads may write in any order, and the run stays the
        same; the other calls' faults are drawn as before."""
        if operation == "PutObject" and self.enabled:
            key = str(params.get("Key", ""))
            self._archive_attempts[key] += 1
            digest = hashlib.sha256(f"{self.seed}:{key}:{self._archive_attempts[key]}".encode()).digest()
            if int.from_bytes(digest[:4]) / 2**32 < self.rates.get("s3", self.rate):
                code = ("SlowDown", "InternalError")[digest[4] % 2]
                self.injected(f"s3.{code}")
                raise client_error(code, operation)
        return real(client, operation, params)

    def _partial_batch(
        self, client: BaseClient, real: Callable[..., Any], operation: str, params: dict[str, Any]
    ) -> Any:
        entries = params["Entries"]
        cut = self._random.randint(1, len(entries) - 1)
        response = real(client, operation, {**params, "Entries": entries[:cut]})
        failed = [
            {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "injected"}
            for e in entries[cut:]
        ]
        return {**response, "Failed": [*response.get("Failed", []), *failed]}

    def _partial_put_events(
        self, client: BaseClient, real: Callable[..., Any], operation: str, params: dict[str, Any]
    ) -> Any:
        """PutEvents that accepts some entries and refuses the others (``FailedEntryCount``)."""
        entries = params["Entries"]
        refused = {i for i in range(len(entries)) if self._random.random() < 0.5} or {0}
        sent = [e for i, e in enumerate(entries) if i not in refused]
        answers = iter(real(client, operation, {**params, "Entries": sent})["Entries"] if sent else [])
        return {
            "FailedEntryCount": len(refused),
            "Entries": [
                {"ErrorCode": "InternalFailure", "ErrorMessage": "injected"}
                if i in refused
                else next(answers)
                for i in range(len(entries))
            ],
        }


def _bump_versions(
    client: BaseClient, real: Callable[..., Any], operation: str, params: dict[str, Any]
) -> bool:
    """A concurrent writer: increment ``version`` of every conversation this write is conditioned on."""
    puts = (
        [params]
        if operation == "PutItem"
        else [t["Put"] for t in params.get("TransactItems", []) if "Put" in t]
    )
    bumped = False
    for put in puts:
        if "version = :v" not in str(put.get("ConditionExpression", "")):
            continue
        item = put["Item"]
        real(
            client,
            "UpdateItem",
            {
                "TableName": put["TableName"],
                "Key": {"pk": item["pk"], "sk": item["sk"]},
                "UpdateExpression": "SET version = version + :one",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            },
        )
        bumped = True
    return bumped


# -- platforms -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlatformRequest:
    """One request that a platform's send API received (or would have: ``reached`` False)."""

    platform: str
    recipient: str
    body: str
    outcome: str  # "accepted", "read_timeout" (accepted, answer lost), a status code, "connect_timeout"

    @property
    def delivered(self) -> bool:
        """Whether the customer got the message (the platform accepted it, answered, or failed answering)."""
        return self.outcome in ("accepted", "read_timeout", "500", "502", "503")

    @property
    def is_survey(self) -> bool:
        from urllib.parse import unquote_plus

        return "How did we do" in unquote_plus(self.body)


@dataclass
class PlatformLedger:
    requests: list[PlatformRequest] = field(default_factory=list)

    def delivered(self, survey: bool) -> Counter[str]:
        """Messages the customers got, per recipient (acknowledgements or surveys)."""
        return Counter(r.recipient for r in self.requests if r.delivered and r.is_survey == survey)

    def outcomes(self) -> Counter[str]:
        return Counter(r.outcome for r in self.requests)


def platform_stubs(injector: FaultInjector, ledger: PlatformLedger) -> responses.RequestsMock:
    """Every platform's send API, answering success with fresh ids, failing as ``injector`` decides."""
    ids = itertools.count(1)
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)

    def answering(
        platform: str, recipient: Callable[[Any], str], success: Callable[[Any, int], tuple[int, str]]
    ) -> Callable[[Any], Any]:
        def callback(request: Any) -> Any:
            injector.calls[f"platform.{platform}"] += 1
            who = recipient(request)
            body = _text(request.body)
            kind = injector.choose(PLATFORM_FAULTS) if injector.roll("platform") else "accepted"
            ledger.requests.append(PlatformRequest(platform, who, body, kind))
            if kind == "accepted":
                status, answer = success(request, next(ids))
                return status, {}, answer
            injector.injected(f"platform.{kind}")
            if kind == "connect_timeout":
                return requests.ConnectTimeout("injected: connect timed out")
            if kind == "read_timeout":
                next(ids)
                return requests.ReadTimeout("injected: read timed out")
            headers = {"Retry-After": "30"} if kind == "429" else {}
            return int(kind), headers, json.dumps({"error": {"message": "injected", "code": 2}})

        return callback

    def graph_success(request: Any, n: int) -> tuple[int, str]:
        return 200, json.dumps({"message_id": f"mid.stub{n}", "messages": [{"id": f"wamid.stub{n}"}]})

    def graph_recipient(request: Any) -> str:
        body = json.loads(request.body or b"{}")
        return str(body.get("to") or (body.get("recipient") or {}).get("id") or "")

    def telegram_success(request: Any, n: int) -> tuple[int, str]:
        chat = json.loads(request.body or b"{}").get("chat_id", 0)
        return 200, json.dumps({"ok": True, "result": {"message_id": 10_000 + n, "chat": {"id": chat}}})

    def twilio_success(request: Any, n: int) -> tuple[int, str]:
        return 201, json.dumps({"sid": f"SMstub{n:028d}", "status": "queued"})

    def twilio_recipient(request: Any) -> str:
        from urllib.parse import parse_qs

        return parse_qs(_text(request.body)).get("To", [""])[0]

    def x_success(request: Any, n: int) -> tuple[int, str]:
        return 201, json.dumps(
            {"data": {"dm_conversation_id": "c", "dm_event_id": f"9{n:018d}", "id": f"8{n:018d}"}}
        )

    stubs = (
        (GRAPH_URL, "meta", graph_recipient, graph_success),
        (
            TELEGRAM_API_URL,
            "telegram",
            lambda r: str(json.loads(r.body or b"{}").get("chat_id")),
            telegram_success,
        ),
        (TWILIO_API_URL, "twilio", twilio_recipient, twilio_success),
        (X_API_URL, "x", lambda r: r.url, x_success),
    )
    for base, platform, recipient, success in stubs:
        mock.add_callback(
            responses.POST,
            re.compile(re.escape(base) + r"/.*"),
            callback=answering(platform, recipient, success),
        )
    return mock


def _text(body: Any) -> str:
    if body is None:
        return ""
    return body.decode() if isinstance(body, bytes) else str(body)
