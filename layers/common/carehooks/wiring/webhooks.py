"""Composition of the webhook functions: a platform's receiver with the inbound queue, the settings and
the clock. Each ``functions/<platform>_webhook/app.py`` is its decorators and one call to
:func:`receive_webhook`.
"""

from __future__ import annotations

from typing import Any

from carehooks import clock
from carehooks.config.settings import settings
from carehooks.ingress.queue import SqsEventQueue
from carehooks.ingress.receive import Receiver, receive


def receive_webhook(event: dict[str, Any], receiver: Receiver) -> dict[str, Any]:
    """Answer one webhook request: verify, split and enqueue with the function's settings."""
    config = settings()
    return receive(event, receiver, SqsEventQueue(config.inbound_queue_url), clock.now, config.max_body_bytes)
