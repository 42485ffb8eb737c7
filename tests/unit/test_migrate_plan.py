"""``carehooks migrate``'s pure parts: which items are v1, what each becomes, the rate limit, the CLI's
choice of table. The pass itself runs on DynamoDB Local (``tests/integration/test_migrate_ddblocal.py``)."""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer
from infra.cli import migrate as cli

from carehooks.store import keys
from carehooks.store.items import conversation_from_item, message_from_item
from carehooks.store.migrate import MigrationError, TokenBucket, changes, is_v1, kind_of, plan

FIXTURE = Path(__file__).resolve().parents[1] / "integration" / "fixtures" / "v1_table" / "items.json"


def _items() -> list[dict[str, Any]]:
    """The v1 fixture's items as the Scan's deserializer gives them."""
    de = TypeDeserializer()

    def value(v: dict[str, Any]) -> dict[str, Any]:
        ((kind, inner),) = v.items()
        return {"B": base64.b64decode(inner)} if kind == "B" else v

    raw = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return [{k: de.deserialize(value(v)) for k, v in item.items()} for item in raw]


ITEMS = _items()
CONVERSATIONS = [i for i in ITEMS if kind_of(i) == "conversation"]
MESSAGES = [i for i in ITEMS if kind_of(i) == "message"]


def _stored(item: dict[str, Any]) -> dict[str, Any]:
    """An item as written then read back (bytes come back as boto3's Binary)."""
    return {k: Binary(v) if isinstance(v, bytes) else v for k, v in item.items()}


def test_every_conversation_and_message_of_the_v1_fixture_is_v1_and_nothing_else_is() -> None:
    assert CONVERSATIONS
    assert MESSAGES
    assert all(is_v1(i) for i in CONVERSATIONS + MESSAGES)
    assert not any(is_v1(i) for i in ITEMS if kind_of(i) is None)
    assert all(plan(i) is None for i in ITEMS if kind_of(i) is None)


def test_a_conversation_reads_the_same_after_its_upgrade_and_its_index_keys_are_v2() -> None:
    for item in CONVERSATIONS:
        upgraded = plan(item)
        assert upgraded is not None
        assert conversation_from_item(upgraded) == conversation_from_item(item)
        conv = conversation_from_item(item)
        assert upgraded["gsi1pk"] == keys.status_pk(conv.status, conv.id)
        assert upgraded["gsi1sk"] == item["gsi1sk"]  # the v1 order (last activity) is the turn kept
        assert upgraded[keys.CREATED_PK_ATTR] == keys.created_pk(conv.created_at, conv.id)
        assert upgraded["version"] == item["version"]
        if keys.SURVEY_DUE_PK_ATTR in item:
            assert upgraded[keys.SURVEY_DUE_PK_ATTR] == keys.survey_due_pk(conv.id)
        assert not {"id", "type", keys.DAY_PK_ATTR, keys.DAY_SK_ATTR} & upgraded.keys()
        assert not is_v1(upgraded)
        assert plan(_stored(upgraded)) is None  # idempotent


def test_a_message_reads_the_same_after_its_upgrade_with_its_decision_compressed() -> None:
    decided = 0
    for item in MESSAGES:
        upgraded = plan(item)
        assert upgraded is not None
        assert message_from_item(_stored(upgraded)) == message_from_item(item)
        assert "type" not in upgraded
        if "rules" in item:
            decided += 1
            assert isinstance(upgraded["rules"], bytes)
            for part in ("ack", "hide", "private_reply"):
                assert (f"rules_{part}" in upgraded) == (part in item["rules"])
        assert plan(_stored(upgraded)) is None
    assert decided


def test_an_upgrade_that_would_lose_or_alter_data_is_refused() -> None:
    item = dict(CONVERSATIONS[0])
    item["ttl"] = 1_900_000_000  # the round trip drops key attributes such as ttl: never silently
    with pytest.raises(MigrationError, match="ttl"):
        plan(item)


def test_v1_shapes_are_recognised_one_by_one() -> None:
    v2 = plan(CONVERSATIONS[0])
    assert v2 is not None
    assert not is_v1(v2)
    assert is_v1({**v2, "type": "conversation"})
    assert is_v1({**v2, "gsi1pk": "STATUS#open"})
    assert is_v1({**v2, keys.SURVEY_DUE_PK_ATTR: "SURVEYDUE"})
    assert not is_v1({**v2, keys.SURVEY_DUE_PK_ATTR: "SURVEYDUE#3"})
    message = plan(next(m for m in MESSAGES if "rules" in m))
    assert message is not None
    assert not is_v1(message)
    assert is_v1({**message, "rules": {"matched": []}})


def test_changes_compare_values_not_their_spelling() -> None:
    from decimal import Decimal

    assert changes({"n": Decimal("1.0"), "a": "x"}, {"n": 1, "b": "y"}) == ({"b"}, {"a"})


def test_the_token_bucket_sleeps_off_its_debt_and_never_spins() -> None:
    at = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        at[0] += seconds

    bucket = TokenBucket(10.0, sleep=sleep, clock=lambda: at[0])
    bucket.wait()
    bucket.charge(30)  # one second's burst (10), then 20 units in debt: 2 seconds
    bucket.wait()
    assert slept == [pytest.approx(2.0)]
    bucket.charge(1)
    at[0] += 1.0  # time passed meanwhile: no debt left
    bucket.wait()
    assert len(slept) == 1
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)


# -- which table ------------------------------------------------------------------------------------------
def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["migrate", *argv])


def test_the_table_comes_from_the_stack_outputs() -> None:
    class Cfn:
        def describe_stacks(self, StackName: str) -> dict[str, Any]:
            assert StackName == "carehooks-prod"
            return {
                "Stacks": [{"Outputs": [{"OutputKey": "TableName", "OutputValue": "carehooks-Table-1A2B"}]}]
            }

    made: list[str] = []

    def factory(service: str, **kwargs: Any) -> Any:
        made.append(service)
        return Cfn() if service == "cloudformation" else object()

    _client, table = cli.resolve(_args("--stack-name", "carehooks-prod", "--region", "eu-west-1"), factory)
    assert table == "carehooks-Table-1A2B"
    assert made == ["cloudformation", "dynamodb"]


def test_local_mode_finds_the_local_stacks_table_in_its_dynamodb_local(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CAREHOOKS_LOCAL_DIR", str(tmp_path))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    (tmp_path / "endpoints.json").write_text(
        json.dumps({"aws": "http://127.0.0.1:40285", "dynamodb": "http://127.0.0.1:40286"})
    )
    seen: dict[str, Any] = {}

    def factory(service: str, **kwargs: Any) -> Any:
        seen.update(kwargs, service=service)
        return object()

    _client, table = cli.resolve(_args("--local"), factory)
    assert (seen["service"], seen["endpoint_url"]) == ("dynamodb", "http://127.0.0.1:40286")
    assert table == "carehooks-local-Table"


def test_without_a_table_a_stack_or_local_the_command_says_what_to_give() -> None:
    with pytest.raises(SystemExit, match="--stack-name"):
        cli.resolve(_args())
