"""Meta's user profile API: the name, username and picture of a Messenger or Instagram customer.

Messenger: ``GET /{PSID}?fields=first_name,last_name,profile_pic``; Instagram:
``GET /{IGSID}?fields=name,username,profile_pic`` (platforms.md). The webhooks of these two channels carry
no name, so the inbound processor asks once a day per customer, after the message is stored
(:mod:`carehooks.inbound.contacts`). A GET is retried on throttling and 5xx, with the same timeouts as
the send calls (:mod:`carehooks.outbound.http`); a failure is a classified ``SendError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from carehooks.channels.meta.graph import GraphClient
from carehooks.domain.models import Channel

PROFILE_FIELDS: dict[str, str] = {
    Channel.MESSENGER: "first_name,last_name,profile_pic",
    Channel.INSTAGRAM: "name,username,profile_pic",
}
MAX_NAME = 200
MAX_URL = 2048


@dataclass(frozen=True)
class Profile:
    """What the platform says about a customer (any part may be missing)."""

    name: str | None = None
    username: str | None = None
    avatar_url: str | None = None


def has_profile_api(channel: str) -> bool:
    """Whether carehooks asks ``channel``'s platform for a customer's name (its webhooks carry none)."""
    return channel in PROFILE_FIELDS


class ProfileClient:
    """Reads a customer's profile with the account's token."""

    def __init__(self, graph: GraphClient | None = None) -> None:
        self.graph = graph or GraphClient()

    def fetch(self, channel: str, account_id: str, contact_id: str) -> Profile:
        """The customer's profile; raises a ``SendError`` when the Graph API refuses or cannot be reached."""
        fields = PROFILE_FIELDS[channel]
        answer = self.graph.call("GET", f"{quote(contact_id, safe='')}?fields={fields}", account_id)
        return profile_of(answer)


def profile_of(answer: dict[str, Any]) -> Profile:
    """The profile in a Graph answer (Messenger's first and last name, or Instagram's name and username)."""
    name = _text(answer.get("name"), MAX_NAME)
    if name is None:
        parts = [_text(answer.get(k), MAX_NAME) for k in ("first_name", "last_name")]
        name = " ".join(p for p in parts if p) or None
    picture = _text(answer.get("profile_pic"), MAX_URL)
    return Profile(
        name=name,
        username=_text(answer.get("username"), MAX_NAME),
        avatar_url=picture if picture and picture.startswith("https://") else None,
    )


def _text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value[:limit] or None
