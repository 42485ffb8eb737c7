"""X adapter: one direct message or post → canonical events (pure).

- Direct messages: ``created_timestamp`` is a string of epoch ms; ``text`` arrives HTML-escaped. The
  account's own DMs (``sender_id == for_user_id``) are echoes: direction ``out``, and their id is the
  ``dm_event_id`` carehooks stored when it sent them, so a carehooks send is not stored twice.
- Posts (``tweet_create_events``, v1.1 Tweet objects): mentions and replies are public conversations
  (``public=True``, kind ``post``). The account's own replies are echoes; its other posts and retweets
  are not conversation messages.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from carehooks.channels.timestamps import checked, epoch_ms
from carehooks.channels.x.traits import POST_KIND
from carehooks.domain.models import (
    AdapterError,
    Attachment,
    CanonicalEvent,
    Direction,
    IgnoredEvent,
    MessageEvent,
    QueuedEvent,
)

PUBLIC_KIND = POST_KIND


def parse(event: QueuedEvent) -> list[CanonicalEvent]:
    if event.payload.get("kind") == "dm":
        return [_direct_message(event)]
    if event.payload.get("kind") == "tweet":
        return [_post(event)]
    return [IgnoredEvent(channel=event.channel, kind="unknown", reason="not a DM or a post")]


def _epoch_ms(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise AdapterError(f"{what} is not epoch milliseconds: {value!r}")
    try:
        return int(value)
    except ValueError as exc:
        raise AdapterError(f"{what} is not epoch milliseconds: {value!r}") from exc


def _direct_message(event: QueuedEvent) -> CanonicalEvent:
    item: dict[str, Any] = event.payload["event"]
    if item.get("type", "message_create") != "message_create":
        return IgnoredEvent(channel=event.channel, kind=str(item.get("type")), reason="not a message")
    create: dict[str, Any] = item["message_create"]
    data: dict[str, Any] = create.get("message_data") or {}
    sender = str(create.get("sender_id"))
    echo = sender == event.account_id
    quick = data.get("quick_reply_response") if isinstance(data.get("quick_reply_response"), dict) else None
    attachment = data.get("attachment") if isinstance(data.get("attachment"), dict) else None
    attachments: tuple[Attachment, ...] = ()
    if attachment:
        media = attachment.get("media") if isinstance(attachment.get("media"), dict) else {}
        attachments = (
            Attachment(
                kind=str((media or {}).get("type") or attachment.get("type") or "media"),
                url=(media or {}).get("media_url_https"),
                media_id=str(media["id_str"]) if media and media.get("id_str") else None,
            ),
        )
    text = html.unescape(str(data.get("text") or ""))
    kind = "quick_reply" if quick else ("attachment" if attachments and not text else "text")
    users = event.payload.get("users") or {}
    profile = users.get(event.contact_id) if isinstance(users, dict) else None
    return MessageEvent(
        channel=event.channel,
        account_id=event.account_id,
        contact_id=event.contact_id,
        platform_message_id=str(item["id"]),
        sent_at=epoch_ms(_epoch_ms(item.get("created_timestamp"), "created_timestamp"), event.received_at),
        direction=Direction.OUT if echo else Direction.IN,
        text=text,
        kind=kind,
        attachments=attachments,
        reply_payload=str(quick["metadata"]) if quick and quick.get("metadata") is not None else None,
        contact_name=str(profile.get("name")) if isinstance(profile, dict) and profile.get("name") else None,
        position=event.position,
    )


def _post(event: QueuedEvent) -> CanonicalEvent:
    tweet: dict[str, Any] = event.payload["tweet"]
    user: dict[str, Any] = tweet.get("user") or {}
    author = str(user.get("id_str"))
    echo = author == event.account_id
    if tweet.get("retweeted_status"):
        return IgnoredEvent(channel=event.channel, kind="retweet", reason="retweets are not conversations")
    in_reply_to_user = tweet.get("in_reply_to_user_id_str")
    if echo and (not in_reply_to_user or str(in_reply_to_user) == event.account_id):
        return IgnoredEvent(
            channel=event.channel, kind="own_post", reason="the account's own post, not a reply to a customer"
        )
    extended = tweet.get("extended_tweet") if isinstance(tweet.get("extended_tweet"), dict) else None
    text = str((extended or {}).get("full_text") or tweet.get("full_text") or tweet.get("text") or "")
    reply_to = tweet.get("in_reply_to_status_id_str")
    return MessageEvent(
        channel=event.channel,
        account_id=event.account_id,
        contact_id=event.contact_id,
        platform_message_id=str(tweet["id_str"]),
        sent_at=_post_time(tweet, event.received_at),
        direction=Direction.OUT if echo else Direction.IN,
        text=html.unescape(text),
        kind=PUBLIC_KIND,
        contact_name=None if echo else (str(user["name"]) if user.get("name") else None),
        public=True,
        thread_id=str(reply_to or tweet["id_str"]),
        reply_to=str(reply_to) if reply_to else None,
        position=event.position,
    )


def _post_time(tweet: dict[str, Any], received_at: datetime) -> datetime:
    if tweet.get("timestamp_ms") is not None:
        return epoch_ms(_epoch_ms(tweet["timestamp_ms"], "timestamp_ms"), received_at)
    try:
        created = datetime.strptime(str(tweet.get("created_at")), "%a %b %d %H:%M:%S %z %Y")
    except ValueError as exc:
        raise AdapterError(f"post without a usable time: {tweet.get('created_at')!r}") from exc
    return checked(created, received_at)
