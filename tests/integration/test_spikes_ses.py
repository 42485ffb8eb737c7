"""Spike alerts through SES (moto): the default mailer sends one email per spike; a refused send is
given back and sent once by the next run."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from carehooks import clock
from carehooks.automation.spikes import check_spikes
from carehooks.config.automation import AutomationConfig
from carehooks.config.document import ConfigDocument, OpsConfig
from carehooks.config.spikes import SpikesConfig
from carehooks.notify.email import send_email
from carehooks.store import keys
from carehooks.store.memory import MemoryStore
from carehooks.store.spikes import VolumeIncrement
from tests.integration.conftest import Aws

SENDER = "carehooks@example.com"
NOW = datetime(2026, 3, 2, 9, 7, tzinfo=UTC)
CONFIG = ConfigDocument(
    ops=OpsConfig(recipients=["ops@example.com"]),
    automation=AutomationConfig(spikes=SpikesConfig(min_count=20)),
)


def subjects() -> list[str]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    out = []
    for sent in ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages:
        parsed = email.message_from_string(sent.raw_data, policy=email.policy.default)
        if str(parsed["Subject"]).startswith("[carehooks] Spike"):
            out.append(str(parsed["Subject"]))
    return out


def test_the_default_mailer_sends_one_email_per_spike_and_retries_a_refused_one(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAIL_FROM", SENDER)
    store = MemoryStore()
    store.count_volume(VolumeIncrement(keys.volume_bucket(NOW), 0, "telegram#bot-1", 30, {"outage": 30}))
    # Given SES refuses the unverified sender: nothing sent, the spike is given back
    with clock.frozen(NOW):
        refused = check_spikes(store, CONFIG, send_email)
    assert (refused.failures, refused.emailed, subjects(), store.active_spikes()) == (1, 0, [], [])
    # When the sender is verified, the next runs send it once
    boto3.client("ses").verify_email_identity(EmailAddress=SENDER)
    with clock.frozen(NOW + timedelta(minutes=1)):
        sent = check_spikes(store, CONFIG, send_email)
        again = check_spikes(store, CONFIG, send_email)
    assert (sent.emailed, again.emailed) == (1, 0)
    assert subjects() == [
        "[carehooks] Spike on telegram (bot-1): 30 messages (all messages) in 5 minutes, baseline 0"
    ]
