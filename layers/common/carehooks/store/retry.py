"""Asking DynamoDB again within one scheduled run: a throttled read costs the run a moment, not its work."""

from __future__ import annotations

import time
from collections.abc import Callable

from carehooks.store.errors import StoreError

READ_ATTEMPTS = 5  # a sweep reads 32 shards: a throttled one is asked again, not left to the next run


def attempts[T](call: Callable[[], T], tries: int = READ_ATTEMPTS) -> T:
    """``call()``, asked again (at most ``tries`` times in all) when DynamoDB (or the network) fails it.

    A :class:`StoreError` is the store's own verdict, never retried here.
    """
    for attempt in range(tries):
        try:
            return call()
        except StoreError:
            raise
        except Exception:
            if attempt == tries - 1:
                raise
            time.sleep(0.02 * 2**attempt)
    raise AssertionError("unreachable")
