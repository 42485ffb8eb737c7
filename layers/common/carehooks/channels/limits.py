"""How long one message may be on each channel, wherever a reply can go out (pure).

A saved reply is checked against these when it is saved, so that it is never cut when sent. A reply can
go out as a direct message (``text_limit``, counted in the platform's measure), as a public reply in a
comment thread (``comment_limit``: Messenger, Instagram), or, on X, as a public post answering the
customer's latest post (280 weighted characters, counted as twitter-text counts them): an agent's reply
on X goes out as a post whenever the customer last wrote one, so that is X's limit for a reply.
"""

from __future__ import annotations

from dataclasses import dataclass

from carehooks.channels.traits import traits_for
from carehooks.channels.x.traits import POST_LIMIT, POST_MEASURE
from carehooks.domain.models import Channel
from carehooks.outbound.text import CODE_POINTS, Measure


@dataclass(frozen=True)
class TextLimit:
    """One place a reply can go on a channel, and how long it may be there."""

    channel: Channel
    label: str
    where: str
    limit: int
    measure: Measure

    def size(self, text: str) -> int:
        """The length of ``text`` as this platform counts it."""
        return self.measure.size(text)


def reply_limits(channel: Channel) -> tuple[TextLimit, ...]:
    """Every limit a reply on ``channel`` must fit, the strictest first (by its limit)."""
    traits = traits_for(channel)
    limits = [TextLimit(channel, traits.label, "message", traits.text_limit, traits.measure)]
    if traits.comment_limit is not None:
        limits.append(TextLimit(channel, traits.label, "public comment", traits.comment_limit, CODE_POINTS))
    if traits.public_replies == "latest_post":
        limits.append(TextLimit(channel, traits.label, "public post", POST_LIMIT, POST_MEASURE))
    return tuple(sorted(limits, key=lambda limit: limit.limit))


def first_exceeded(text: str, channel: Channel) -> tuple[TextLimit, int] | None:
    """The first limit of ``channel`` that ``text`` is over, and its size there; None when it fits all."""
    for limit in reply_limits(channel):
        size = limit.size(text)
        if size > limit.limit:
            return limit, size
    return None
