"""Hiding comments: the comment stays visible to its author and their friends, and to nobody else.

Hiding rather than deleting is the moderation good practice (a deleted comment fuels anger; a hidden
one goes quiet). It is reversible: the agent API unhides. Every hide and unhide is recorded on the
comment (``hidden``, ``hidden_at``, ``hidden_by``, see :mod:`carehooks.store.public`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from carehooks.channels import registry
from carehooks.channels.traits import traits_for
from carehooks.clock import iso
from carehooks.domain.models import Channel, Conversation, Direction, Message

if TYPE_CHECKING:
    from carehooks.store import Store


@runtime_checkable
class Moderator(Protocol):
    """The platform call that hides or shows a comment (the Messenger and Instagram clients)."""

    def hide(self, account_id: str, comment_id: str, hidden: bool = True) -> None: ...


class ModerationError(ValueError):
    """The comment cannot be hidden or shown: ``code`` says why (``not_public``, ``unknown_comment``,
    ``own_comment``)."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def moderator_for(channel: Channel) -> Moderator:
    """The channel's client, which knows its platform's hide call."""
    client = registry.client_for(channel)
    if not isinstance(client, Moderator):
        raise ModerationError(f"{channel} has no comments to hide", "not_public")
    return client


def target(store: Store, conv: Conversation, comment_id: str) -> Message:
    """The customer comment of ``conv`` to hide or show; :class:`ModerationError` when there is none."""
    comment_threads = traits_for(conv.channel).public_replies == "comment_thread"
    if not conv.public or not comment_threads or not conv.thread_id:
        raise ModerationError(
            "only comments of a Facebook or Instagram comment thread can be hidden", "not_public"
        )
    found = store.comment(conv.channel, conv.account_id, conv.thread_id, comment_id)
    if found is None:
        raise ModerationError("no such comment in this thread", "unknown_comment")
    if found.direction is not Direction.IN:
        raise ModerationError("the business's own comments are not hidden", "own_comment")
    return found


def set_comment_hidden(
    store: Store,
    conv: Conversation,
    comment_id: str,
    hidden: bool,
    by: str,
    now: datetime,
    moderator: Moderator | None = None,
) -> Message:
    """Hide (or show) a customer's comment on the platform, then record it; the comment as it is now.

    Raises :class:`ModerationError` for a comment that cannot be moderated, and the platform's
    :class:`~carehooks.outbound.models.SendError` when it refuses (nothing is recorded then).
    """
    found = target(store, conv, comment_id)
    (moderator or moderator_for(conv.channel)).hide(conv.account_id, comment_id, hidden)
    store.set_hidden(found, hidden, by=by, at=now)
    return replace(found, extra={**found.extra, "hidden": hidden, "hidden_at": iso(now), "hidden_by": by})
