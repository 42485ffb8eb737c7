"""What each platform declares (:class:`ChannelTraits`) and what its messaging window decides (pure).

Kept apart from :mod:`carehooks.outbound.models` so that a use case reading a trait (a label, a limit)
loads only these few types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from carehooks.outbound.text import CODE_POINTS, UTF16, Measure

SendMode = Literal["standard", "human_agent", "template"]


@dataclass(frozen=True)
class WindowDecision:
    """Whether a send may go out now, in which mode, and if not, why (readable).

    Decided by the channel's messaging window (:func:`carehooks.channels.window.decide`).
    """

    allowed: bool
    mode: SendMode = "standard"
    reason: str | None = None


WindowKind = Literal["none", "meta_messaging", "whatsapp"]
# Why one conversation's route cannot carry media although the channel can (an SMS between numbers
# without MMS), from the business's and the customer's addresses; None when it can.
MediaRoute = Callable[[str, str], str | None]


@dataclass(frozen=True)
class MediaSupport:
    """Which attachments (files sent by URL) a channel carries in a direct message, and how.

    ``types``: the attachment types it takes (``image``, ``file``; empty: none, and ``refusal`` says
    why). ``per_message``: attachments one platform message carries (the rest go in more messages).
    ``caption_limit``: the longest text that travels with an attachment as its caption, counted in
    the channel's measure (0: the text is always its own message), on ``caption_types`` only.
    ``max_per_reply``: attachments one reply may carry. ``route``: the conversation's own limits.
    """

    types: frozenset[str] = frozenset()
    per_message: int = 1
    caption_limit: int = 0
    caption_types: frozenset[str] = frozenset({"image", "file"})
    max_per_reply: int = 10
    refusal: str = ""
    route: MediaRoute | None = field(default=None, compare=False)


NO_MEDIA = MediaSupport(refusal="this channel cannot carry attachments")
PublicReplies = Literal["none", "comment_thread", "latest_post"]


@dataclass(frozen=True)
class ChannelTraits:
    """What a platform accepts, declared by its package (``carehooks.channels.<platform>.traits``).

    Use cases read them through :func:`carehooks.channels.traits.traits_for` instead of naming a
    platform: ``text_limit`` (one message, counted in ``measure``: code points, UTF-16 code units,
    UTF-8 bytes, or the platform's own weighting), ``comment_limit`` (a public reply in a comment
    thread, where the platform has them),
    ``native_choices`` (tappable answers; the others get numbered text), ``templates`` (approved
    templates may be sent outside the window), ``window`` (which messaging-window rule applies) and
    ``public_replies`` (how a public answer finds what it answers: the thread's top-level comment,
    or the customer's latest post, an inbound message of kind ``post_kind``) and ``media`` (which
    attachments a direct message carries: :class:`MediaSupport`).
    """

    label: str
    text_limit: int
    measure: Measure = CODE_POINTS
    comment_limit: int | None = None
    native_choices: bool = False
    templates: bool = False
    window: WindowKind = "none"
    public_replies: PublicReplies = "none"
    post_kind: str | None = None
    media: MediaSupport = NO_MEDIA

    @property
    def utf16(self) -> bool:
        """Whether ``text_limit`` counts UTF-16 code units (for callers of ``fit(..., utf16=…)``)."""
        return self.measure is UTF16
