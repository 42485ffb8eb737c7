"""Public comments: Facebook Page ``feed`` changes and Instagram ``comments`` / ``mentions`` changes (pure).

Each becomes a public message in the conversation of its **thread**: the top-level comment and its
replies. Facebook nests comments two levels deep: a top-level comment has ``parent_id`` equal to its
``post_id`` (or none), a reply has its top-level comment as ``parent_id``. Instagram gives ``parent_id``
only on replies.

| change | canonical event |
|---|---|
| feed, item ``comment``, verb ``add`` | :class:`MessageEvent` (kind ``comment``; the Page's own comment in a thread is an echo) |
| feed, item ``comment``, verb ``edited`` | :class:`CommentChangeEvent` ``edited`` (with the comment as a fallback message) |
| feed, item ``comment``, verb ``remove`` / ``hide`` / ``unhide`` | :class:`CommentChangeEvent` ``removed`` / ``hidden`` / ``unhidden`` |
| Instagram ``comments`` | :class:`MessageEvent` (kind ``comment``; the account's own reply is an echo) |
| Instagram ``mentions`` | :class:`MessageEvent` (kind ``mention``, no text: the webhook carries only ids) |
| anything else (posts, reactions, likes, a Page's own top-level comment) | :class:`IgnoredEvent` |

Timestamps: ``created_time`` of a feed change is epoch seconds; Instagram comment changes carry none, so
the entry's ``time`` (when Meta sent it; seconds or milliseconds) stands in, else the time received. A
time outside the plausible window is the time received too (``channels.timestamps``, docs/timestamps.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from carehooks.channels.timestamps import epoch_ms, epoch_seconds
from carehooks.domain.models import (
    AdapterError,
    Attachment,
    CanonicalEvent,
    CommentChangeEvent,
    Direction,
    IgnoredEvent,
    MessageEvent,
    QueuedEvent,
)

COMMENT_KIND = "comment"
MENTION_KIND = "mention"
_CHANGES = {"edited": "edited", "remove": "removed", "hide": "hidden", "unhide": "unhidden"}
# Epoch values above this are milliseconds (this many seconds is the year 5138).
_MS_THRESHOLD = 100_000_000_000


def thread_key(field: str, value: dict[str, Any]) -> str | None:
    """The thread a comment change belongs to (its top-level comment's id), or None for other changes."""
    if field == "feed" and value.get("item") == "comment" and value.get("comment_id"):
        parent = value.get("parent_id")
        if parent and str(parent) != str(value.get("post_id") or ""):
            return str(parent)
        return str(value["comment_id"])
    if field == "comments" and value.get("id"):
        return str(value.get("parent_id") or value["id"])
    if field == "mentions":
        found = value.get("comment_id") or value.get("media_id")
        return str(found) if found else None
    return None


def parse_change(event: QueuedEvent) -> list[CanonicalEvent]:
    """One Page or Instagram account change (``payload["change"]``) → canonical events."""
    change: dict[str, Any] = event.payload.get("change") or {}
    field = str(change.get("field") or "unknown")
    value: dict[str, Any] = change["value"] if isinstance(change.get("value"), dict) else {}
    if field == "feed":
        return [_feed(event, value)]
    if field == "comments":
        return [_instagram_comment(event, value)]
    if field == "mentions":
        return [_instagram_mention(event, value)]
    return [
        IgnoredEvent(channel=event.channel, kind=f"change:{field}", reason=f"{field} changes are not handled")
    ]


def _author(value: dict[str, Any]) -> tuple[str, str | None]:
    author = value.get("from") if isinstance(value.get("from"), dict) else {}
    author_id = str((author or {}).get("id") or "")
    name = (author or {}).get("name") or (author or {}).get("username")
    return author_id, str(name) if name else None


def _time(value: Any, event: QueuedEvent) -> datetime:
    """An epoch (seconds or milliseconds) from the payload, else the entry's time, else when received."""
    for candidate in (value, event.payload.get("entry_time")):
        if candidate is None or isinstance(candidate, bool):
            continue
        try:
            number = int(candidate)
        except (TypeError, ValueError) as exc:
            raise AdapterError(f"comment time is not an epoch: {candidate!r}") from exc
        if number > _MS_THRESHOLD:
            return epoch_ms(number, event.received_at)
        return epoch_seconds(number, event.received_at)
    return event.received_at


def _feed(event: QueuedEvent, value: dict[str, Any]) -> CanonicalEvent:
    item = str(value.get("item") or "unknown")
    verb = str(value.get("verb") or "")
    if item != "comment":
        return IgnoredEvent(
            channel=event.channel, kind="change:feed", reason=f"feed {item} changes are not conversations"
        )
    comment_id = value.get("comment_id")
    if not comment_id:
        raise AdapterError("feed comment change without comment_id")
    thread = thread_key("feed", value)
    assert thread is not None
    author, name = _author(value)
    echo = author == event.account_id
    post_id = str(value["post_id"]) if value.get("post_id") else None
    post = value.get("post") if isinstance(value.get("post"), dict) else {}
    permalink = (post or {}).get("permalink_url")
    message = MessageEvent(
        channel=event.channel,
        account_id=event.account_id,
        contact_id=author or "unknown",
        platform_message_id=str(comment_id),
        sent_at=_time(value.get("created_time"), event),
        direction=Direction.OUT if echo else Direction.IN,
        text=str(value.get("message") or ""),
        kind=COMMENT_KIND,
        attachments=_attachments(value),
        contact_name=None if echo else name,
        public=True,
        thread_id=thread,
        reply_to=thread if thread != str(comment_id) else None,
        position=event.position,
        per_thread=True,
        post_id=post_id,
        permalink=str(permalink) if permalink else None,
    )
    if verb == "add":
        if echo and thread == str(comment_id):
            return IgnoredEvent(
                channel=event.channel,
                kind="own_comment",
                reason="the Page's own top-level comment: nobody to answer (replies to it are threaded)",
            )
        return message
    change = _CHANGES.get(verb)
    if change is None:
        return IgnoredEvent(channel=event.channel, kind=f"comment:{verb or 'unknown'}", reason="not handled")
    return CommentChangeEvent(
        channel=event.channel,
        account_id=event.account_id,
        thread_id=thread,
        platform_message_id=str(comment_id),
        change=change,  # type: ignore[arg-type]  # the values of _CHANGES are CommentChange literals
        at=_time(value.get("created_time"), event),
        text=message.text if change == "edited" else None,
        fallback=message if change == "edited" else None,
    )


def _attachments(value: dict[str, Any]) -> tuple[Attachment, ...]:
    found = []
    if value.get("photo"):
        found.append(Attachment(kind="image", url=str(value["photo"])))
    if value.get("video"):
        found.append(Attachment(kind="video", url=str(value["video"])))
    return tuple(found)


def _instagram_comment(event: QueuedEvent, value: dict[str, Any]) -> CanonicalEvent:
    comment_id = value.get("id")
    if not comment_id:
        raise AdapterError("Instagram comment change without id")
    thread = thread_key("comments", value)
    assert thread is not None
    author, name = _author(value)
    echo = author == event.account_id
    if echo and thread == str(comment_id):
        return IgnoredEvent(
            channel=event.channel,
            kind="own_comment",
            reason="the account's own top-level comment: nobody to answer (replies to it are threaded)",
        )
    media = value.get("media") if isinstance(value.get("media"), dict) else {}
    return MessageEvent(
        channel=event.channel,
        account_id=event.account_id,
        contact_id=author or "unknown",
        platform_message_id=str(comment_id),
        sent_at=_time(value.get("timestamp"), event),
        direction=Direction.OUT if echo else Direction.IN,
        text=str(value.get("text") or ""),
        kind=COMMENT_KIND,
        contact_name=None if echo else name,
        public=True,
        thread_id=thread,
        reply_to=thread if thread != str(comment_id) else None,
        position=event.position,
        per_thread=True,
        post_id=str(media["id"]) if media and media.get("id") else None,
    )


def _instagram_mention(event: QueuedEvent, value: dict[str, Any]) -> CanonicalEvent:
    thread = thread_key("mentions", value)
    if thread is None:
        raise AdapterError("Instagram mention change without comment_id or media_id")
    return MessageEvent(
        channel=event.channel,
        account_id=event.account_id,
        # Who mentioned the account is not in the webhook; each mention is its own unknown author.
        contact_id=f"mention:{thread}",
        platform_message_id=thread,
        sent_at=_time(None, event),
        direction=Direction.IN,
        text="",
        kind=MENTION_KIND,
        public=True,
        thread_id=thread,
        position=event.position,
        per_thread=True,
        post_id=str(value["media_id"]) if value.get("media_id") else None,
    )
