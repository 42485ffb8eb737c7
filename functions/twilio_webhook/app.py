"""TwilioWebhookFunction: Twilio SMS and WhatsApp webhooks (messages, statuses) → inbound queue."""

from __future__ import annotations

from typing import Any

from carehooks import clock
from carehooks.channels.twilio.webhook import TwilioReceiver
from carehooks.config.settings import settings
from carehooks.ingress.queue import SqsEventQueue
from carehooks.ingress.receive import receive
from carehooks.observability import logger, metrics

_receiver = TwilioReceiver()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = settings()
    return receive(
        event, _receiver, SqsEventQueue(config.inbound_queue_url), clock.now, config.max_body_bytes
    )
