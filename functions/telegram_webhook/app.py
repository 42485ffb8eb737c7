"""TelegramWebhookFunction: Telegram bot updates → inbound queue."""

from __future__ import annotations

from typing import Any

from carehooks.channels.telegram.webhook import TelegramReceiver
from carehooks.observability import logger, metrics
from carehooks.wiring.webhooks import receive_webhook

_receiver = TelegramReceiver()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return receive_webhook(event, _receiver)
