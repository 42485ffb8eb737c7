"""DynamoDB access of public conversations: comment edits, removals and moderation, and the link
between a public comment thread and the private conversation its private reply opened.

A comment lives as a message item in its thread's partition (see :mod:`carehooks.store.keys`). Changes
to it are attributes of that item, never new messages:

| attribute | meaning |
|---|---|
| ``edits`` | earlier texts, oldest first: ``[{"text", "until"}]`` (``until``: when it was replaced) |
| ``edited_at`` | the latest edit |
| ``deleted``, ``deleted_at`` | the author (or the Page) removed the comment |
| ``hidden``, ``hidden_at``, ``hidden_by`` | hidden from everyone but its author and their friends; ``hidden_by`` is ``rule:<id>``, an agent's id, or ``platform-inbox`` (hidden in Meta's own tools) |

Links, in the conversations' ``extra``: ``linked_private_id`` on the public conversation (the latest
private conversation opened from it), ``linked_public_id`` on the private one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from carehooks.clock import iso
from carehooks.domain.conversations import new_conversation_id
from carehooks.domain.models import Channel, CommentChangeEvent, Conversation, Message
from carehooks.store import keys
from carehooks.store.errors import ConflictError, ItemConditionError
from carehooks.store.table import MAX_ATTEMPTS, ConversationWrites
from carehooks.store.table import TableStore as Store

LINKED_PRIVATE = "linked_private_id"
LINKED_PUBLIC = "linked_public_id"
EDITS = "edits"


def comment(
    store: Store, channel: Channel, account_id: str, thread_id: str, comment_id: str
) -> Message | None:
    """A stored comment of a public thread, by its platform id (one consistent read)."""
    return store.get_message(channel, account_id, "", comment_id, thread_id=thread_id)


def _message_key(store: Store, message: Message) -> dict[str, Any]:
    return store.key(
        keys.conversation_pk(message.channel, message.account_id, message.contact_id, message.thread_id),
        keys.message_sk(message.platform_message_id),
    )


def apply_change(store: Store, event: CommentChangeEvent) -> Message | None:
    """Apply an edit, removal, hide or unhide to the stored comment; the comment before it, or None.

    None when the comment was never stored, or the change is already applied (a redelivery): both are
    no-ops. An edit keeps the replaced text in ``edits``.
    """
    found = comment(store, event.channel, event.account_id, event.thread_id, event.platform_message_id)
    if found is None:
        return None
    if event.change == "edited":
        return found if edit(store, found, event.text or "", event.at) else None
    if event.change == "removed":
        if found.extra.get("deleted"):
            return None
        _update(store, found, {"deleted": True, "deleted_at": iso(event.at)})
        return found
    hidden = event.change == "hidden"
    if bool(found.extra.get("hidden")) == hidden:
        return None
    set_hidden(store, found, hidden, by="platform-inbox", at=event.at)
    return found


def edit(store: Store, message: Message, text: str, at: datetime) -> bool:
    """Replace a comment's text, keeping the old one in its history. False when it already has ``text``."""
    current = message
    for _ in range(MAX_ATTEMPTS):
        if current.text == text:
            return False
        try:
            store.client.update_item(
                TableName=store.table_name,
                Key=_message_key(store, current),
                UpdateExpression=(
                    "SET #text = :new, edited_at = :at, "
                    "#edits = list_append(if_not_exists(#edits, :empty), :previous)"
                ),
                # Optimistic: the text replaced is the one read, so two edits never lose one.
                ConditionExpression="attribute_exists(pk) AND #text = :old",
                ExpressionAttributeNames={"#text": "text", "#edits": EDITS},
                ExpressionAttributeValues=store.marshal(
                    {
                        ":new": text,
                        ":old": current.text,
                        ":at": iso(at),
                        ":empty": [],
                        ":previous": [{"text": current.text, "until": iso(at)}],
                    }
                ),
            )
        except store.client.exceptions.ConditionalCheckFailedException:
            fresh = comment(
                store,
                current.channel,
                current.account_id,
                current.thread_id or "",
                current.platform_message_id,
            )
            if fresh is None:
                return False
            current = fresh
            continue
        return True
    raise ConflictError(f"comment {message.platform_message_id} kept changing while it was edited")


def set_hidden(store: Store, message: Message, hidden: bool, by: str, at: datetime) -> None:
    """Record that a comment was hidden (or shown again), by whom and when."""
    _update(store, message, {"hidden": hidden, "hidden_at": iso(at), "hidden_by": by})


def _update(store: Store, message: Message, attributes: dict[str, Any]) -> None:
    """Set attributes of a stored message (by name placeholders: ``hidden`` is a reserved word)."""
    names = {f"#a{i}": name for i, name in enumerate(attributes)}
    values = {f":v{i}": value for i, value in enumerate(attributes.values())}
    try:
        store.client.update_item(
            TableName=store.table_name,
            Key=_message_key(store, message),
            UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(attributes))),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=store.marshal(values),
        )
    except store.client.exceptions.ConditionalCheckFailedException as exc:
        raise ItemConditionError(0) from exc


# -- the link between a public thread and its private conversation --------------------------------------
def open_private_conversation(
    store: ConversationWrites, public: Conversation, contact_id: str, now: datetime
) -> Conversation:
    """The private conversation a private reply to a comment of ``public`` continues in.

    The customer's current private conversation on the channel and account when one is open (the reply
    joins it), else a new one. Either way it is linked both ways with ``public``.
    """
    latest = store.latest_conversation(public.channel, public.account_id, contact_id)
    if latest is not None and latest.status != "resolved" and not latest.public:
        private = latest
    else:
        private = _create(store, public, contact_id, now)
    private = _set_extra(store, private, LINKED_PUBLIC, public.id)
    _set_extra(store, public, LINKED_PRIVATE, private.id)
    return private


def _create(store: ConversationWrites, public: Conversation, contact_id: str, now: datetime) -> Conversation:
    conv = Conversation(
        id=new_conversation_id(now),
        channel=public.channel,
        account_id=public.account_id,
        contact_id=contact_id,
        created_at=now,
        status="open",
        contact_name=public.contact_name,
        tags=list(public.tags),
        priority=public.priority,
        assignee=public.assignee,
        last_activity_at=now,
        extra={LINKED_PUBLIC: public.id},
    )
    return store.write_conversation(conv, expected_version=None, now=now)


def _set_extra(store: ConversationWrites, conv: Conversation, name: str, value: str) -> Conversation:
    """Set one ``extra`` attribute of a conversation, re-reading it when someone else wrote first."""
    current = conv
    for _ in range(MAX_ATTEMPTS):
        if current.extra.get(name) == value:
            return current
        try:
            return store.save_conversation(
                replace(current, tags=list(current.tags), extra={**current.extra, name: value})
            )
        except ConflictError:
            fresh = store.get_conversation(conv.id)
            if fresh is None:
                raise
            current = fresh
    raise ConflictError(f"conversation {conv.id} kept changing while it was linked")


def linked_id(conv: Conversation) -> str | None:
    """The id of the conversation linked to ``conv`` (private ↔ public), if any."""
    value = conv.extra.get(LINKED_PRIVATE if conv.public else LINKED_PUBLIC)
    return str(value) if value else None
