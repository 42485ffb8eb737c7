"""A webhook request as a platform's receiver reads it: the exact bytes first, then headers and query."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from carehooks.web import events
from carehooks.web.errors import MalformedBodyError


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    path: str
    raw: bytes
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    raw_query: str = ""  # exactly as sent: Twilio signs the URL byte for byte

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> WebhookRequest:
        try:
            raw = events.raw_body(event)
        except events.RequestBodyError as exc:
            raise MalformedBodyError(str(exc)) from exc
        return cls(
            method=events.method(event) or "POST",
            path=str(event.get("rawPath") or ""),
            raw=raw,
            headers={str(k).lower(): str(v) for k, v in events.mapping(event, "headers").items()},
            query=events.query(event),
            raw_query=str(event.get("rawQueryString") or ""),
        )
