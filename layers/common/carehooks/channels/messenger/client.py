"""Messenger Send API client (``POST {META_GRAPH_URL}/{page-id}/messages``).

The request bodies, comment replies and hiding are Meta's shared Send API
(:class:`carehooks.channels.meta.send.SendApiClient`); Messenger adds its limits, its path and its
comment edges (``/{comment-id}/comments``, ``{"is_hidden": …}``).
"""

from __future__ import annotations

from carehooks.channels.messenger.traits import COMMENT_LIMIT, TEXT_LIMIT, TEXT_MEASURE
from carehooks.channels.meta.send import SendApiClient
from carehooks.domain.models import Conversation


class MessengerClient(SendApiClient):
    """Send API for Facebook Pages (the conversation's ``account_id`` is the Page id)."""

    text_limit = TEXT_LIMIT
    text_measure = TEXT_MEASURE
    comment_limit = COMMENT_LIMIT
    reply_edge = "comments"
    hide_field = "is_hidden"

    def path(self, conversation: Conversation) -> str:
        return f"{conversation.account_id}/messages"
