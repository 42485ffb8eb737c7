"""Opt-in measurement of consumed capacity (benchmarks and tests; off in the functions).

:class:`CapacityRecorder` wraps a DynamoDB client: every call that can report capacity is made with
``ReturnConsumedCapacity="INDEXES"`` and its ``ConsumedCapacity`` is appended to a list, one entry per
call, so a caller can count write and read units (table and indexes) and see that nothing scanned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CAPACITY_OPERATIONS = frozenset(
    {
        "get_item",
        "put_item",
        "update_item",
        "delete_item",
        "query",
        "scan",
        "batch_get_item",
        "batch_write_item",
        "transact_get_items",
        "transact_write_items",
    }
)


class CapacityRecorder:
    """Delegates to a DynamoDB client and records ``{"operation", "consumed"}`` per capacity-reporting call."""

    def __init__(self, client: Any, log: list[dict[str, Any]]) -> None:
        self._client = client
        self._log = log

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name not in CAPACITY_OPERATIONS:
            return attribute
        return self._recording(name, attribute)

    def _recording(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(**kwargs: Any) -> Any:
            response = call(ReturnConsumedCapacity="INDEXES", **kwargs)
            consumed = response.get("ConsumedCapacity")
            self._log.append(
                {"operation": name, "consumed": consumed if isinstance(consumed, list) else [consumed]}
            )
            return response

        return recorded
