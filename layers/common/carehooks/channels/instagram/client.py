"""Instagram messaging client: the Messenger Send API on ``/me/messages`` with the Page token.

With Facebook Login the Page's token sends for its linked Instagram professional account, so the
token is looked up by the conversation's ``account_id`` (the Instagram account id:
``META_ACCESS_TOKEN_<ig id>``, else ``META_ACCESS_TOKEN``) and the path is ``/me/messages``.
"""

from __future__ import annotations

from typing import Any

from carehooks.channels.instagram.traits import COMMENT_LIMIT, TEXT_LIMIT, TEXT_MEASURE
from carehooks.channels.meta.comments import MENTION_KIND
from carehooks.channels.meta.send import SendApiClient
from carehooks.domain.models import Conversation
from carehooks.outbound.models import (
    OutboundMessage,
    OutcomeUnknownError,
    PermanentError,
    SendResult,
)
from carehooks.outbound.text import fit


class InstagramClient(SendApiClient):
    """Same body as Messenger (RESPONSE / HUMAN_AGENT, metadata, quick replies).

    Comments: replies are ``POST /{ig-comment-id}/replies`` (on top-level comments only), hiding is
    ``POST /{ig-comment-id} {"hide": true}``, and a mention is answered with
    ``POST /{ig-user-id}/mentions {"media_id", "comment_id", "message"}``.
    """

    text_limit = TEXT_LIMIT
    text_measure = TEXT_MEASURE
    comment_limit = COMMENT_LIMIT
    reply_edge = "replies"
    hide_field = "hide"

    def path(self, conversation: Conversation) -> str:
        return "me/messages"

    def public_reply(
        self, conversation: Conversation, message: OutboundMessage, comment_id: str
    ) -> SendResult:
        """A reply under a comment, or, in a mention's thread, a comment on the media that mentions us."""
        if conversation.extra.get("thread_kind") != MENTION_KIND:
            return super().public_reply(conversation, message, comment_id)
        media_id = conversation.extra.get("post_id")
        fitted = fit(message.text, self.comment_limit)
        body: dict[str, Any] = {"media_id": media_id, "message": fitted.text}
        if comment_id != media_id:
            body["comment_id"] = comment_id
        answer = self.graph.call("POST", f"{conversation.account_id}/mentions", conversation.account_id, body)
        comment = answer.get("id")
        if not comment:
            raise OutcomeUnknownError("Meta accepted the reply to the mention but returned no id")
        return SendResult(status="sent", platform_message_id=str(comment), details=dict(fitted.details))

    def private_reply(self, conversation: Conversation, message: OutboundMessage) -> SendResult:
        if conversation.extra.get("thread_kind") == MENTION_KIND:
            raise PermanentError("private replies answer comments on the account's own posts, not mentions")
        return super().private_reply(conversation, message)
