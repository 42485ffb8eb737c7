"""DynamoDB access for reports: conversations by creation day (the ByDay index), never a scan."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from carehooks.clock import iso
from carehooks.domain.models import Conversation
from carehooks.store import keys
from carehooks.store.items import conversation_from_item
from carehooks.store.table import TableStore as Store


def conversations_created(store: Store, start: datetime, end: datetime) -> Iterator[Conversation]:
    """Conversations created in ``[start, end)``: one paginated Query per UTC day of the range."""
    if end <= start:
        return
    day = start.astimezone(UTC).date()
    last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
    lower, upper = iso(start), iso(end)
    while day <= last:
        kwargs: dict[str, Any] = {
            "TableName": store.table_name,
            "IndexName": keys.BY_DAY_INDEX,
            # day_sk starts with the creation time, so the bounds are exact on the first and last day.
            "KeyConditionExpression": "#p = :p AND #s BETWEEN :lo AND :hi",
            "ExpressionAttributeNames": {"#p": keys.DAY_PK_ATTR, "#s": keys.DAY_SK_ATTR},
            "ExpressionAttributeValues": {
                ":p": {"S": keys.day_pk(day)},
                ":lo": {"S": lower},
                ":hi": {"S": upper},
            },
        }
        while True:
            response = store.client.query(**kwargs)
            for item in response.get("Items", []):
                conv = conversation_from_item(store.unmarshal(item))
                if start <= conv.created_at < end:
                    yield conv
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        day += timedelta(days=1)
