"""Domain errors raised by the store (callers never see botocore exceptions)."""


class StoreError(Exception):
    """A storage operation failed."""


class ConflictError(StoreError):
    """A concurrent change won: re-read and try again, or report a conflict."""


class NotFoundError(StoreError):
    """The item does not exist."""
