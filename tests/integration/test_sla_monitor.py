"""SlaMonitorFunction under moto with a moved clock: the expected emails, each exactly once.

Customer messages come in through the Meta webhook and the inbound processor (or straight through the
store); agent replies through ``Store.put_outbound_message`` (what the agent API does) or as platform
inbox echoes. Emails are read back from moto's SES backend.
"""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from carehooks import clock
from carehooks.domain.models import Channel, Conversation, Direction, Message, MessageEvent
from carehooks.inbound.processor import store_message
from carehooks.store import keys
from carehooks.store.retry import READ_ATTEMPTS
from carehooks.wiring.store import make_store
from tests.helpers import FakeContext, event_bytes, http_event, load_handler, meta_signature
from tests.integration.conftest import TABLE, Aws

SENT_AT = datetime.fromtimestamp(1763798400, tz=UTC)  # events/meta/messenger_text.json
MINUTE = timedelta(minutes=1)
SENDER = "carehooks@example.com"

CONFIG = """
version: sla-test
ops: {recipients: [ops@example.com]}
sla:
  link: "https://desk.example.com/c/{conversation_id}"
  policies:
    - id: messenger
      when: {channels: [messenger]}
      first_response: 1h
      escalations:
        - {after: 30m, recipients: [lead@example.com]}
        - {after: 2h, recipients: [head@example.com]}
"""


@dataclass(frozen=True)
class Mail:
    to: tuple[str, ...]
    subject: str
    text: str
    html: str


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def sla(aws: Aws, config_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """The moto account with a verified sender and the SLA configuration above."""
    from carehooks.config import loader

    monkeypatch.setenv("CAREHOOKS_CONFIG", str(config_file))
    monkeypatch.setenv("MAIL_FROM", SENDER)
    loader.reset()
    boto3.client("ses").verify_email_identity(EmailAddress=SENDER)
    yield aws
    loader.reset()


def use_config(path: Path, text: str) -> None:
    from carehooks.config import loader

    path.write_text(text, encoding="utf-8")
    loader.reset()


def mails() -> list[Mail]:
    """Every email moto's SES accepted, oldest first."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    out = []
    for sent in ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages:
        parsed = email.message_from_string(sent.raw_data, policy=email.policy.default)
        text = parsed.get_body(preferencelist=("plain",))
        html = parsed.get_body(preferencelist=("html",))
        assert text is not None
        assert html is not None
        out.append(
            Mail(
                to=tuple(dict.fromkeys(sent.destinations)),  # moto adds the To: header again
                subject=str(parsed["Subject"]),
                text=text.get_content(),  # type: ignore[attr-defined]
                html=html.get_content(),  # type: ignore[attr-defined]
            )
        )
    return out


def run_monitor_at(at: datetime) -> dict[str, Any]:
    with clock.frozen(at):
        result: dict[str, Any] = load_handler("sla_monitor").handler({}, FakeContext())
    return result


def post_and_process(aws: Aws, path: str, at: datetime) -> None:
    raw = event_bytes(path)
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(raw)}
    with clock.frozen(at):
        webhook = load_handler("meta_webhook").handler(
            http_event("POST", "/webhooks/meta", raw, headers), FakeContext()
        )
        assert webhook["statusCode"] == 200
        outcome = load_handler("inbound_processor").handler({"Records": aws.drain()}, FakeContext())
        assert outcome == {"batchItemFailures": []}


def customer_message(contact: str, at: datetime, text: str = "where is my order?") -> Conversation:
    """A customer's message stored as the processor stores it."""
    event = MessageEvent(
        channel=Channel.MESSENGER,
        account_id="112233445566778",
        contact_id=contact,
        platform_message_id=f"m_{contact}_{at.timestamp()}",
        sent_at=at,
        direction=Direction.IN,
        text=text,
        contact_name=f"Customer {contact}",
    )
    with clock.frozen(at):
        outcome = store_message(make_store(TABLE), event, at, timedelta(hours=24))
    assert outcome.conversation is not None
    return outcome.conversation


def reply(conv: Conversation, at: datetime, author: str) -> None:
    """A business message stored as the agent API (or an acknowledgement) stores it."""
    message = Message(
        conversation_id=conv.id,
        channel=conv.channel,
        account_id=conv.account_id,
        contact_id=conv.contact_id,
        platform_message_id=f"m_out_{at.timestamp()}",
        direction=Direction.OUT,
        sent_at=at,
        text="Hi! Looking into it.",
        author=author,
    )
    with clock.frozen(at):
        assert make_store(TABLE).put_outbound_message(conv, message) is not None


def only_conversation(aws: Aws) -> dict[str, Any]:
    (item,) = aws.items("CONV#")
    return item


# ---------------------------------------------------------------- the ladder, each rung once


def test_an_unanswered_message_yields_warning_breach_and_two_escalations_each_once(sla: Aws) -> None:
    # Given an unanswered Messenger message under a 1-hour policy with two escalation levels
    post_and_process(sla, "meta/messenger_text.json", SENT_AT + timedelta(seconds=2))
    # When the monitor runs every few minutes for four hours
    expected = {
        48: (("ops@example.com",), "SLA warning: 1 conversation, longest 48 min"),
        60: (("ops@example.com",), "SLA breach: 1 conversation, longest 1 h"),
        90: (("lead@example.com",), "SLA escalation: 1 conversation, longest 1 h 30 min"),
        180: (("head@example.com",), "SLA escalation: 1 conversation, longest 3 h"),
    }
    for minute in range(241):
        run_monitor_at(SENT_AT + minute * MINUTE)
        # Then each rung is emailed once, in the minute it falls due, to its recipients
        due = [m for m in sorted(expected) if m <= minute]
        assert [(m.to, m.subject) for m in mails()] == [expected[m] for m in due], f"at minute {minute}"
    # and the conversation leaves the due index once no rung is left
    assert keys.SLA_DUE_PK_ATTR not in only_conversation(sla)


def test_each_email_shows_the_conversation_and_links_to_it(sla: Aws) -> None:
    post_and_process(sla, "meta/messenger_text.json", SENT_AT + timedelta(seconds=2))
    run_monitor_at(SENT_AT + 61 * MINUTE)
    (mail,) = mails()
    conv_id = only_conversation(sla)["conv_id"]["S"]
    assert mail.subject == "SLA breach: 1 conversation, longest 1 h 1 min"
    assert "where is my order? #1234" in mail.text
    assert f"https://desk.example.com/c/{conv_id}" in mail.text
    assert f'href="https://desk.example.com/c/{conv_id}"' in mail.html
    assert "Messenger" in mail.html
    assert "target 1 h first response" in mail.html


def test_a_late_monitor_sends_the_breach_but_not_the_stale_warning(sla: Aws) -> None:
    customer_message("c1", SENT_AT)
    run_monitor_at(SENT_AT + 70 * MINUTE)
    run_monitor_at(SENT_AT + 75 * MINUTE)
    assert [m.subject for m in mails()] == ["SLA breach: 1 conversation, longest 1 h 10 min"]


def test_conversations_due_together_share_one_digest_per_recipient_group(sla: Aws) -> None:
    for n, offset in enumerate((0, 5, 9)):
        customer_message(f"c{n}", SENT_AT + offset * MINUTE)
    run_monitor_at(SENT_AT + 69 * MINUTE + 30 * timedelta(seconds=1))
    (mail,) = mails()
    assert mail.to == ("ops@example.com",)
    assert mail.subject == "SLA breach: 3 conversations, longest 1 h 9 min"
    assert mail.text.count("- Messenger · Customer c") == 3


# ---------------------------------------------------------------- answers stop the clock


def test_an_agent_reply_in_time_prevents_every_alert(sla: Aws) -> None:
    conv = customer_message("c1", SENT_AT)
    reply(conv, SENT_AT + 30 * MINUTE, author="alice")
    for minute in (48, 60, 90, 180, 600):
        run_monitor_at(SENT_AT + minute * MINUTE)
    assert mails() == []


def test_a_reply_typed_in_the_platform_inbox_stops_the_clock(sla: Aws) -> None:
    post_and_process(sla, "meta/messenger_text.json", SENT_AT + timedelta(seconds=2))
    post_and_process(sla, "meta/messenger_echo.json", SENT_AT + 3 * MINUTE)  # no carehooks tag: a person
    for minute in (48, 60, 90, 180):
        run_monitor_at(SENT_AT + minute * MINUTE)
    assert mails() == []


def test_an_automatic_acknowledgement_does_not_stop_the_clock(sla: Aws) -> None:
    conv = customer_message("c1", SENT_AT)
    reply(conv, SENT_AT + MINUTE, author="carehooks")
    run_monitor_at(SENT_AT + 48 * MINUTE)
    assert [m.subject for m in mails()] == ["SLA warning: 1 conversation, longest 48 min"]


def test_answering_after_the_breach_stops_further_escalations(sla: Aws) -> None:
    conv = customer_message("c1", SENT_AT)
    run_monitor_at(SENT_AT + 61 * MINUTE)
    reply(conv, SENT_AT + 70 * MINUTE, author="alice")
    for minute in (90, 180, 300):
        run_monitor_at(SENT_AT + minute * MINUTE)
    assert [m.subject for m in mails()] == ["SLA breach: 1 conversation, longest 1 h 1 min"]


def test_a_new_customer_message_after_an_answer_starts_a_next_response_clock(
    sla: Aws, config_file: Path
) -> None:
    use_config(
        config_file, CONFIG.replace("first_response: 1h", "first_response: 1h\n      next_response: 30m")
    )
    conv = customer_message("c1", SENT_AT)
    reply(conv, SENT_AT + 10 * MINUTE, author="alice")
    customer_message("c1", SENT_AT + 20 * MINUTE, text="and the refund?")
    run_monitor_at(SENT_AT + 44 * MINUTE)  # 80 % of 30 min after the second message
    run_monitor_at(SENT_AT + 50 * MINUTE)
    assert [m.subject for m in mails()] == [
        "SLA warning: 1 conversation, longest 24 min",
        "SLA breach: 1 conversation, longest 30 min",
    ]
    assert "next response" in mails()[0].text
    assert "and the refund?" in mails()[0].text


# ---------------------------------------------------------------- failures: nothing lost, nothing twice


def test_an_ses_failure_releases_the_claim_and_the_next_run_sends_it_once(sla: Aws) -> None:
    customer_message("c1", SENT_AT)
    # Given SES refuses the sender (moto rejects unverified identities, as SES does)
    ses = boto3.client("ses")
    ses.delete_identity(Identity=SENDER)
    result = run_monitor_at(SENT_AT + 61 * MINUTE)
    # Then nothing is sent, and the claim is given back
    assert result["emails_failed"] == 1
    assert result["alerts_sent"] == 0
    assert mails() == []
    assert [i for i in sla.items("CLAIM") if i["pk"]["S"].startswith("CLAIM#sla#")] == []
    # When SES accepts again, the next runs send it exactly once
    ses.verify_email_identity(EmailAddress=SENDER)
    run_monitor_at(SENT_AT + 62 * MINUTE)
    run_monitor_at(SENT_AT + 63 * MINUTE)
    assert [m.subject for m in mails()] == ["SLA breach: 1 conversation, longest 1 h 2 min"]
    (claim,) = [i for i in sla.items("CLAIM") if i["pk"]["S"].startswith("CLAIM#sla#")]
    assert claim["pk"]["S"].endswith("#first_response#1763798400000#breach")
    assert "sent_at" in claim
    assert "message_id" in claim


def test_ses_throttling_is_retried_on_the_next_run(sla: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    from carehooks.notify import email as notify_email

    customer_message("c1", SENT_AT)
    real = notify_email.sesv2_client()

    class Throttled:
        def send_email(self, **kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow"}}, "SendEmail")

    monkeypatch.setattr(notify_email, "sesv2_client", Throttled)
    assert run_monitor_at(SENT_AT + 48 * MINUTE)["emails_failed"] == 1
    monkeypatch.setattr(notify_email, "sesv2_client", lambda: real)
    assert run_monitor_at(SENT_AT + 49 * MINUTE)["emails_sent"] == 1
    assert run_monitor_at(SENT_AT + 50 * MINUTE)["emails_sent"] == 0
    assert [m.subject for m in mails()] == ["SLA warning: 1 conversation, longest 49 min"]


def test_a_sent_alert_is_not_sent_again_when_recording_it_on_the_conversation_failed(
    sla: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from carehooks.sla import monitor

    customer_message("c1", SENT_AT)
    # Given a run that sends the warning but dies before recording it on the conversation
    monkeypatch.setattr(monitor, "_record_done", lambda *args: None)
    run_monitor_at(SENT_AT + 48 * MINUTE)
    monkeypatch.undo()
    # When the next runs see the conversation still due
    second = run_monitor_at(SENT_AT + 49 * MINUTE)
    run_monitor_at(SENT_AT + 50 * MINUTE)
    # Then the claim says it was sent: recorded, not sent again
    assert second["already_sent"] == 1
    assert [m.subject for m in mails()] == ["SLA warning: 1 conversation, longest 48 min"]


def test_an_alert_claimed_by_an_overlapping_run_is_left_to_it(sla: Aws) -> None:
    conv = customer_message("c1", SENT_AT)
    run_monitor_at(SENT_AT + 48 * MINUTE)  # the warning
    due = SENT_AT + 60 * MINUTE
    scope = keys.sla_alert_scope(conv.id, "first_response", SENT_AT, "breach")
    # Given another run holds the breach's claim (it is sending right now)
    assert make_store(TABLE).claim(keys.SLA_CLAIM_KIND, scope, due, timedelta(minutes=15), owner="other-run")
    result = run_monitor_at(due)
    assert result["claimed_elsewhere"] == 1
    assert len(mails()) == 1
    # and if that run died without sending, its claim expires and a later run sends the breach
    run_monitor_at(due + 14 * MINUTE)
    assert len(mails()) == 1
    run_monitor_at(due + 16 * MINUTE)
    run_monitor_at(due + 17 * MINUTE)
    assert [m.subject for m in mails()][1:] == ["SLA breach: 1 conversation, longest 1 h 16 min"]


# ---------------------------------------------------------------- reads, policy changes


def test_a_run_reads_only_due_conversations(sla: Aws) -> None:
    for n in range(5):
        conv = customer_message(f"answered{n}", SENT_AT)
        reply(conv, SENT_AT + MINUTE, author="alice")
    for n in range(3):
        customer_message(f"waiting{n}", SENT_AT + 30 * MINUTE)  # due at +54 min
    customer_message("due", SENT_AT)
    run_monitor_at(SENT_AT)  # first run: records the policy fingerprint (re-derives the open ones once)
    result = run_monitor_at(SENT_AT + 49 * MINUTE)
    assert result["due_conversations"] == 1
    assert result["reads"]["index_items"] == 1
    assert result["reads"]["items"] == 1


def test_a_policy_change_moves_due_times_of_open_conversations(sla: Aws, config_file: Path) -> None:
    customer_message("c1", SENT_AT)
    run_monitor_at(SENT_AT + MINUTE)
    # When the target drops to 30 minutes, the next run re-derives and warns at 24 minutes
    use_config(config_file, CONFIG.replace("first_response: 1h", "first_response: 30m"))
    result = run_monitor_at(SENT_AT + 25 * MINUTE)
    assert result["rederived"] == 1
    assert [m.subject for m in mails()] == ["SLA warning: 1 conversation, longest 25 min"]
    assert run_monitor_at(SENT_AT + 26 * MINUTE)["rederived"] == 0


# ---------------------------------------------------------------- metrics


def emf(out: str) -> list[dict[str, Any]]:
    """The EMF blobs printed to stdout."""
    return [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]


def value(blob: dict[str, Any], name: str) -> float:
    found = blob[name]
    return float(found[0] if isinstance(found, list) else found)


def test_runs_publish_alert_counts_in_total_and_per_policy(
    sla: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    customer_message("c1", SENT_AT)
    capsys.readouterr()
    run_monitor_at(SENT_AT + 48 * MINUTE)
    blobs = emf(capsys.readouterr().out)
    (totals,) = [b for b in blobs if "SlaEmailsSent" in b]
    assert value(totals, "SlaWarnings") == 1
    assert value(totals, "SlaBreaches") == 0
    assert value(totals, "SlaEmailsSent") == 1
    (per_policy,) = [b for b in blobs if b.get("policy") == "messenger"]
    assert value(per_policy, "SlaWarnings") == 1


def test_an_answer_publishes_attainment_per_policy_and_metric(
    sla: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    on_time = customer_message("c1", SENT_AT)
    late = customer_message("c2", SENT_AT)
    capsys.readouterr()
    reply(on_time, SENT_AT + 59 * MINUTE, author="alice")
    reply(late, SENT_AT + 61 * MINUTE, author="alice")
    blobs = [b for b in emf(capsys.readouterr().out) if "SlaAttainment" in b]
    assert [(b["policy"], b["metric"], value(b, "SlaAttainment")) for b in blobs] == [
        ("messenger", "first_response", 100.0),
        ("messenger", "first_response", 0.0),
    ]


def test_a_shard_that_cannot_be_read_costs_the_run_only_its_own_alerts(
    sla: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from carehooks.store import DynamoStore

    # Given two unanswered customers whose due markers sit in different shards
    first = customer_message("c1", SENT_AT)
    second = next(
        conv
        for n in range(2, 60)
        if keys.sla_shard((conv := customer_message(f"c{n}", SENT_AT)).id) != keys.sla_shard(first.id)
    )
    broken = keys.sla_shard(first.id)
    real = DynamoStore.due_conversation_keys
    asked: list[int] = []

    def throttled(self: DynamoStore, shard: int, *args: Any) -> Any:
        asked.append(shard)
        if shard == broken:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "Query")
        return real(self, shard, *args)

    # When the first customer's shard keeps failing through a run
    monkeypatch.setattr(DynamoStore, "due_conversation_keys", throttled)
    result = run_monitor_at(SENT_AT + 48 * MINUTE)
    # Then it was asked again within the run, and the other shards' warnings still went out
    assert asked.count(broken) == READ_ATTEMPTS
    assert result["alerts_sent"] >= 1
    warned = {m.subject for m in mails()}
    assert warned
    # and once the shard reads again, its warning goes out on the next run, once
    monkeypatch.setattr(DynamoStore, "due_conversation_keys", real)
    assert run_monitor_at(SENT_AT + 49 * MINUTE)["alerts_sent"] == 1
    assert run_monitor_at(SENT_AT + 50 * MINUTE)["alerts_sent"] == 0
    assert second.id != first.id
