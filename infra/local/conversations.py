"""``GET /_local/conversations`` and ``GET /_local/conversations/{id}``: what the table holds.

A local read route, useful before and beside the agent API: it answers through the package's own
store (the ``ByStatus`` and ``ById`` indexes, no scan) in the shape of the agent API's conversation
resource (design §3).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

STATUSES = ("open", "pending", "resolved")


def _plain(value: Any) -> Any:
    from carehooks.clock import iso

    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class ConversationReader:
    """Reads conversations with :class:`carehooks.store.Store` on the local table."""

    def __init__(self, table_name: str, dynamodb: Any) -> None:
        self.table_name = table_name
        self.dynamodb = dynamodb

    def _store(self) -> Any:
        from carehooks.wiring.store import make_store

        return make_store(self.table_name, client=self.dynamodb)

    @staticmethod
    def resource(conversation: Any) -> dict[str, Any]:
        data = dataclasses.asdict(conversation)
        extra = data.pop("extra", {}) or {}
        out = {**data, **{k: v for k, v in extra.items() if k not in data}}
        out["channel"] = str(conversation.channel)
        return {k: _plain(v) for k, v in out.items()}

    def list(self, status: str | None = None, limit: int = 50) -> dict[str, Any]:
        """Conversations by turn (when they last changed hands), newest first (one status, or all)."""
        from carehooks.store import keys

        store = self._store()
        found: list[tuple[str, Any]] = []
        partitions = [
            pk for wanted in ([status] if status else STATUSES) for pk in keys.status_partitions(wanted)
        ]
        for partition in partitions:
            response = self.dynamodb.query(
                TableName=self.table_name,
                IndexName=keys.BY_STATUS_INDEX,
                KeyConditionExpression="gsi1pk = :pk",
                ExpressionAttributeValues={":pk": {"S": partition}},
                ScanIndexForward=False,
                Limit=limit,
            )
            for item in response.get("Items", []):
                # The index projects keys only: the id is the table sort key after its prefix.
                sort_key = item["sk"]["S"]
                if sort_key.startswith(keys.CONVERSATION_PREFIX):
                    found.append((item["gsi1sk"]["S"], sort_key.removeprefix(keys.CONVERSATION_PREFIX)))
        found.sort(reverse=True)
        items = []
        for _, conversation_id in found[:limit]:
            conversation = store.get_conversation(conversation_id)
            if conversation is not None:
                items.append(self.resource(conversation))
        return {"items": items, "next": None}

    def get(self, conversation_id: str) -> dict[str, Any] | None:
        """One conversation with its messages in platform-time order."""
        store = self._store()
        conversation = store.get_conversation(conversation_id)
        if conversation is None:
            return None
        out = self.resource(conversation)
        messages = []
        for message in store.messages(conversation):
            data = dataclasses.asdict(message)
            extra = data.pop("extra", {}) or {}
            entry = {"id": message.platform_message_id, **data}
            entry.update({k: v for k, v in extra.items() if k not in entry})
            entry["channel"] = str(message.channel)
            entry["direction"] = str(message.direction)
            messages.append({k: _plain(v) for k, v in entry.items()})
        out["messages"] = messages
        return out
