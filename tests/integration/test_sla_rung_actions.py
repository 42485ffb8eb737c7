"""SLA rungs that act (issue 17): a breach sets the priority, tags and reassigns, once, on both stores."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import boto3
import pytest
from infra.template import table_create_kwargs

from carehooks import clock
from carehooks.config.loader import ConfigError, parse_document
from carehooks.domain.models import AUTOMATION_AUTHOR
from carehooks.notify.email import EmailError
from carehooks.sla.current import setup_of
from carehooks.sla.monitor import run_monitor
from carehooks.store import Store
from carehooks.store.memory import MemoryStore
from carehooks.wiring.store import derivation, make_store
from tests.integration.automation_support import T0, current, customer_writes

H = timedelta(hours=1)
M = timedelta(minutes=1)
CONFIG = """
version: rung-actions
teams: [{id: leads}]
ops: {recipients: [ops@example.com]}
sla:
  policies:
    - id: messaging
      first_response: 1h
      warning: {at: 0.5, actions: [{add_tags: [warned]}]}
      breach:
        actions: [{set_priority: urgent}, {add_tags: [escalated]}, {assign: {team: leads}}]
"""
DOC = parse_document(CONFIG)
_names = itertools.count()


@pytest.fixture(params=["memory", pytest.param("ddblocal", marks=pytest.mark.ddblocal)])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore(derive=derivation(lambda: DOC))
        return
    endpoint = request.getfixturevalue("ddblocal")
    client: Any = boto3.client("dynamodb", endpoint_url=endpoint, region_name="eu-west-1")
    name = f"rungs-{next(_names)}"
    client.create_table(**table_create_kwargs("Table", name))
    yield make_store(name, client=client, config=lambda: DOC)
    client.delete_table(TableName=name)


class Mailer:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[str] = []

    def __call__(self, recipients: Sequence[str], subject: str, html: str, text: str) -> str:
        if self.fail:
            raise EmailError("SES is down")
        self.sent.append(subject)
        return f"mail-{len(self.sent)}"


def monitor(store: Store, at: Any, mailer: Mailer) -> Any:
    with clock.frozen(at):
        return run_monitor(store, at, setup_of(DOC), mailer, lambda _id: None)


def test_the_breach_rung_sets_priority_tags_and_team_once_with_an_event(store: Store) -> None:
    conv = customer_writes(store, "c1", T0)
    mailer = Mailer()
    warned = monitor(store, T0 + 31 * M, mailer)
    assert warned.actions_run == 1
    assert current(store, conv).tags == ["warned"]
    breached = monitor(store, T0 + H + M, mailer)
    assert breached.actions_run == 3
    after = current(store, conv)
    assert after.priority == "urgent"
    assert after.tags == ["warned", "escalated"]
    assert after.assignee is None
    assert after.extra["team"] == "leads"
    for later in (2 * M, 10 * M, 3 * H):
        assert monitor(store, T0 + H + later, mailer).actions_run == 0
    events = [e for e in store.conversation_events(current(store, conv)) if e.action == "sla_actions"]
    assert [e.details["rung"] for e in events] == [
        "messaging/first_response/warning",
        "messaging/first_response/breach",
    ]
    assert all(e.actor == AUTOMATION_AUTHOR for e in events)
    trace = events[1].details["actions"]
    assert [(t["action"], t["status"]) for t in trace] == [
        ("set_priority", "ran"),
        ("add_tags", "ran"),
        ("assign", "ran"),
    ]
    assert len(mailer.sent) == 2  # the warning and the breach, each emailed once


def test_actions_run_once_even_when_the_email_is_retried(store: Store) -> None:
    conv = customer_writes(store, "c1", T0)
    down = Mailer(fail=True)
    first = monitor(store, T0 + H + M, down)
    assert first.emails_failed >= 1
    assert current(store, conv).priority == "urgent"
    up = Mailer()
    second = monitor(store, T0 + H + 2 * M, up)
    assert second.actions_run == 0
    assert second.alerts_sent == 1  # the breach, now emailed (it superseded the warning, never reached)
    events = [e for e in store.conversation_events(current(store, conv)) if e.action == "sla_actions"]
    assert [e.details["rung"] for e in events] == ["messaging/first_response/breach"]


def test_rung_actions_are_validated_with_paths_and_reasons() -> None:
    bad = CONFIG.replace("{assign: {team: leads}}", "{assign: {team: nobody}}, {hide_comment: true}")
    with pytest.raises(ConfigError) as caught:
        parse_document(bad)
    assert caught.value.errors == [
        (
            "sla.policies.0.breach.actions.3",
            "a rung action is one of: add_tags, remove_tags, set_priority, assign (a mapping with one key)",
        )
    ]
    unknown = CONFIG.replace("{assign: {team: leads}}", "{assign: {team: nobody}}")
    with pytest.raises(ConfigError) as caught:
        parse_document(unknown)
    ((where, reason),) = caught.value.errors
    assert where == "(document)"
    assert "sla.policies.0 (messaging).breach.actions: no team named 'nobody'" in reason
