"""Spike alerts end to end in the local stack: 40 Messenger messages in 5 minutes on a quiet channel
produce exactly one spike email in the mail folder, however often AutomationFunction runs.

AutomationFunction (issue 17) runs ``carehooks.automation.spikes.check_spikes`` every minute; this test
runs it by hand (``POST /_local/run/AutomationFunction``), as overlapping runs would. Observed only over
HTTP and the mail folder.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from infra.local.settings import SECRET_DEFAULTS

from tests.e2e.harness import LocalStack, wait_for
from tests.helpers import event_json

pytestmark = pytest.mark.e2e

MESSAGES = 40
CONFIG = """
version: spikes-e2e
ops: {recipients: [ops@example.com]}
automation:
  spikes: {enabled: true, multiple: 3, min_count: 20, baseline_days: 7}
"""


@pytest.fixture(scope="module")
def spikes_stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LocalStack]:
    """The project's stack with spike alerts on and no rules (on moto's DynamoDB: faster to start)."""
    folder = tmp_path_factory.mktemp("spikes")
    config = folder / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    stack = LocalStack(folder / "local", env={"CAREHOOKS_CONFIG": str(config), "LOCAL_DYNAMODB": "moto"})
    stack.start()
    try:
        yield stack
    finally:
        code = stack.stop()
        if request.session.testsfailed:
            print(f"\n----- local stack log ({stack.log_path}) -----\n{stack.log_tail(200)}")
        assert code == 0, f"the stack did not stop cleanly (exit {code})"


def stack_now(stack: LocalStack) -> datetime:
    return datetime.fromisoformat(stack.get("/_local/clock").json()["now"].replace("Z", "+00:00"))


def customer_says(stack: LocalStack, contact: str, text: str) -> None:
    """A signed Messenger text from ``contact`` at the stack's time."""
    at = stack_now(stack)
    body = event_json("meta/messenger_text.json")
    event = body["entry"][0]["messaging"][0]
    event["sender"]["id"] = contact
    event["timestamp"] = int(at.timestamp() * 1000)
    event["message"] = {"mid": f"m_{uuid.uuid4().hex}", "text": text}
    raw = json.dumps(body).encode()
    signature = hmac.new(SECRET_DEFAULTS["META_APP_SECRET"].encode(), raw, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"}
    assert stack.request("POST", "/webhooks/meta", raw, headers).status == 200


def spike_mails(stack: LocalStack) -> list[dict[str, Any]]:
    """The spike emails in the mail folder (parsed .eml), oldest first."""
    out = []
    for item in stack.get("/_local/mail").json()["items"]:
        if not str(item["subject"]).startswith("[carehooks] Spike on"):
            continue
        path = Path(item["file"])
        if not path.is_absolute():
            path = stack.data_dir / "mail" / path.name
        parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
        text = parsed.get_body(preferencelist=("plain",))
        assert text is not None
        out.append({"to": item["to"], "subject": item["subject"], "text": text.get_content()})  # type: ignore[attr-defined]
    return out


def run_automation(stack: LocalStack) -> None:
    answer = stack.request("POST", "/_local/run/AutomationFunction")
    assert answer.status == 200, answer.body[:500]


def test_forty_messages_in_five_minutes_on_a_quiet_channel_email_once(spikes_stack: LocalStack) -> None:
    stack = spikes_stack
    # At the start of a 5-minute bucket, so the 40 messages share it
    now = stack_now(stack)
    bucket = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0) + timedelta(minutes=5)
    stack.post_json("/_local/clock", {"set": (bucket + timedelta(seconds=5)).isoformat()})
    run_automation(stack)
    assert spike_mails(stack) == []  # quiet: nothing

    for n in range(MESSAGES):
        customer_says(stack, f"75{n:014d}", f"the app crashes when I pay ({n})")
    wait_for(
        lambda: len(stack.get("/_local/conversations?limit=500").json()["items"]) >= MESSAGES,
        timeout=120,
        what=f"{MESSAGES} conversations",
    )
    for _ in range(3):  # overlapping runs, and the scheduler's
        run_automation(stack)
    mails = wait_for(lambda: spike_mails(stack), timeout=60, what="the spike email")
    time.sleep(2)
    run_automation(stack)
    mails = spike_mails(stack)
    assert len(mails) == 1
    [mail] = mails
    assert mail["to"] == ["ops@example.com"]
    assert mail["subject"].startswith("[carehooks] Spike on messenger (")
    # The scheduler's own minute runs may see the spike before all 40 are in (on a loaded machine): the
    # email names the count when it was first seen, at least min_count (20), at most the 40.
    found = re.search(r"(\d+) messages \(all messages\) in 5 minutes, baseline 0", mail["subject"])
    assert found is not None, mail["subject"]
    assert 20 <= int(found.group(1)) <= MESSAGES
    assert sum("the app crashes when I pay" in line for line in mail["text"].splitlines()) == 3
