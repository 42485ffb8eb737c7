"""Channel traits: every channel has its platform's, and use cases read quirks only from them."""

from __future__ import annotations

import pytest

from carehooks.channels.traits import PUBLIC_TEXT_LIMIT, TRAITS, traits_for
from carehooks.domain.models import Channel


@pytest.mark.parametrize("channel", list(Channel))
def test_every_channel_has_traits(channel: Channel) -> None:
    traits = traits_for(channel)
    assert traits.text_limit > 0
    assert traits.label


def test_the_platforms_quirks() -> None:
    # Each platform's own way of counting its text limit
    assert {c: t.measure.name for c, t in TRAITS.items()} == {
        Channel.MESSENGER: "code_points",
        Channel.INSTAGRAM: "utf8_bytes",
        Channel.WHATSAPP: "code_points",
        Channel.X: "utf16",
        Channel.TELEGRAM: "utf16",
        Channel.SMS: "utf16",
        Channel.TWILIO_WHATSAPP: "utf16",
    }
    assert {c for c, t in TRAITS.items() if t.utf16} == {
        Channel.X,
        Channel.TELEGRAM,
        Channel.SMS,
        Channel.TWILIO_WHATSAPP,
    }
    assert {c for c, t in TRAITS.items() if t.native_choices} == {
        Channel.MESSENGER,
        Channel.INSTAGRAM,
        Channel.WHATSAPP,
        Channel.TELEGRAM,
    }
    assert {c for c, t in TRAITS.items() if t.templates} == {Channel.WHATSAPP, Channel.TWILIO_WHATSAPP}
    assert {c for c, t in TRAITS.items() if t.public_replies == "comment_thread"} == {
        Channel.MESSENGER,
        Channel.INSTAGRAM,
    }
    assert traits_for(Channel.X).public_replies == "latest_post"
    assert {c: t.text_limit for c, t in TRAITS.items()} == {
        Channel.MESSENGER: 2000,
        Channel.INSTAGRAM: 1000,
        Channel.WHATSAPP: 4096,
        Channel.X: 10000,
        Channel.TELEGRAM: 4096,
        Channel.SMS: 1600,
        Channel.TWILIO_WHATSAPP: 1600,
    }


def test_a_public_text_fits_every_comment_thread() -> None:
    # One template set's public texts serve Facebook (8000) and Instagram (2200) threads.
    assert PUBLIC_TEXT_LIMIT == 2200
