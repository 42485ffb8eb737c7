"""``carehooks migrate`` on Amazon DynamoDB Local: a data model v1 table, made by the v1 code, upgraded.

The fixture (``fixtures/v1_table``, made once by ``make.py`` with the v1 code of commit ffd1f10) holds a
table with conversations in every state (open, pending, resolved awaiting a survey, resolved with a
survey answered, assigned, tagged, with priorities, SLA clocks running, reopened, a public comment thread
with its linked private conversation, a hidden comment; Messenger, Instagram, WhatsApp, Telegram), their
messages with rules decisions and acknowledgements, agent replies and conversation events; and the v1
agent API's answers about it. Each test loads the items into a fresh table built from the CURRENT
template (it has ``ByCreated``; ``ByDay`` stays for this release) and checks that the current code answers
exactly as v1 did, before and after the migration.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from infra.cli.__main__ import main as cli
from infra.template import table_create_kwargs

from carehooks import clock
from carehooks.clock import parse_iso
from carehooks.store import keys
from carehooks.store.migrate import CHECKPOINT_PK, CHECKPOINT_SK, Migration, is_v1, kind_of
from carehooks.wiring.store import make_store
from tests.integration.agent_api_client import ADA, FakeDeliver, api_event, install

pytestmark = pytest.mark.ddblocal

FIXTURE = Path(__file__).parent / "fixtures" / "v1_table"
ITEMS: list[dict[str, Any]] = json.loads((FIXTURE / "items.json").read_text(encoding="utf-8"))
RECORDED: dict[str, Any] = json.loads((FIXTURE / "answers.json").read_text(encoding="utf-8"))
NOW = parse_iso(RECORDED["now"])
CONVERSATIONS = sum(1 for i in ITEMS if i["sk"]["S"].startswith(keys.CONVERSATION_PREFIX))
MESSAGES = sum(1 for i in ITEMS if i["sk"]["S"].startswith(keys.MESSAGE_PREFIX))
_names = itertools.count()


@pytest.fixture(scope="module")
def dynamodb(ddblocal: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=ddblocal, region_name="eu-west-1")


def _loaded(item: dict[str, Any]) -> dict[str, Any]:
    """A fixture item as DynamoDB JSON (binary values are stored base64)."""

    def value(v: dict[str, Any]) -> dict[str, Any]:
        ((kind, inner),) = v.items()
        if kind == "B":
            return {"B": base64.b64decode(inner)}
        if kind == "M":
            return {"M": {k: value(x) for k, x in inner.items()}}
        if kind == "L":
            return {"L": [value(x) for x in inner]}
        return v

    return {k: value(v) for k, v in item.items()}


@pytest.fixture
def table(dynamodb: Any) -> Iterator[str]:
    name = f"migrate-{next(_names)}"
    dynamodb.create_table(**table_create_kwargs("Table", name))
    for offset in range(0, len(ITEMS), 25):
        batch = [{"PutRequest": {"Item": _loaded(i)}} for i in ITEMS[offset : offset + 25]]
        response = dynamodb.batch_write_item(RequestItems={name: batch})
        assert not response.get("UnprocessedItems")
    yield name
    dynamodb.delete_table(TableName=name)


@pytest.fixture(autouse=True)
def _fixture_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The configuration document the fixture was made with (SLA policies, surveys)."""
    from carehooks.config import loader

    monkeypatch.setenv("CAREHOOKS_CONFIG", str(FIXTURE / "config.yaml"))
    monkeypatch.delenv("CONFIG_PARAMETER", raising=False)
    loader.reset()
    yield
    loader.reset()


def snapshot(dynamodb: Any, table: str, index: str | None = None) -> list[dict[str, Any]]:
    """Every item of the table (or of one index), sorted (tests only)."""
    kwargs: dict[str, Any] = {"TableName": table}
    if index is None:
        kwargs["ConsistentRead"] = True
    else:
        kwargs["IndexName"] = index
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(**kwargs):
        items.extend(page["Items"])
    return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def without_checkpoint(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in items if i["pk"]["S"] != CHECKPOINT_PK]


def plain(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    de = TypeDeserializer()
    return [
        {k: de.deserialize(v) for k, v in i.items()} for i in without_checkpoint(snapshot(dynamodb, table))
    ]


# -- the agent API's answers --------------------------------------------------------------------------
def answers(dynamodb: Any, table: str) -> dict[str, Any]:
    """The current code's answers to every request the fixture recorded, at the fixture's ``now``."""
    from carehooks.api.app import handle

    store = make_store(table, client=dynamodb)
    wiring = install(store, FakeDeliver(), clock.now)
    next(wiring)

    def get(path: str, query: dict[str, str] | None = None) -> dict[str, Any]:
        with clock.frozen(NOW):
            result = handle(api_event("GET", path, query=query, claims=ADA), None)
        return {
            "status": result["statusCode"],
            "body": json.loads(result["body"]) if result.get("body") else None,
        }

    out: dict[str, Any] = {"conversations": {}, "lists": [], "contacts": {}, "reports": {}}
    try:
        for name, recorded in RECORDED["conversations"].items():
            cid = recorded["id"]
            entry = {"id": cid}
            for suffix in ("", "/history", "/linked"):
                entry[suffix or "detail"] = get(f"/api/conversations/{cid}{suffix}")
            out["conversations"][name] = entry
        for recorded in RECORDED["lists"]:
            query, pages, cursor = recorded["query"], [], None
            while True:
                page = get(
                    "/api/conversations", {**query, "limit": "4", **({"cursor": cursor} if cursor else {})}
                )
                body = page["body"]
                pages.append(
                    {"status": page["status"], "ids": [c["id"] for c in body["items"]], "body": body}
                )
                cursor = body.get("next")
                if not cursor or len(pages) > 20:
                    break
            out["lists"].append({"query": query, "pages": pages})
        for contact in RECORDED["contacts"]:
            out["contacts"][contact] = get(f"/api/contacts/{contact}/conversations")
        for key, recorded in RECORDED["reports"].items():
            out["reports"][key] = {
                "query": recorded["query"],
                **get("/api/reports/summary", recorded["query"]),
            }
    finally:
        wiring.close()
    return out


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    """The answers with each list page's cursor reduced to whether there is a next page (a cursor is
    opaque: its encoding is the code's own business, what it leads to is compared page by page)."""
    out = json.loads(json.dumps(answer))
    out.pop("now", None)
    out.pop("names", None)
    for recorded in out["lists"]:
        for page in recorded["pages"]:
            page["body"]["next"] = page["body"].get("next") is not None
    for conversation in out["conversations"].values():
        for message in (conversation.get("detail", {}).get("body") or {}).get("messages", []):
            # A field the API gained after the v1 recording (saved replies, issue 16): empty on v1 data.
            if message.get(ADDED_MESSAGE_FIELD, "absent") is None:
                del message[ADDED_MESSAGE_FIELD]
    return out


ADDED_MESSAGE_FIELD = "saved_reply_id"


def assert_answers_as_recorded(dynamodb: Any, table: str) -> None:
    got, want = comparable(answers(dynamodb, table)), comparable(RECORDED)
    # Each conversation, field for field (messages, decision traces, events, SLA and survey state too)
    for name in want["conversations"]:
        assert got["conversations"][name] == want["conversations"][name], name
    # The lists: membership and order, page by page, and each listed conversation field for field.
    # (v2 sorts lists by turn, when a conversation last changed hands; a v1 item's turn is read from its
    # v1 sort key, its last activity, and the migration keeps it, so the v1 order holds here.)
    for got_list, want_list in zip(got["lists"], want["lists"], strict=True):
        assert got_list == want_list, want_list["query"]
    assert got["contacts"] == want["contacts"]
    for key in want["reports"]:
        assert got["reports"][key] == want["reports"][key], key


# -- the tests ------------------------------------------------------------------------------------------
def test_the_fixture_is_a_v1_table_in_every_state() -> None:
    conversations = {n: c["detail"]["body"] for n, c in RECORDED["conversations"].items()}
    assert {c["status"] for c in conversations.values()} == {"open", "pending", "resolved"}
    assert any(c["csat"] for c in conversations.values())  # a survey answered
    assert any((c.get("survey") or {}).get("due_at") for c in conversations.values())  # one awaiting
    assert any(c["assignee"] for c in conversations.values())
    assert any(c["public"] for c in conversations.values())
    assert any(c["linked_conversation_id"] for c in conversations.values())
    assert {c["channel"] for c in conversations.values()} >= {
        "messenger",
        "instagram",
        "whatsapp",
        "telegram",
    }
    assert any(e["action"] == "reopened" for c in conversations.values() for e in c["events"])
    assert any(m.get("decisions") for c in conversations.values() for m in c["messages"])
    markers = [i for i in ITEMS if i["sk"]["S"].startswith(keys.CONVERSATION_PREFIX)]
    assert any(i.get(keys.SURVEY_DUE_PK_ATTR) == {"S": "SURVEYDUE"} for i in markers)
    assert any(keys.SLA_DUE_PK_ATTR in i for i in markers)
    assert all(i["gsi1pk"]["S"].count("#") == 1 and "day_pk" in i and "type" in i for i in markers)


def test_the_current_code_answers_on_the_v1_table_as_the_v1_code_did(dynamodb: Any, table: str) -> None:
    assert_answers_as_recorded(dynamodb, table)


def test_a_dry_run_counts_what_would_change_and_writes_nothing(
    dynamodb: Any, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(dynamodb, table)
    endpoint = dynamodb.meta.endpoint_url
    status = cli(
        ["migrate", "--table", table, "--endpoint-url", endpoint, "--region", "eu-west-1", "--dry-run"]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert f"would upgrade {CONVERSATIONS} conversation(s) and {MESSAGES} message(s)" in out
    assert f"scanned {len(ITEMS)} item(s)" in out
    assert snapshot(dynamodb, table) == before  # not even a checkpoint


def test_migrate_leaves_no_v1_item_and_every_answer_unchanged(dynamodb: Any, table: str) -> None:
    before = {(i["pk"], i["sk"]): i for i in plain(dynamodb, table)}
    counts = Migration(dynamodb, table, page_size=25).run()
    assert (counts.conversations, counts.messages, counts.scanned) == (CONVERSATIONS, MESSAGES, len(ITEMS))
    assert (counts.refused, counts.gave_up, counts.conflicts) == ([], [], 0)
    after = {(i["pk"], i["sk"]): i for i in plain(dynamodb, table)}
    assert after.keys() == before.keys()
    for key, item in after.items():
        assert not is_v1(item), key
        if kind_of(item) is None:
            assert item == before[key], key  # claims, events: untouched
        if kind_of(item) == "conversation":
            assert item["version"] == before[key]["version"], key
            assert not {"id", "type", keys.DAY_PK_ATTR, keys.DAY_SK_ATTR} & item.keys(), key
        if kind_of(item) == "message":
            assert "type" not in item, key
            assert not isinstance(item.get("rules", b""), dict), key
    # Every index partition is v2: sharded status and survey partitions, nothing left in ByDay
    status_keys = {i["gsi1pk"]["S"] for i in snapshot(dynamodb, table, keys.BY_STATUS_INDEX)}
    assert status_keys
    assert all(k.count("#") == 2 for k in status_keys), status_keys
    survey_keys = {
        i[keys.SURVEY_DUE_PK_ATTR]["S"] for i in snapshot(dynamodb, table, keys.BY_SURVEY_DUE_INDEX)
    }
    assert survey_keys
    assert all(k.startswith("SURVEYDUE#") for k in survey_keys), survey_keys
    assert snapshot(dynamodb, table, keys.BY_DAY_INDEX) == []
    assert len(snapshot(dynamodb, table, keys.BY_CREATED_INDEX)) == CONVERSATIONS
    assert_answers_as_recorded(dynamodb, table)


def test_running_migrate_again_upgrades_nothing(
    dynamodb: Any, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = dynamodb.meta.endpoint_url
    assert cli(["migrate", "--table", table, "--endpoint-url", endpoint, "--region", "eu-west-1"]) == 0
    out = capsys.readouterr().out
    assert f"upgraded {CONVERSATIONS} conversation(s) and {MESSAGES} message(s)" in out
    assert "pass complete" in out
    migrated = without_checkpoint(snapshot(dynamodb, table))
    again = Migration(dynamodb, table).run()
    assert (again.conversations, again.messages, again.conflicts) == (0, 0, 0)
    assert again.already_v2 == CONVERSATIONS + MESSAGES
    assert again.scanned == len(ITEMS)  # a finished pass is verified from the start again
    assert without_checkpoint(snapshot(dynamodb, table)) == migrated


def test_an_interrupted_run_resumes_from_its_checkpoint(dynamodb: Any, table: str) -> None:
    first = Migration(dynamodb, table, page_size=10, max_pages=2)
    counts = first.run()
    assert not first.finished
    assert counts.scanned <= 20
    assert counts.pages == 2
    upgraded_first = counts.conversations + counts.messages
    checkpoint = dynamodb.get_item(
        TableName=table, Key={"pk": {"S": CHECKPOINT_PK}, "sk": {"S": CHECKPOINT_SK}}, ConsistentRead=True
    )["Item"]
    assert "last_key" in checkpoint
    assert sum(is_v1(i) for i in plain(dynamodb, table)) == CONVERSATIONS + MESSAGES - upgraded_first
    # A new run (another process) picks up where the first stopped, and does not visit its pages again
    second = Migration(dynamodb, table, page_size=10)
    total = second.run()
    assert second.finished
    assert total.scanned == len(ITEMS)
    assert (total.conversations, total.messages) == (CONVERSATIONS, MESSAGES)
    assert not any(is_v1(i) for i in plain(dynamodb, table))
    done = dynamodb.get_item(
        TableName=table, Key={"pk": {"S": CHECKPOINT_PK}, "sk": {"S": CHECKPOINT_SK}}, ConsistentRead=True
    )["Item"]
    assert "last_key" not in done
    assert "completed_at" in done
    assert_answers_as_recorded(dynamodb, table)


def test_restart_ignores_the_checkpoint(dynamodb: Any, table: str) -> None:
    Migration(dynamodb, table, page_size=10, max_pages=1).run()
    again = Migration(dynamodb, table, page_size=10, restart=True).run()
    assert again.scanned == len(ITEMS)


def _first(
    dynamodb: Any, table: str, kind: str, where: Callable[[dict[str, Any]], bool] = lambda i: True
) -> dict[str, Any]:
    return next(i for i in plain(dynamodb, table) if kind_of(i) == kind and where(i))


def test_a_conversation_changed_by_the_current_code_between_read_and_write_is_not_clobbered(
    dynamodb: Any, table: str
) -> None:
    store = make_store(table, client=dynamodb)
    target = _first(dynamodb, table, "conversation", lambda i: i["status"] == "open")
    changed: list[Any] = []

    def live_write(key: dict[str, Any]) -> None:
        if key["sk"] == target["sk"] and not changed:
            conv = store.get_conversation(str(target["conv_id"]))
            assert conv is not None
            with clock.frozen(NOW):
                changed.append(store.save_conversation(replace(conv, tags=[*conv.tags, "changed-live"])))

    counts = Migration(dynamodb, table, before_write=live_write).run()
    assert changed
    assert counts.conflicts == 1
    after = store.get_conversation(str(target["conv_id"]))
    assert after is not None
    assert "changed-live" in after.tags
    assert after.version == changed[0].version
    assert not any(is_v1(i) for i in plain(dynamodb, table))


def test_a_v1_write_between_read_and_write_is_kept_and_the_item_upgraded_with_it(
    dynamodb: Any, table: str
) -> None:
    target = _first(dynamodb, table, "conversation")
    message = _first(
        dynamodb, table, "message", lambda i: isinstance(i.get("rules"), dict) and "ack" in i["rules"]
    )
    done: set[str] = set()

    def old_code_writes(key: dict[str, Any]) -> None:
        if key["sk"] == target["sk"] and "conv" not in done:
            done.add("conv")  # an instance still running v1 code: a versioned write, v1 shape
            dynamodb.update_item(
                TableName=table,
                Key={"pk": {"S": target["pk"]}, "sk": {"S": target["sk"]}},
                UpdateExpression="SET priority = :p, version = version + :one",
                ExpressionAttributeValues={":p": {"S": "urgent"}, ":one": {"N": "1"}},
            )
        if key["sk"] == message["sk"] and key["pk"] == message["pk"] and "msg" not in done:
            done.add("msg")  # the acknowledgement's outcome recorded in the v1 map
            dynamodb.update_item(
                TableName=table,
                Key={"pk": {"S": message["pk"]}, "sk": {"S": message["sk"]}},
                UpdateExpression="SET #r.#a.#s = :s",
                ExpressionAttributeNames={"#r": "rules", "#a": "ack", "#s": "status"},
                ExpressionAttributeValues={":s": {"S": "changed-live"}},
            )

    counts = Migration(dynamodb, table, before_write=old_code_writes).run()
    assert done == {"conv", "msg"}
    assert counts.conflicts == 2
    assert (counts.conversations, counts.messages) == (CONVERSATIONS, MESSAGES)
    store = make_store(table, client=dynamodb)
    conv = store.get_conversation(str(target["conv_id"]))
    assert conv is not None
    assert (conv.priority, conv.version) == ("urgent", int(target["version"]) + 1)
    stored = next(i for i in plain(dynamodb, table) if (i["pk"], i["sk"]) == (message["pk"], message["sk"]))
    assert not is_v1(stored)
    from carehooks.store.items import message_from_item

    assert message_from_item(stored).extra["rules"]["ack"]["status"] == "changed-live"


def test_a_conversation_erased_between_read_and_write_is_not_brought_back(dynamodb: Any, table: str) -> None:
    target = _first(dynamodb, table, "conversation")
    key = {"pk": {"S": target["pk"]}, "sk": {"S": target["sk"]}}

    def erase(seen: dict[str, Any]) -> None:
        if seen["sk"] == target["sk"]:
            dynamodb.delete_item(TableName=table, Key=key)

    counts = Migration(dynamodb, table, before_write=erase).run()
    assert (counts.gone, counts.conversations) == (1, CONVERSATIONS - 1)
    assert "Item" not in dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)


def test_an_item_the_upgrade_would_alter_is_refused_left_as_it_is_and_named(
    dynamodb: Any, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = _first(dynamodb, table, "conversation")
    key = {"pk": {"S": target["pk"]}, "sk": {"S": target["sk"]}}
    # An attribute the v2 writers treat as a key attribute (and so would drop): never silently
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #t = :t",
        ExpressionAttributeNames={"#t": "ttl"},
        ExpressionAttributeValues={":t": {"N": "1900000000"}},
    )
    before = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    endpoint = dynamodb.meta.endpoint_url
    assert cli(["migrate", "--table", table, "--endpoint-url", endpoint, "--region", "eu-west-1"]) == 1
    captured = capsys.readouterr()
    assert f"upgraded {CONVERSATIONS - 1} conversation(s)" in captured.out
    assert target["sk"] in captured.err
    assert "ttl" in captured.err
    assert dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"] == before


def test_the_write_rate_stays_under_max_wcu(dynamodb: Any, table: str) -> None:
    from carehooks.store.migrate import TokenBucket

    elapsed = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        elapsed[0] += seconds

    bucket = TokenBucket(20.0, sleep=sleep, clock=lambda: elapsed[0])
    counts = Migration(dynamodb, table, bucket=bucket).run()
    writes = counts.conversations + counts.messages
    # At least one unit a write: at 20 units a second after a one-second burst, the pass takes at least
    # (writes + checkpoints - 20) / 20 seconds of (simulated) sleep.
    assert sum(slept) >= (writes + counts.pages - 20) / 20 - 1e-6
    assert all(s > 0 for s in slept)
