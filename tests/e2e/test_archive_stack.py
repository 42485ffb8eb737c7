"""The raw archive and data protection on the local stack, over HTTP and the command line (issue 18):

- rebuild: messages posted, the stack stopped and its DynamoDB data deleted, started again,
  ``carehooks archive replay --local --since 1d``: the same conversations and messages are listed, and no
  acknowledgement is sent again;
- erasure: the contact's conversations, notes and archived events are gone, the export answers 404, and
  a redelivered old webhook of that person stores nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from infra.local.settings import SECRET_DEFAULTS

from tests.e2e.conftest import _running
from tests.e2e.harness import ROOT, LocalStack, clean_env, wait_for
from tests.e2e.test_agent_api_stack import PAGE, api, stack_now, token_for
from tests.helpers import event_json

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def archive_stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LocalStack]:
    """A stack of its own: the rebuild test deletes its DynamoDB data."""
    yield from _running(LocalStack(tmp_path_factory.mktemp("archive") / "local"), request)


def messenger_body(stack: LocalStack, contact: str, text: str) -> bytes:
    body = event_json("meta/messenger_text.json")
    event = body["entry"][0]["messaging"][0]
    event["sender"]["id"] = contact
    event["timestamp"] = int(stack_now(stack).timestamp() * 1000)
    event["message"] = {"mid": f"m_{uuid.uuid4().hex}", "text": text}
    return json.dumps(body).encode()


def post(stack: LocalStack, raw: bytes) -> None:
    signature = hmac.new(SECRET_DEFAULTS["META_APP_SECRET"].encode(), raw, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"}
    assert stack.request("POST", "/webhooks/meta", raw, headers).status == 200


def history(stack: LocalStack, token: str, contact: str) -> list[tuple[str, list[str]]]:
    """The contact's conversations (status) with their customer messages' texts."""
    status, body = api(stack, token, "GET", f"/api/contacts/messenger/{PAGE}/{contact}/conversations")
    assert status == 200, body
    out = []
    for item in body["items"]:
        status, detail = api(stack, token, "GET", f"/api/conversations/{item['id']}")
        assert status == 200, detail
        out.append((detail["status"], [m["text"] for m in detail["messages"] if m["direction"] == "in"]))
    return out


def calls_to(stack: LocalStack, contact: str) -> list[dict[str, Any]]:
    return [c for c in stack.outbox() if contact in json.dumps(c.get("body"))]


def archived(stack: LocalStack, contact: str) -> list[Path]:
    return sorted((stack.data_dir / "archive").rglob(f"*/{PAGE}/{contact}/*.json"))


def cli(stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    # This checkout's package first (a shared virtual environment may hold another checkout's).
    path = f"{ROOT / 'layers' / 'common'}{os.pathsep}{ROOT}"
    env = clean_env(CAREHOOKS_LOCAL_DIR=str(stack.data_dir), PORT=str(stack.port), PYTHONPATH=path)
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_table_lost_after_an_incident_is_rebuilt_from_the_archive(archive_stack: LocalStack) -> None:
    stack = archive_stack
    token = token_for(stack, "agent-ada")
    ann, ben = (str(7_300_000_000_000_000 + uuid.uuid4().int % 10**15) for _ in range(2))
    # Given messages posted, stored, archived and acknowledged
    post(stack, messenger_body(stack, ann, "where is my order?"))
    post(stack, messenger_body(stack, ben, "hello"))
    wait_for(
        lambda: len(history(stack, token, ann)) == 1 and len(history(stack, token, ben)) == 1,
        what="both stored",
    )
    post(stack, messenger_body(stack, ann, "it is #1234"))
    wait_for(
        lambda: history(stack, token, ann) == [("open", ["where is my order?", "it is #1234"])],
        what="the follow-up",
    )
    acks = {c: wait_for(lambda c=c: calls_to(stack, c), what="the acknowledgement") for c in (ann, ben)}
    before = {c: history(stack, token, c) for c in (ann, ben)}
    assert len(archived(stack, ann)) == 2
    assert len(archived(stack, ben)) == 1
    # When the stack is stopped, its DynamoDB data deleted, and it starts on an empty table
    stack.stop()
    shutil.rmtree(stack.data_dir / "dynamodb")
    stack.start()
    token = token_for(stack, "agent-ada")
    assert history(stack, token, ann) == []
    # and the archive of the last day is replayed
    done = cli(stack, "archive", "replay", "--local", "--since", "1d")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sent 3 archived event(s)" in done.stdout
    # Then the same conversations and messages are listed
    wait_for(
        lambda: {c: history(stack, token, c) for c in (ann, ben)} == before, timeout=60, what="the rebuild"
    )
    # And no acknowledgement was sent again
    assert {c: calls_to(stack, c) for c in (ann, ben)} == acks
    # And `archive list` shows the three events
    listed = cli(stack, "archive", "list", "--local", "--since", "1d", "--channel", "messenger", "--json")
    assert listed.returncode == 0, listed.stderr
    keys = [i["key"] for i in json.loads(listed.stdout)["items"]]
    assert sum(f"/{ann}/" in k for k in keys) == 2
    assert sum(f"/{ben}/" in k for k in keys) == 1


def test_an_erased_contact_is_gone_and_its_old_webhook_stores_nothing(archive_stack: LocalStack) -> None:
    stack = archive_stack
    agent = token_for(stack, "agent-ada")
    admin = token_for(stack, "admin-eve", scope="openid carehooks:admin")
    contact = str(7_400_000_000_000_000 + uuid.uuid4().int % 10**15)
    path = f"/api/contacts/messenger/{PAGE}/{contact}"
    # Given a customer with a conversation, a note and an archived event
    raw = messenger_body(stack, contact, "my phone is 555-0100")
    post(stack, raw)
    wait_for(lambda: history(stack, agent, contact), what="the conversation")
    assert api(stack, agent, "POST", f"{path}/notes", {"text": "called back"})[0] == 201
    assert len(archived(stack, contact)) == 1
    # When an agent without the admin scope tries, it is refused; an admin erases the contact
    assert api(stack, agent, "DELETE", path)[0] == 403
    status, erased = api(stack, admin, "DELETE", path)
    assert status == 200, erased
    assert contact not in json.dumps(erased)
    # Then its conversations, notes and archived events are gone, and the export answers 404
    assert history(stack, agent, contact) == []
    assert api(stack, agent, "GET", f"{path}/notes")[0] == 404
    assert archived(stack, contact) == []
    assert api(stack, admin, "GET", f"{path}/export")[0] == 404
    # When the platform redelivers the old webhook
    post(stack, raw)
    wait_for(lambda: "from before its erasure" in stack.log(), what="the redelivery to be refused")
    # Then nothing of the person is stored again, not even in the archive
    assert history(stack, agent, contact) == []
    assert (
        wait_for(lambda: archived(stack, contact) == [] or None, what="its archived copy removed") is None
        or True
    )
    assert archived(stack, contact) == []
