"""The process's store: the table named by the settings, with the derivations of the configuration in force."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from carehooks.config.settings import settings
from carehooks.domain.conversations import Deriver
from carehooks.domain.models import Conversation
from carehooks.store import DynamoStore, Store
from carehooks.wiring.config import ConfigSource, load_config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def derivation(config: ConfigSource = load_config) -> Deriver:
    """What every conversation write derives, with the configuration ``config()`` in force at the write
    (:func:`carehooks.wiring.derivers.derivers`)."""
    built: list[Deriver] = []

    def derive(conv: Conversation, now: datetime) -> Conversation:
        if not built:
            # Cold start: the SLA and survey derivers load on the first conversation write.
            from carehooks.wiring.derivers import derivers

            built.append(derivers(config))
        return built[0](conv, now)

    return derive


def make_store(
    table_name: str | None = None,
    client: DynamoDBClient | None = None,
    capacity_log: list[dict[str, Any]] | None = None,
    config: ConfigSource = load_config,
) -> Store:
    """A store on ``table_name`` (default: the settings' table) that derives with ``config``."""
    return DynamoStore(
        table_name or settings().table_name,
        client,
        capacity_log=capacity_log,
        derive=derivation(config),
    )


@cache
def get_store() -> Store:
    """The process's store (created on first use, never at import)."""
    return make_store()
