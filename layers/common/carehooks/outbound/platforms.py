"""What each platform declares (:class:`ChannelTraits`) and what its messaging window decides (pure).

Kept apart from :mod:`carehooks.outbound.models` so that a use case reading a trait (a label, a limit)
loads only these few types.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    or the customer's latest post, an inbound message of kind ``post_kind``).
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

    @property
    def utf16(self) -> bool:
        """Whether ``text_limit`` counts UTF-16 code units (for callers of ``fit(..., utf16=…)``)."""
        return self.measure is UTF16
