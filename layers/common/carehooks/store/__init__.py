"""The only code that knows DynamoDB. Key formats live in :mod:`carehooks.store.keys`."""

from carehooks.store.errors import ConflictError, NotFoundError, StoreError
from carehooks.store.table import RecordOutcome, Store, get_store

__all__ = ["ConflictError", "NotFoundError", "RecordOutcome", "Store", "StoreError", "get_store"]
