"""Answers of the privacy routes (erasure and export of a person's identity)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErasureOut(BaseModel):
    """What an erasure removed: ids and counts, never content."""

    channel: str
    account_id: str
    digest: str = Field(description="HMAC-SHA256 of the contact id under the deployment's erasure key (hex)")
    erased_at: str = Field(description="ISO 8601 UTC")
    event_id: str = Field(description="the `contact.erased` event's `detail.id` (a ULID)")
    items_deleted: int
    conversations_deleted: int
    archive_objects_deleted: int
