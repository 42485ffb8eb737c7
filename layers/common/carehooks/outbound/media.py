"""Attachments in outbound messages: which platform messages one reply becomes, and what refuses them.

A reply may carry text and attachments (files sent by URL). Platforms differ in how many attachments
one message carries and whether the text can travel as a caption (``MediaSupport`` in the channel's
traits). :func:`split` turns one :class:`OutboundMessage` into the messages the channel's client sends,
in order, each of which its client can send in one call:

- the text first, on its own, when it cannot be the caption of the first attachment (Messenger and
  Instagram never take one; elsewhere it is too long, or the first attachment is a file where only
  images have captions);
- then the attachments, ``per_message`` at a time, the text as the first one's caption when it fits.

:func:`refusal` says why a conversation cannot carry a message's attachments (None when it can): the
channel takes none (X), not that type, not that many, a public comment thread, an SMS-only route.
"""

from __future__ import annotations

from dataclasses import replace

from carehooks.outbound.models import MediaAttachment, OutboundMessage
from carehooks.outbound.platforms import ChannelTraits


def refusal(  # noqa: PLR0911 - one answer per rule
    traits: ChannelTraits,
    attachments: tuple[MediaAttachment, ...],
    *,
    business: str,
    customer: str,
    public: bool = False,
) -> str | None:
    """Why these attachments cannot go to this conversation's customer (None: they can)."""
    if not attachments:
        return None
    media = traits.media
    if not media.types:
        return media.refusal or f"{traits.label} cannot carry attachments"
    if public:
        return "a reply in a public comment thread carries text only; answer with a private reply instead"
    unsupported = sorted({a.type for a in attachments} - media.types)
    if unsupported:
        return f"{traits.label} cannot carry attachments of type {', '.join(unsupported)}"
    if len(attachments) > media.max_per_reply:
        return f"{traits.label} takes at most {media.max_per_reply} attachments in one reply"
    if media.route is not None:
        return media.route(business, customer)
    return None


def split(message: OutboundMessage, traits: ChannelTraits) -> tuple[OutboundMessage, ...]:
    """The platform messages ``message`` goes out as, in order (itself when it has no attachments)."""
    if not message.attachments:
        return (message,)
    media = traits.media
    per_message = max(1, media.per_message)
    groups = [
        message.attachments[start : start + per_message]
        for start in range(0, len(message.attachments), per_message)
    ]
    text = message.text
    parts: list[OutboundMessage] = []
    if text and not _caption_fits(text, groups[0], traits):
        parts.append(replace(message, attachments=()))
        text = ""
    for index, group in enumerate(groups):
        first = index == 0
        parts.append(
            replace(
                message,
                text=text if first else "",
                attachments=group,
                choices=message.choices if first and not parts else (),
            )
        )
    return tuple(parts)


def _caption_fits(text: str, first: tuple[MediaAttachment, ...], traits: ChannelTraits) -> bool:
    media = traits.media
    if media.caption_limit <= 0 or any(a.type not in media.caption_types for a in first):
        return False
    return traits.measure.size(text) <= media.caption_limit
