"""Instagram messaging client: the Messenger Send API on ``/me/messages`` with the Page token.

With Facebook Login the Page's token sends for its linked Instagram professional account, so the
token is looked up by the conversation's ``account_id`` (the Instagram account id:
``META_ACCESS_TOKEN_<ig id>``, else ``META_ACCESS_TOKEN``) and the path is ``/me/messages``.
"""

from __future__ import annotations

from carehooks.channels.messenger.client import MessengerClient
from carehooks.domain.models import Conversation


class InstagramClient(MessengerClient):
    """Same body as Messenger (RESPONSE / HUMAN_AGENT, metadata, quick replies)."""

    # Instagram documents text as "less than 1000 characters" (unverified in platforms.md).
    text_limit = 1000

    def path(self, conversation: Conversation) -> str:
        return "me/messages"
