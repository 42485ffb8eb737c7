"""The only code that knows DynamoDB. Key formats live in :mod:`carehooks.store.keys`."""

from carehooks.domain.conversations import RecordOutcome
from carehooks.store.errors import ConflictError, NotFoundError, StoreError
from carehooks.store.table import Store

__all__ = ["ConflictError", "NotFoundError", "RecordOutcome", "Store", "StoreError"]
