"""Split a verified Account Activity body into one queued event per DM or post (pure).

Only ``direct_message_events`` (``message_create``) and ``tweet_create_events`` are customer events;
other activity (favorites, follows, read receipts, typing, deletes, ``user_event``) is dropped here and
counted by the caller, so it never costs a queue message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from carehooks.domain.models import Channel, QueuedEvent
from carehooks.web.errors import MalformedBodyError
from carehooks.web.jsonbody import load_object

CUSTOMER_ARRAYS = ("direct_message_events", "tweet_create_events")


def parse_body(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object with a ``for_user_id``, or MalformedBodyError."""
    body = load_object(raw)
    if not isinstance(body.get("for_user_id"), str | int) or not str(body["for_user_id"]):
        raise MalformedBodyError("not an Account Activity event: for_user_id missing")
    for key in CUSTOMER_ARRAYS:
        if key in body and not isinstance(body[key], list):
            raise MalformedBodyError(f"{key} is not a list")
    return body


def split(raw: bytes, received_at: datetime) -> list[QueuedEvent]:
    """One :class:`QueuedEvent` per direct message and per post."""
    return split_body(parse_body(raw), received_at)


def split_body(body: dict[str, Any], received_at: datetime) -> list[QueuedEvent]:
    """:func:`split` for a body :func:`parse_body` already checked."""
    account = str(body["for_user_id"])
    events: list[QueuedEvent] = []
    users = body.get("users") if isinstance(body.get("users"), dict) else {}
    for item in body.get("direct_message_events") or []:
        events.append(_direct_message(account, item, users or {}, received_at, len(events)))
    for tweet in body.get("tweet_create_events") or []:
        events.append(_tweet(account, tweet, received_at, len(events)))
    return events


def ignored_kinds(raw_body: dict[str, Any]) -> list[str]:
    """Activity arrays in the body that are not customer events (for a metric)."""
    return [
        k for k, v in raw_body.items() if k.endswith(("_events", "_event")) and k not in CUSTOMER_ARRAYS and v
    ]


def _direct_message(
    account: str, item: Any, users: dict[str, Any], received_at: datetime, position: int
) -> QueuedEvent:
    if not isinstance(item, dict) or not item.get("id"):
        raise MalformedBodyError("direct message event without id")
    create = item.get("message_create")
    if not isinstance(create, dict):
        raise MalformedBodyError("direct message event without message_create")
    sender = str(create.get("sender_id") or "")
    target = create.get("target") if isinstance(create.get("target"), dict) else {}
    recipient = str((target or {}).get("recipient_id") or "")
    if not sender or not recipient:
        raise MalformedBodyError("direct message without sender_id/recipient_id")
    # The account's own DMs are delivered too (echoes): the customer is then the recipient.
    contact = recipient if sender == account else sender
    return QueuedEvent(
        source="x",
        channel=Channel.X,
        account_id=account,
        contact_id=contact,
        event_id=f"dm:{item['id']}",
        received_at=received_at,
        position=position,
        payload={
            "kind": "dm",
            "for_user_id": account,
            "event": item,
            "users": {k: v for k, v in users.items() if k in (sender, recipient)},
        },
    )


def _tweet(account: str, tweet: Any, received_at: datetime, position: int) -> QueuedEvent:
    if not isinstance(tweet, dict) or not tweet.get("id_str"):
        # id_str, never the numeric id: it loses precision as a double.
        raise MalformedBodyError("post without id_str")
    user = tweet.get("user") if isinstance(tweet.get("user"), dict) else {}
    author = str((user or {}).get("id_str") or "")
    if not author:
        raise MalformedBodyError("post without user.id_str")
    # The account's own posts (replies to a customer) are echoes: the customer is who it replied to.
    contact = str(tweet.get("in_reply_to_user_id_str") or account) if author == account else author
    return QueuedEvent(
        source="x",
        channel=Channel.X,
        account_id=account,
        contact_id=contact,
        event_id=f"tweet:{tweet['id_str']}",
        received_at=received_at,
        position=position,
        payload={"kind": "tweet", "for_user_id": account, "tweet": tweet},
    )
