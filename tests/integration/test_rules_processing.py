"""Rules through the inbound processor under moto: decisions, exactly-once acknowledgement, dry run, replay.

The outbound path is the real one (``deliver``: window check, send, store the sent message) with a fake
Messenger client in place of the Graph API.
"""

from __future__ import annotations

import json
import threading
import time
from argparse import Namespace
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from infra.cli import rules as rules_cli

from carehooks import clock
from carehooks.config import loader
from carehooks.domain.models import Conversation
from carehooks.outbound.client import STANDARD, SendPlan
from carehooks.outbound.models import OutboundMessage, PermanentError, RateLimitedError, SendResult
from carehooks.store import Store
from carehooks.wiring.inbound import process as process_queued
from carehooks.wiring.store import get_store, make_store
from tests.helpers import FakeContext, http_event, load_handler, meta_signature
from tests.integration.conftest import Aws

PAGE = "112233445566778"
CUSTOMER = "7318845612093471"
# Wednesday 19 November 2025, 23:00 in London (GMT): out of the default calendar's hours.
LATE = datetime(2025, 11, 19, 23, 0, tzinfo=UTC)


@dataclass
class FakeMessenger:
    """Stands in for the Graph API: records sends, can fail or be slow."""

    sent: list[tuple[str, OutboundMessage]] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(
        self, conversation: Conversation, message: OutboundMessage, plan: SendPlan = STANDARD
    ) -> SendResult:
        if self.failures:
            raise self.failures.pop(0)
        time.sleep(self.delay)
        with self.lock:
            self.sent.append((conversation.id, message))
            return SendResult(status="sent", platform_message_id=f"m_sent_{len(self.sent)}")

    def acks(self, conversation_id: str | None = None) -> list[OutboundMessage]:
        return [m for cid, m in self.sent if m.kind == "ack" and conversation_id in (None, cid)]


@pytest.fixture
def messenger(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> FakeMessenger:
    from carehooks.channels import registry

    fake = FakeMessenger()
    monkeypatch.setattr(registry, "client_for", lambda channel: fake)
    monkeypatch.delenv("CAREHOOKS_CONFIG", raising=False)
    monkeypatch.delenv("CONFIG_PARAMETER", raising=False)
    loader.reset()
    return fake


def body(text: str, mid: str, at: datetime, *, echo: bool = False) -> bytes:
    sender, recipient = (PAGE, CUSTOMER) if echo else (CUSTOMER, PAGE)
    message: dict[str, Any] = {"mid": mid, "text": text}
    if echo:
        message["is_echo"] = True
    ms = int(at.timestamp() * 1000)
    event = {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": ms, "message": message}
    return json.dumps({"object": "page", "entry": [{"id": PAGE, "time": ms, "messaging": [event]}]}).encode()


def post(raw: bytes) -> None:
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(raw)}
    response = load_handler("meta_webhook").handler(
        http_event("POST", "/webhooks/meta", raw, headers), FakeContext()
    )
    assert response["statusCode"] == 200


def process(aws: Aws) -> dict[str, Any]:
    result: dict[str, Any] = load_handler("inbound_processor").handler(
        {"Records": aws.drain()}, FakeContext()
    )
    return result


def deliver_at(aws: Aws, raw: bytes, at: datetime) -> dict[str, Any]:
    # Received and processed at ``at``: a platform time more than 10 days before its receipt would be
    # implausible (docs/timestamps.md), so the webhook must not receive it at today's date.
    with clock.frozen(at):
        post(raw)
        return process(aws)


def conversations(store: Store) -> list[Conversation]:
    return store.contact_conversations("messenger", PAGE, CUSTOMER)


def stored_decision(store: Store, mid: str) -> dict[str, Any]:
    message = store.get_message("messenger", PAGE, CUSTOMER, mid)
    assert message is not None
    decision: dict[str, Any] = message.extra["rules"]
    return decision


def served_by_alice(aws: Aws) -> Conversation:
    """An earlier conversation, answered by alice five days before and resolved."""
    earlier = LATE - timedelta(days=5, hours=12)  # a Friday, 11:00
    deliver_at(aws, body("hello", "m_earlier", earlier), earlier + timedelta(seconds=2))
    store = get_store()
    conv = conversations(store)[0]
    return store.save_conversation(
        replace(
            conv,
            status="resolved",
            resolved_at=earlier + timedelta(hours=1),
            last_responder="alice",
            last_outbound_at=earlier + timedelta(minutes=30),
        )
    )


def test_done_when_order_question_at_23h_is_tagged_prioritised_assigned_and_acknowledged_once(
    aws: Aws, messenger: FakeMessenger
) -> None:
    # Given a customer alice served five days ago
    earlier = served_by_alice(aws)
    # When "where is my order? #1234" arrives on Messenger at 23:00
    outcome = deliver_at(aws, body("where is my order? #1234", "m_order", LATE), LATE + timedelta(seconds=3))
    # Then the new conversation gets the configured tags and priority, the last agent, and one ack
    assert outcome == {"batchItemFailures": []}
    store = get_store()
    conv = next(c for c in conversations(store) if c.id != earlier.id)
    assert set(conv.tags) == {"order", "order-status", "out-of-hours"}
    assert conv.priority == "high"
    assert conv.assignee == "alice"
    assert conv.extra["team"] == "orders"
    acks = messenger.acks(conv.id)
    assert len(acks) == 1
    assert acks[0].text == "Thanks! We will look into your order when we reopen Thursday 09:00."
    decision = stored_decision(store, "m_order")
    assert decision["matched"] == ["order-status", "out-of-hours", "acknowledge-everyone"]
    assert decision["config_version"] == "default-1"
    assert decision["ack"]["status"] == "sent"
    assert decision["ack"]["platform_message_id"] == "m_sent_2"
    skipped = [a for a in decision["actions"] if a["status"] == "skipped"]
    assert {a["action"] for a in skipped} == {"assign", "acknowledge"}
    # The sent acknowledgement is stored in the conversation, and does not count as a response.
    assert [m.kind for m in store.messages(conv)] == ["text", "ack"]
    assert conv.first_response_at is None


def test_done_when_the_dry_run_predicts_the_same(
    aws: Aws, messenger: FakeMessenger, capsys: pytest.CaptureFixture[str]
) -> None:
    served_by_alice(aws)
    args = Namespace(
        channel="messenger",
        text="where is my order? #1234",
        at=(LATE + timedelta(seconds=3)).isoformat(),
        contact=CUSTOMER,
        account=PAGE,
        name=None,
        kind="text",
        attachment=[],
        tag=[],
        assignee=None,
        config=None,
        no_store=False,
        json=True,
    )
    sends_before = len(messenger.sent)
    assert rules_cli.run_test(args) == 0
    lines = capsys.readouterr().out.splitlines()  # log lines (JSON, one line each) may surround it
    predicted = json.loads("\n".join(lines[lines.index("{") : lines.index("}") + 1]))
    assert len(messenger.sent) == sends_before  # no side effect
    deliver_at(aws, body("where is my order? #1234", "m_order", LATE), LATE + timedelta(seconds=3))
    store = get_store()
    conv = conversations(store)[0]
    assert predicted["tags"] == conv.tags
    assert predicted["decision"]["priority"] == conv.priority
    assert predicted["decision"]["assignment"]["agent"] == conv.assignee
    assert predicted["decision"]["matched"] == stored_decision(store, "m_order")["matched"]
    assert predicted["ack"]["text"] == messenger.acks(conv.id)[0].text


def test_a_redelivered_message_is_not_acknowledged_again(aws: Aws, messenger: FakeMessenger) -> None:
    raw = body("where is my order? #1234", "m_order", LATE)
    deliver_at(aws, raw, LATE + timedelta(seconds=3))
    decision = stored_decision(get_store(), "m_order")
    # Meta redelivers the same webhook, and SQS redelivers the same record
    deliver_at(aws, raw, LATE + timedelta(minutes=5))
    with clock.frozen(LATE + timedelta(minutes=6)):
        process_queued(_queued_body(aws, raw), get_store())
    assert len(messenger.acks()) == 1
    assert stored_decision(get_store(), "m_order") == decision


def _queued_body(aws: Aws, raw: bytes) -> str:
    post(raw)
    records = aws.drain()
    assert len(records) == 1
    body_text: str = records[0]["body"]
    return body_text


def test_later_messages_of_the_conversation_are_not_acknowledged(aws: Aws, messenger: FakeMessenger) -> None:
    deliver_at(aws, body("where is my order?", "m_1", LATE), LATE + timedelta(seconds=1))
    deliver_at(
        aws, body("hello??", "m_2", LATE + timedelta(minutes=2)), LATE + timedelta(minutes=2, seconds=1)
    )
    assert len(messenger.acks()) == 1
    second = stored_decision(get_store(), "m_2")
    assert second["ack"]["status"] == "skipped"
    assert "already acknowledged" in second["ack"]["reason"]


@pytest.mark.ddblocal
def test_two_records_of_one_conversation_processed_concurrently_get_one_acknowledgement(
    aws: Aws, messenger: FakeMessenger, ddblocal: str
) -> None:
    # moto's in-process DynamoDB is not thread safe ("dictionary changed size during iteration"), and
    # it does not enforce conditions as DynamoDB does: the race runs on DynamoDB Local.
    store = _ddblocal_store(ddblocal)
    # Given a conversation started by the business (an echo), so both customer messages thread into it
    with clock.frozen(LATE - timedelta(minutes=5)):
        process_queued(
            _queued_body(aws, body("Hi from the shop", "m_echo", LATE - timedelta(minutes=5), echo=True)),
            store,
        )
    assert messenger.acks() == []
    bodies = [
        _queued_body(aws, body("where is my order?", "m_a", LATE)),
        _queued_body(aws, body("order #1234 please", "m_b", LATE + timedelta(seconds=1))),
    ]
    messenger.delay = 0.3  # the first send is still in flight when the second record claims
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(queued: str) -> None:
        start.wait()
        try:
            process_queued(queued, store)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    # The clock is frozen once for both threads: it is one module global, so a freeze per thread would
    # let the first thread to finish unfreeze the other.
    with clock.frozen(LATE + timedelta(seconds=5)):
        threads = [threading.Thread(target=run, args=(b,)) for b in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []
    assert len(conversations(store)) == 1
    assert len(messenger.acks()) == 1
    outcomes = sorted(stored_decision(store, mid)["ack"]["status"] for mid in ("m_a", "m_b"))
    assert outcomes == ["sent", "skipped"]


def _ddblocal_store(endpoint: str) -> Store:
    """A fresh table on DynamoDB Local, created from template.yaml."""
    import boto3
    from infra.template import table_create_kwargs

    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="eu-west-1")
    name = f"rules-race-{time.time_ns()}"
    client.create_table(**table_create_kwargs("Table", name))
    return make_store(name, client=client)


def test_a_rate_limited_send_fails_the_record_and_its_retry_acknowledges_once(
    aws: Aws, messenger: FakeMessenger
) -> None:
    messenger.failures.append(RateLimitedError("too many calls", retry_after=30))
    raw = body("where is my order?", "m_order", LATE)
    queued = _queued_body(aws, raw)
    with clock.frozen(LATE + timedelta(seconds=2)), pytest.raises(Exception, match="too many calls"):
        process_queued(queued, get_store())
    store = get_store()
    assert stored_decision(store, "m_order")["ack"] == {"status": "pending"}
    assert messenger.acks() == []
    # SQS delivers the record again: the message is a duplicate now, and the pending ack is finished
    with clock.frozen(LATE + timedelta(minutes=1)):
        process_queued(queued, store)
        process_queued(queued, store)
    assert len(messenger.acks()) == 1
    assert stored_decision(store, "m_order")["ack"]["status"] == "sent"


def test_a_permanent_failure_is_recorded_and_not_retried(aws: Aws, messenger: FakeMessenger) -> None:
    messenger.failures.append(PermanentError("the person cannot receive messages", platform_code="551"))
    outcome = deliver_at(aws, body("where is my order?", "m_order", LATE), LATE + timedelta(seconds=2))
    assert outcome == {"batchItemFailures": []}
    ack = stored_decision(get_store(), "m_order")["ack"]
    assert ack["status"] == "failed"
    assert ack["reason"] == "the person cannot receive messages"
    deliver_at(
        aws, body("hello?", "m_again", LATE + timedelta(minutes=1)), LATE + timedelta(minutes=1, seconds=2)
    )
    assert messenger.sent == []


def test_a_message_processed_long_after_it_was_sent_is_not_acknowledged(
    aws: Aws, messenger: FakeMessenger
) -> None:
    # A record parked in the DLQ and redriven two days later: outside Messenger's 24-hour window
    deliver_at(aws, body("where is my order?", "m_old", LATE), LATE + timedelta(days=2))
    ack = stored_decision(get_store(), "m_old")["ack"]
    assert ack["status"] == "skipped"
    assert "window" in ack["reason"]
    assert messenger.sent == []


def test_an_echo_gets_no_decision_and_no_acknowledgement(aws: Aws, messenger: FakeMessenger) -> None:
    deliver_at(aws, body("Hi from the inbox", "m_echo", LATE, echo=True), LATE + timedelta(seconds=1))
    message = get_store().get_message("messenger", PAGE, CUSTOMER, "m_echo")
    assert message is not None
    assert "rules" not in message.extra
    assert messenger.sent == []


def test_replay_compares_recorded_decisions_with_the_current_configuration(
    aws: Aws, messenger: FakeMessenger
) -> None:
    deliver_at(aws, body("where is my order? #1234", "m_order", LATE), LATE + timedelta(seconds=1))
    deliver_at(
        aws, body("thanks", "m_thanks", LATE + timedelta(minutes=1)), LATE + timedelta(minutes=1, seconds=1)
    )
    store = get_store()
    since = LATE - timedelta(days=7)
    same = rules_cli.replay_since(loader.default_document(), store, since)
    assert (same["messages"], same["conversations"], same["changed"]) == (2, 1, 0)
    order_row = next(r for r in same["rules"] if r["id"] == "order-status")
    assert (order_row["before"], order_row["now"]) == (1, 1)
    edited = loader.default_document().model_copy(
        update={"rules": [r for r in loader.default_document().rules if r.id != "order-status"]}
    )
    changed = rules_cli.replay_since(edited, store, since)
    assert changed["changed"] == 1
    assert changed["examples"][0]["message"] == "m_order"
    order_row = next(r for r in changed["rules"] if r["id"] == "order-status")
    assert (order_row["before"], order_row["now"]) == (1, 0)
    assert messenger.acks() == messenger.acks()[:1]  # replay sent nothing
