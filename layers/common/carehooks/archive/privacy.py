"""Erasure and export of one person's identity, across the table and the archive (issue 18).

The use cases behind ``DELETE``/``GET …/export`` of ``/api/contacts/{channel}/{account_id}/{contact_id}``
and ``carehooks contact erase|export``. The table's part is :mod:`carehooks.store.erasure`; the archive's
part is every object under the person's prefixes of each day the archive may still hold
(:data:`ARCHIVE_RETENTION_DAYS`). The tombstone's digest is keyed with the deployment's ``ERASURE_KEY``
(Secrets Manager, like every secret; a file in ``.local/`` in the local stack): without it erasure is
refused rather than leaving a digest anyone could reverse by trying phone numbers.

Logs carry ids only: the erasure is one ``contact erased`` event with the channel, the account, the
digest, the event id and counts, never the contact id, a name or a text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from carehooks.archive.objects import Archive, person_prefixes
from carehooks.clock import iso
from carehooks.config.settings import secret
from carehooks.observability import logger, metrics
from carehooks.store import Store
from carehooks.store.contacts import Identity
from carehooks.store.erasure import ErasureResult, Tombstone, contact_digest

ERASURE_KEY_NAME = "ERASURE_KEY"
KEY_SECRET_VARIABLE = "ERASURE_KEY_SECRET_ID"  # noqa: S105 (the name of a variable)
RETENTION_VARIABLE = "ARCHIVE_RETENTION_DAYS"
DEFAULT_ARCHIVE_RETENTION_DAYS = 400
# The archived events an API export carries at most (bytes of JSON): Lambda answers at most 6 MB.
EXPORT_ARCHIVE_BUDGET = 4_000_000
LISTERS = 16  # archive prefixes listed at once


class ErasureNotConfiguredError(Exception):
    """No ``ERASURE_KEY``: a tombstone cannot be written safely, so nothing is erased."""


def configured_erasure_key() -> str:
    """The key of the tombstones' digests: ``ERASURE_KEY`` (environment or the platform secret), else
    the generated secret named by ``ERASURE_KEY_SECRET_ID`` (the template creates one). Empty when
    neither is configured."""
    key = secret(ERASURE_KEY_NAME)
    if key:
        return key
    secret_id = os.environ.get(KEY_SECRET_VARIABLE, "")
    if not secret_id:
        return ""
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(secret_id, transform="json", max_age=300)
    return str(value.get(ERASURE_KEY_NAME, "")) if isinstance(value, dict) else ""


def erasure_key() -> str:
    """The key of the tombstones' digests; :class:`ErasureNotConfiguredError` when there is none."""
    key = configured_erasure_key()
    if not key:
        raise ErasureNotConfiguredError(f"{ERASURE_KEY_NAME} is not configured")
    return key


def archive_retention() -> timedelta:
    """How far back the archive may hold objects (the bucket's lifecycle: ``ARCHIVE_RETENTION_DAYS``)."""
    return timedelta(days=int(os.environ.get(RETENTION_VARIABLE) or DEFAULT_ARCHIVE_RETENTION_DAYS))


@dataclass(frozen=True)
class Erased:
    """What one erasure did (ids and counts only)."""

    result: ErasureResult
    archive_objects: int

    def as_dict(self) -> dict[str, Any]:
        tombstone = self.result.tombstone
        return {
            "channel": tombstone.channel,
            "account_id": tombstone.account_id,
            "digest": tombstone.digest,
            "erased_at": iso(tombstone.erased_at),
            "event_id": tombstone.event_id,
            "items_deleted": self.result.items_deleted,
            "conversations_deleted": self.result.conversations,
            "archive_objects_deleted": self.archive_objects,
        }


def person_archive_keys(archive: Archive | None, who: Identity, now: datetime) -> list[str]:
    """Every archived object of ``who`` the archive may still hold (one listing per day of retention)."""
    if archive is None:
        return []
    prefixes = person_prefixes(who.channel, who.account_id, who.contact_id, now - archive_retention(), now)

    def listed(prefix: str) -> list[str]:
        assert archive is not None
        return list(archive.keys(prefix))

    # 400 listings one after the other take seconds; the API answers within 29.
    with ThreadPoolExecutor(max_workers=LISTERS) as pool:
        return [key for keys in pool.map(listed, prefixes) for key in keys]


def erase_person(
    store: Store, archive: Archive | None, who: Identity, now: datetime, key: str | None = None
) -> Erased | None:
    """Erase everything held about ``who``; None when nothing is held (nothing is written then)."""
    key = key if key is not None else erasure_key()
    archived = person_archive_keys(archive, who, now)
    if not archived and store.export_contact(who) is None:
        return None
    tombstone = Tombstone.new(who, contact_digest(who.contact_id, key), now)
    result = store.erase_contact(who, tombstone)
    if archive is not None and archived:
        archive.delete(archived)
    erased = Erased(result=result, archive_objects=len(archived))
    metrics.add_metric(name="ContactsErased", unit="Count", value=1)
    logger.info(
        "contact erased",
        extra={
            "channel": who.channel,
            "account_id": who.account_id,
            "digest": tombstone.digest,
            "event_id": tombstone.event_id,
            "conversation_ids": result.conversation_ids,
            "items_deleted": result.items_deleted,
            "archive_objects_deleted": len(archived),
        },
    )
    return erased


def export_person(
    store: Store,
    archive: Archive | None,
    who: Identity,
    now: datetime,
    archive_budget: int | None = EXPORT_ARCHIVE_BUDGET,
) -> dict[str, Any] | None:
    """Everything held about ``who`` as one JSON-ready document; None when nothing is held.

    ``archive`` adds the archived raw events (as queued); ``archive_budget`` caps their size (the API's
    answer must fit Lambda's 6 MB; ``archive_complete`` says whether every one is in the document, and
    ``carehooks contact export`` has no cap)."""
    held = store.export_contact(who)
    archived = person_archive_keys(archive, who, now)
    if held is None and not archived:
        return None
    document = held or {"identity": who.as_dict(), "contact": None}
    events: list[dict[str, Any]] = []
    size, complete = 0, True
    for object_key in archived:
        assert archive is not None
        body = archive.get(object_key)
        if archive_budget is not None and size + len(body) > archive_budget:
            complete = False
            break
        size += len(body)
        events.append({"key": object_key, "event": json.loads(body)})
    return {**document, "exported_at": iso(now), "archive": events, "archive_complete": complete}


def tombstone_lookup(store: Store, key: Callable[[], str]) -> Callable[[str, str, str], datetime | None]:
    """For the processor: when an identity was erased (its tombstone), or None. Without an erasure key
    no tombstone can have been written, so there is nothing to look up."""

    def erased_at(channel: str, account_id: str, contact_id: str) -> datetime | None:
        secret_key = key()
        if not secret_key:
            return None
        tombstone = store.get_tombstone(channel, account_id, contact_digest(contact_id, secret_key))
        return tombstone.erased_at if tombstone is not None else None

    return erased_at
