"""The process's store: the table named by the settings, with the derivations of the configuration in force."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from carehooks.config.document import ConfigDocument
from carehooks.config.loader import load_config, use_checks
from carehooks.config.settings import settings
from carehooks.domain.conversations import Deriver, compose
from carehooks.rules.templates import CHECKS
from carehooks.sla.current import setup_of
from carehooks.sla.deriver import sla_deriver
from carehooks.store import DynamoStore, Store
from carehooks.surveys.due import survey_deriver

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ConfigSource = Callable[[], ConfigDocument]

# Every function that reads the configuration document also refuses acknowledgement texts over a
# channel's limit (a check of the rules floor, which the config floor cannot import).
use_checks(CHECKS)


def derivation(config: ConfigSource = load_config) -> Deriver:
    """What every conversation write derives, with the configuration ``config()`` in force at the write:
    the survey due time, then the SLA clocks, their next due time and the state lists filter on."""
    return compose(
        survey_deriver(lambda: config().surveys_in_force),
        sla_deriver(lambda: setup_of(config())),
    )


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
