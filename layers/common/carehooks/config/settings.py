"""Typed settings, parsed once per process.

Plain settings come from environment variables (the template sets them). Secrets and per-deployment
settings (``META_APP_SECRET``, ``PUBLIC_BASE_URL``, the outbound base URLs, …) have the same names in
both places: an environment variable wins when set, otherwise the JSON secret named by
``CAREHOOKS_SECRET_ID`` is read through Powertools Parameters with a short cache. A platform's base
URL, when neither sets it, is its client's default (``carehooks.channels.<platform>``).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

SECRET_CACHE_SECONDS = 300
MIN_RETENTION_DAYS = 30


class Settings(BaseModel):
    """Non-secret settings of one function, from its environment."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    table_name: str = Field("carehooks", alias="TABLE_NAME")
    inbound_queue_url: str = Field("", alias="INBOUND_QUEUE_URL")
    # Where the processor parks records that can never succeed (with ErrorCode / ErrorMessage).
    inbound_dlq_url: str = Field("", alias="INBOUND_DLQ_URL")
    secret_id: str = Field("", alias="CAREHOOKS_SECRET_ID")
    config_parameter: str = Field("", alias="CONFIG_PARAMETER")
    config_file: str = Field("", alias="CAREHOOKS_CONFIG")
    mail_from: str = Field("carehooks@example.com", alias="MAIL_FROM")
    reopen_window_hours: float = Field(24.0, alias="REOPEN_WINDOW_HOURS")
    # Messenger's and Instagram's profile API for names (README "Contacts"): 2 write units a new customer.
    fetch_contact_profiles: bool = Field(False, alias="FETCH_CONTACT_PROFILES")
    dedupe_days: int = Field(8, alias="DEDUPE_DAYS", ge=8)
    max_body_bytes: int = Field(1_048_576, alias="MAX_BODY_BYTES")
    # Domain events (EventsFunction): the custom EventBridge bus they are put on.
    event_bus_name: str = Field("", alias="EVENT_BUS_NAME")
    # Retention (docs/privacy.md): conversations and messages expire this many days after their last
    # activity (DynamoDB TTL); 0 keeps them. At least 30, so a message outlives platform redelivery.
    data_retention_days: int = Field(0, alias="DATA_RETENTION_DAYS", ge=0)

    @field_validator("data_retention_days")
    @classmethod
    def _outlives_redelivery(cls, value: int) -> int:
        if 0 < value < MIN_RETENTION_DAYS:
            raise ValueError(f"DATA_RETENTION_DAYS is 0 (keep) or at least {MIN_RETENTION_DAYS}")
        return value


@cache
def settings() -> Settings:
    """Settings for this process (parsed once)."""
    return Settings.model_validate(dict(os.environ))


def _secret_document() -> dict[str, Any]:
    secret_id = settings().secret_id
    if not secret_id:
        return {}
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(secret_id, transform="json", max_age=SECRET_CACHE_SECONDS)
    return value if isinstance(value, dict) else {}


def secret(name: str) -> str:
    """A secret or deployment setting by its contract name; empty string when not configured.

    Callers must treat an empty value as "not configured" and fail closed.
    """
    env_value = os.environ.get(name, "")
    if env_value:
        return env_value
    return str(_secret_document().get(name, ""))


def secret_list(name: str) -> list[str]:
    """A secret that may hold several live values (comma-separated), e.g. during rotation."""
    return [part.strip() for part in secret(name).split(",") if part.strip()]
