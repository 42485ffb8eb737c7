"""The SLA setup in force: the ``sla`` section of the configuration document and its calendars.

The loader of the configuration document caches it briefly, so asking on every conversation write is
cheap. A policy naming a calendar the document does not define (the document validation should prevent
it) counts in calendar time and logs an error, rather than blocking conversation writes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from carehooks.config.calendars import CALENDAR_TIME, Calendar
from carehooks.config.document import ConfigDocument
from carehooks.config.sla import SlaConfig
from carehooks.observability import logger


@dataclass(frozen=True)
class SlaSetup:
    """Policies, the calendars they count in, and a fingerprint that changes when either changes."""

    config: SlaConfig
    calendars: dict[str, Calendar]
    fingerprint: str

    def calendar_for(self, name: str | None) -> Calendar:
        if name is None:
            return CALENDAR_TIME
        found = self.calendars.get(name)
        if found is None:
            logger.error(
                "SLA policy names an unknown calendar; counting calendar time", extra={"calendar": name}
            )
            return CALENDAR_TIME
        return found


def setup_from(
    config: SlaConfig, rules_calendars: dict[str, Any] | None = None, ops_recipients: list[str] | None = None
) -> SlaSetup:
    """Build the setup from the SLA section, the document's business-hours calendars (by name) and its
    ops recipients (who hears about rungs without recipients of their own, when ``sla.recipients`` is empty).
    """
    if not config.recipients and ops_recipients:
        config = config.model_copy(update={"recipients": list(ops_recipients)})

    used = {p.calendar for p in config.policies if p.calendar}
    calendars: dict[str, Calendar] = {}
    described: dict[str, Any] = {}
    for name, calendar in (rules_calendars or {}).items():
        if name in used:
            calendars[name] = calendar
            described[name] = calendar.model_dump(mode="json")
    blob = json.dumps({"sla": config.model_dump(mode="json"), "calendars": described}, sort_keys=True)
    return SlaSetup(config, calendars, hashlib.sha256(blob.encode()).hexdigest()[:16])


_cache: tuple[ConfigDocument, SlaSetup] | None = None


def setup_of(document: ConfigDocument) -> SlaSetup:
    """The SLA setup of a configuration document (rebuilt only when the document changes)."""
    global _cache
    if _cache is not None and _cache[0] is document:
        return _cache[1]
    built = setup_from(document.sla, dict(document.calendars), document.ops.recipients)
    _cache = (document, built)
    return built
