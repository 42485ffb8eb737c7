"""The only code that knows DynamoDB. Key formats live in :mod:`carehooks.store.keys`.

Use cases type against :class:`Store` (a protocol); :class:`DynamoStore` is the table, and
:class:`carehooks.store.memory.MemoryStore` the in-memory fake.
"""

from carehooks.domain.conversations import RecordOutcome
from carehooks.store.dynamo import DynamoStore
from carehooks.store.errors import ConflictError, NotFoundError, StoreError
from carehooks.store.protocol import Store

__all__ = ["ConflictError", "DynamoStore", "NotFoundError", "RecordOutcome", "Store", "StoreError"]
