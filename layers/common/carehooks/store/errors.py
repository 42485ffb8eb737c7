"""Domain errors raised by the store (callers never see botocore exceptions)."""


class StoreError(Exception):
    """A storage operation failed."""


class ConflictError(StoreError):
    """A concurrent change won: re-read and try again, or report a conflict."""


class NotFoundError(StoreError):
    """The item does not exist."""


class ItemConditionError(StoreError):
    """The condition of an item written with a conversation failed (e.g. the message already exists)."""

    def __init__(self, index: int) -> None:
        super().__init__(f"the condition of item {index} of the write failed")
        self.index = index
