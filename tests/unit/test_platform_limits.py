"""Each platform's text limit, counted the platform's way, and cuts that never split a character.

The counts here are the platforms' own (UTF-8 bytes, UTF-16 code units, code points, X's weighted
length), written independently of the measures in ``carehooks.outbound.text`` where they can be.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import pytest
import responses
from hypothesis import given, settings
from hypothesis import strategies as st

from carehooks.channels.instagram.client import InstagramClient
from carehooks.channels.instagram.traits import TEXT_LIMIT as INSTAGRAM_LIMIT
from carehooks.channels.instagram.traits import TEXT_MEASURE as INSTAGRAM_MEASURE
from carehooks.channels.messenger.client import MessengerClient
from carehooks.channels.messenger.traits import TEXT_LIMIT as MESSENGER_LIMIT
from carehooks.channels.messenger.traits import TEXT_MEASURE as MESSENGER_MEASURE
from carehooks.channels.telegram.client import TelegramClient
from carehooks.channels.telegram.traits import TRAITS as TELEGRAM
from carehooks.channels.twilio.client import TwilioClient, build_form
from carehooks.channels.twilio.segments import sms_shape
from carehooks.channels.twilio.traits import BODY_LIMIT, BODY_MEASURE
from carehooks.channels.whatsapp.client import WhatsAppClient
from carehooks.channels.whatsapp.traits import TEXT_LIMIT as WHATSAPP_LIMIT
from carehooks.channels.whatsapp.traits import TEXT_MEASURE as WHATSAPP_MEASURE
from carehooks.channels.x.client import XClient
from carehooks.channels.x.traits import DM_LIMIT, DM_MEASURE, POST_LIMIT, POST_MEASURE
from carehooks.channels.x.weighted import weighted_length
from carehooks.domain.models import Channel, Conversation
from carehooks.outbound import http
from carehooks.outbound.client import SendPlan
from carehooks.outbound.models import Choice, OutboundMessage, PermanentError, TemplateRef
from carehooks.outbound.text import CODE_POINTS, ELLIPSIS, UTF8_BYTES, UTF16, Measure, fit

NOW = datetime(2025, 11, 22, 12, 0, tzinfo=UTC)
GRAPH = "https://graph.test/v25.0"
X_API = "https://x.test"
TELEGRAM_API = "https://telegram.test"
TWILIO_API = "https://twilio.test"
SID = "AC7d2e5f8a9b0c1d2e3f4a5b6c7d8e9f01"


# -- the platforms' own counts ------------------------------------------------------------------------
def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def code_points(text: str) -> int:
    return len(text)


# -- mixed scripts ------------------------------------------------------------------------------------
LATIN = ["Hello", "your", "order", "café", "naïve", "Straße", "e\u0301te\u0301"]  # the last is decomposed
CJK = ["ご注文", "故人西辞黄鹤楼", "주문하신", "快递", "ありがとう"]
ARABIC = ["مرحبا", "طلبك", "شكرا جزيلا"]
DEVANAGARI = ["नमस्ते", "क्षमा", "आपका ऑर्डर", "धन्यवाद"]
EMOJI = [
    "😀",
    "👍🏽",
    "👨\u200d👩\u200d👧\u200d👦",  # family: a ZWJ sequence
    "🧑🏿\u200d💻",  # skin tone inside a ZWJ sequence
    "🇯🇵",
    "🇫🇷🇩🇪",  # two flags side by side
    "🏳️\u200d🌈",
    "1️⃣",
    "❤️",
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland: tag sequence
]
URLS = [
    "https://example.com/orders/4411",
    "http://test.co",
    "example.com/help",
    "https://shop.example.org/a?b=c#d",
]
SEPARATORS = [" ", " ", " ", "\n", ", ", ". ", "\r\n"]
FRAGMENTS = LATIN + CJK + ARABIC + DEVANAGARI + EMOJI + URLS

mixed = st.lists(st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(SEPARATORS)), max_size=120).map(
    lambda parts: "".join(word + sep for word, sep in parts)
)

LONG_REPLY = (
    "Hello María 👋🏽, ご注文 #4411 は発送済みです。 مرحبا، طلبك في الطريق. आपका ऑर्डर भेज दिया गया है 🙏. "
    "Track it at https://example.com/orders/4411?lang=en 👨\u200d👩\u200d👧\u200d👦 🇯🇵🇫🇷 1️⃣ 故人西辞黄鹤楼 "
) * 60


def _extends(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or code == 0x200D
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
    )


def assert_whole_characters(original: str, text: str, cut: bool) -> None:
    """``text`` is a prefix of ``original`` (plus the ellipsis when cut) that splits no character."""
    body = text.removesuffix(ELLIPSIS) if cut else text
    assert original.startswith(body)
    if body == original:
        return
    following = original[len(body)]
    assert not _extends(following), f"cut before {following!r}, which belongs to the character before it"
    if body:
        assert body[-1] != "\u200d", "cut after a ZWJ, in the middle of an emoji sequence"
        assert not (body[-1] == "\r" and following == "\n")
        regional = len(body) - len(body.rstrip("".join(chr(c) for c in range(0x1F1E6, 0x1F200))))
        assert regional % 2 == 0, "cut in the middle of a flag"


PLATFORMS: list[tuple[str, Measure, int, Callable[[str], int]]] = [
    ("Messenger", MESSENGER_MEASURE, MESSENGER_LIMIT, code_points),
    ("Instagram", INSTAGRAM_MEASURE, INSTAGRAM_LIMIT, utf8_bytes),
    ("WhatsApp", WHATSAPP_MEASURE, WHATSAPP_LIMIT, code_points),
    ("X post", POST_MEASURE, POST_LIMIT, weighted_length),
    ("X DM", DM_MEASURE, DM_LIMIT, utf16_units),
    ("Telegram", TELEGRAM.measure, TELEGRAM.text_limit, utf16_units),
    ("Twilio", BODY_MEASURE, BODY_LIMIT, utf16_units),
]


# -- X's weighted length: twitter-text's conformance cases --------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi http://test.co", 26),
        ("http://test.co", 23),
        ("😷" * 160, 320),
        ("the" + "故人西辞黄鹤楼，烟花三月下扬州。" * 10, 323),  # noqa: RUF001 (full-width comma, weighs 2)
        ("H🐱☺👨\u200d👩\u200d👧\u200d👦", 7),
        ("😷👾😡🔥💩", 10),
        ("🙋🏽👨\u200d🎤", 4),
        ("A\u0301B", 2),  # NFC: one character
        (
            "This is a tweet with general punctuation characters: \u2000\u2001\u2002\u2003\u2004\u2005"
            "\u2006\u2007\u2008\u2009\u200a\u200b ‐ ‑ ‒ – — ― ‖  ‗ ‘ ’ ‚ ‛ “ ” „ ‟ ′ ″ ‴ ‵ ‶ ‷",  # noqa: RUF001
            110,
        ),
        ("https://www.twitter.com/aloha " * 10, 240),
        ("randomurlrandomurlrandomurlrandomurlrandomurlrandomurlrandomurls.com", 68),  # a 64-char label
        ("285 chars- http://www.twitter.com/jack " + "xxxxxxxxxx-" * 24, 299),
    ],
)
def test_x_counts_as_twitter_text_does(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see https://example.com/help.", 28),  # the full stop is not part of the URL
        ("example.com", 23),  # a host without a scheme counts as a link
        ("नमस्ते مرحبا", 12),  # scripts below U+1100 weigh 1
        ("🇯🇵🇫🇷", 4),  # each flag is one emoji
        ("1️⃣ ❤️", 5),  # keycap and emoji presentation sequences
        ("©", 2),  # counted as the emoji X may take it for
    ],
)
def test_x_weighs_links_scripts_and_emoji_sequences(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


def test_a_zwj_chain_longer_than_any_recommended_emoji_counts_its_extra_parts() -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"
    assert weighted_length(family) == 2
    assert weighted_length(family + "\u200d👦") == 5  # ZWJ 1 + boy 2


def test_a_long_host_without_a_scheme_is_cut_like_text() -> None:
    text = "x.y" * 200  # one host-like run X may or may not take for a link
    fitted = fit(text, POST_LIMIT, measure=POST_MEASURE)
    assert weighted_length(fitted.text) <= 280
    assert len(fitted.text) > 200


def test_a_mixed_x_reply_is_cut_to_280_weighted_not_280_code_points() -> None:
    text = "ご注文ありがとうございます 👍🏽 " * 30  # 540 code points, weighted 1,020
    fitted = fit(text, POST_LIMIT, measure=POST_MEASURE)
    assert weighted_length(fitted.text) <= 280
    assert len(fitted.text) < 280
    assert fitted.details["text_counted_as"] == "x_weighted"
    assert_whole_characters(text, fitted.text, cut=True)


def test_instagram_text_is_cut_by_utf8_bytes() -> None:
    text = "故" * 999  # 999 code points, 2,997 bytes
    fitted = fit(text, INSTAGRAM_LIMIT, measure=INSTAGRAM_MEASURE)
    assert utf8_bytes(fitted.text) <= 1000
    assert fitted.text == "故" * 332 + ELLIPSIS  # 996 + 3 bytes


def test_twilio_counts_emoji_as_two_utf16_units() -> None:
    text = "😀" * 1599
    fitted = fit(text, BODY_LIMIT, measure=BODY_MEASURE)
    assert utf16_units(fitted.text) <= 1600
    assert fitted.text == "😀" * 799 + ELLIPSIS


def test_an_ellipsis_that_does_not_fit_is_left_out() -> None:
    assert fit("abcdef", 2, measure=UTF8_BYTES).text == "ab"


# -- property: every platform, every mix --------------------------------------------------------------
@pytest.mark.parametrize(("platform", "measure", "limit", "count"), PLATFORMS, ids=[p[0] for p in PLATFORMS])
@settings(max_examples=40, deadline=None)
@given(text=mixed, repeat=st.integers(min_value=1, max_value=12))
def test_every_cut_fits_the_platform_counted_its_way(
    platform: str, measure: Measure, limit: int, count: Callable[[str], int], text: str, repeat: int
) -> None:
    original = text * repeat
    fitted = fit(original, limit, measure=measure)
    assert count(fitted.text) <= limit
    assert (fitted.text == original) == (not fitted.details)
    assert_whole_characters(original, fitted.text, cut=bool(fitted.details))


MEASURES: list[tuple[Measure, Callable[[str], int]]] = [
    (CODE_POINTS, code_points),
    (UTF16, utf16_units),
    (UTF8_BYTES, utf8_bytes),
    (POST_MEASURE, weighted_length),
]


@pytest.mark.parametrize(("measure", "count"), MEASURES, ids=[m[0].name for m in MEASURES])
@settings(max_examples=80, deadline=None)
@given(text=mixed, limit=st.integers(min_value=1, max_value=400))
def test_any_limit_is_met_without_splitting_a_character(
    measure: Measure, count: Callable[[str], int], text: str, limit: int
) -> None:
    fitted = fit(text, limit, measure=measure)
    assert count(fitted.text) <= limit
    assert_whole_characters(text, fitted.text, cut=bool(fitted.details))


@settings(max_examples=80, deadline=None)
@given(text=st.text(min_size=1, max_size=300), limit=st.integers(min_value=1, max_value=200))
def test_any_text_at_all_is_cut_on_code_points_within_the_limit(text: str, limit: int) -> None:
    for measure, count in MEASURES:
        fitted = fit(text, limit, measure=measure)
        assert count(fitted.text) <= limit
        assert text.startswith(fitted.text.removesuffix(ELLIPSIS) if fitted.details else fitted.text)


# -- SMS encoding and segments -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "encoding", "segments"),
    [
        ("Your order shipped today.", "GSM-7", 1),
        ("x" * 160, "GSM-7", 1),
        ("x" * 161, "GSM-7", 2),
        ("€" * 80, "GSM-7", 1),  # extension characters take two septets
        ("€" * 81, "GSM-7", 2),
        ("Thanks 😀", "UCS-2", 1),
        ("x" * 69 + "😀", "UCS-2", 2),  # 71 UTF-16 units
        ("ご" * 134, "UCS-2", 2),
        ("ご" * 135, "UCS-2", 3),
        ("“curly quotes”", "UCS-2", 1),
    ],
)
def test_an_sms_body_knows_its_encoding_and_segments(body: str, encoding: str, segments: int) -> None:
    shape = sms_shape(body)
    assert (shape.encoding, shape.segments) == (encoding, segments)


def sms_conv() -> Conversation:
    return Conversation(
        id="conv-1", channel=Channel.SMS, account_id="+15005550006", contact_id="+14155550100", created_at=NOW
    )


def test_an_sms_with_an_emoji_says_it_goes_as_ucs2_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    message = OutboundMessage(text="Your order shipped 🚚 " * 10, kind="agent_reply", author="agent-7")
    _, details = build_form(sms_conv(), message, SendPlan())
    assert details["sms_encoding"] == "UCS-2"
    assert details["sms_segments"] == "4"  # 220 UTF-16 units in segments of 67


def test_a_gsm_sms_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    message = OutboundMessage(text="Your order shipped today.", kind="ack")
    _, details = build_form(sms_conv(), message, SendPlan())
    assert (details["sms_encoding"], details["sms_segments"]) == ("GSM-7", "1")


def test_a_twilio_template_is_never_built_with_an_empty_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    conv = Conversation(
        id="conv-1",
        channel=Channel.TWILIO_WHATSAPP,
        account_id="+15005550006",
        contact_id="+14155550100",
        created_at=NOW,
    )
    message = OutboundMessage(
        text="How did we do?", kind="survey", template=TemplateRef(name="HXb5b6", parameters=("Sheena", " "))
    )
    with pytest.raises(PermanentError, match=r"variable 2 empty.*21656"):
        build_form(conv, message, SendPlan(mode="template"))


# -- a long mixed-script reply through every client ----------------------------------------------------
@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "META_GRAPH_URL": GRAPH,
        "X_API_URL": X_API,
        "TELEGRAM_API_URL": TELEGRAM_API,
        "TWILIO_API_URL": TWILIO_API,
        "META_ACCESS_TOKEN": "meta-token",
        "X_ACCESS_TOKEN": "x-token",
        "TELEGRAM_BOT_TOKEN": "123456789:bot-token",
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": "twilio-token",
        "PUBLIC_BASE_URL": "https://hooks.example.com",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CAREHOOKS_SECRET_ID", raising=False)
    monkeypatch.setattr(http, "_sleep", lambda seconds: None)


def conversation(channel: Channel, account: str, contact: str, **fields: Any) -> Conversation:
    return Conversation(
        id="conv-1", channel=channel, account_id=account, contact_id=contact, created_at=NOW, **fields
    )


REPLY = OutboundMessage(text=LONG_REPLY, kind="agent_reply", author="agent-7", origin_tag="agent:conv-1")
PRIVATE = OutboundMessage(
    text=LONG_REPLY, kind="private_reply", author="agent-7", reply_to="17858893269000001"
)
CHOICES = (Choice("csat_5", "5 ⭐ Great"), Choice("csat_1", "1 ⭐ Poor"))

IG, IGSID = "17841405822304914", "6021459874123365"
PAGE, PSID = "112233445566778", "7318845612093471"
WA = "106540352242922"


def _sends() -> list[tuple[str, Callable[[], object], Callable[[Any], list[tuple[str, int]]]]]:
    """(name, the send, what its recorded request carries: (text, platform limit counted its way))."""

    def meta_text(body: dict[str, Any], limit: int, count: Callable[[str], int]) -> list[tuple[str, int]]:
        text = (
            body.get("message", {}).get("text") if isinstance(body.get("message"), dict) else body["message"]
        )
        return [(text, count(text) - limit)]

    return [
        (
            "messenger reply",
            lambda: MessengerClient().send(conversation(Channel.MESSENGER, PAGE, PSID), REPLY),
            lambda b: meta_text(b, 2000, code_points),
        ),
        (
            "messenger private reply",
            lambda: MessengerClient().send(conversation(Channel.MESSENGER, PAGE, "c1", public=True), PRIVATE),
            lambda b: meta_text(b, 2000, code_points),
        ),
        (
            "messenger comment",
            lambda: MessengerClient().send(
                conversation(Channel.MESSENGER, PAGE, "c1", public=True, thread_id="1_2"),
                REPLY,
                SendPlan(public_reply_to="1_2"),
            ),
            lambda b: meta_text(b, 8000, code_points),
        ),
        (
            "instagram reply",
            lambda: InstagramClient().send(conversation(Channel.INSTAGRAM, IG, IGSID), REPLY),
            lambda b: meta_text(b, 1000, utf8_bytes),
        ),
        (
            "instagram private reply",
            lambda: InstagramClient().send(conversation(Channel.INSTAGRAM, IG, "c1", public=True), PRIVATE),
            lambda b: meta_text(b, 1000, utf8_bytes),
        ),
        (
            "instagram comment",
            lambda: InstagramClient().send(
                conversation(Channel.INSTAGRAM, IG, "c1", public=True, thread_id="178"),
                REPLY,
                SendPlan(public_reply_to="178"),
            ),
            lambda b: meta_text(b, 2200, code_points),
        ),
        (
            "whatsapp text",
            lambda: WhatsAppClient().send(conversation(Channel.WHATSAPP, WA, "16505551234"), REPLY),
            lambda b: [(b["text"]["body"], code_points(b["text"]["body"]) - 4096)],
        ),
        (
            "whatsapp buttons",
            lambda: WhatsAppClient().send(
                conversation(Channel.WHATSAPP, WA, "16505551234"),
                OutboundMessage(text=LONG_REPLY, kind="survey", choices=CHOICES),
            ),
            lambda b: [
                (b["interactive"]["body"]["text"], code_points(b["interactive"]["body"]["text"]) - 1024)
            ],
        ),
        (
            "x public reply",
            lambda: XClient().send(
                conversation(Channel.X, "2244994945", "272953809", public=True),
                REPLY,
                SendPlan(public_reply_to="1800166866023854157"),
            ),
            lambda b: [(b["text"], weighted_length(b["text"]) - 280)],
        ),
        (
            "x direct message",
            lambda: XClient().send(conversation(Channel.X, "2244994945", "272953809"), REPLY),
            lambda b: [(b["text"], utf16_units(b["text"]) - 10_000)],
        ),
        (
            "telegram",
            lambda: TelegramClient().send(conversation(Channel.TELEGRAM, "bot", "1111111"), REPLY),
            lambda b: [(b["text"], utf16_units(b["text"]) - 4096)],
        ),
        (
            "twilio sms",
            lambda: TwilioClient().send(conversation(Channel.SMS, "+15005550006", "+14155550100"), REPLY),
            lambda b: [(b["Body"], utf16_units(b["Body"]) - 1600)],
        ),
        (
            "twilio whatsapp",
            lambda: TwilioClient().send(
                conversation(Channel.TWILIO_WHATSAPP, "+15005550006", "+14155550100"), REPLY
            ),
            lambda b: [(b["Body"], utf16_units(b["Body"]) - 1600)],
        ),
    ]


def _stub_platforms(mock: responses.RequestsMock) -> None:
    import re

    graph = {"message_id": "mid.1", "id": "c.1", "recipient_id": "r.1", "messages": [{"id": "wamid.1"}]}
    mock.add(responses.POST, re.compile(re.escape(GRAPH) + r"/.*"), json=graph)
    mock.add(
        responses.POST,
        re.compile(re.escape(X_API) + r"/.*"),
        status=201,
        json={"data": {"id": "8", "dm_event_id": "9"}},
    )
    mock.add(
        responses.POST,
        re.compile(re.escape(TELEGRAM_API) + r"/.*"),
        json={"ok": True, "result": {"message_id": 1, "chat": {"id": 1111111}}},
    )
    mock.add(responses.POST, re.compile(re.escape(TWILIO_API) + r"/.*"), status=201, json={"sid": "SM1"})


def _recorded_body(request: Any) -> dict[str, Any]:
    raw = request.body or b""
    raw = raw.decode() if isinstance(raw, bytes) else raw
    if request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(raw, keep_blank_values=True))
    parsed: dict[str, Any] = json.loads(raw)
    return parsed


@pytest.mark.usefixtures("configured")
@pytest.mark.parametrize(("name", "send", "texts"), _sends(), ids=[s[0] for s in _sends()])
def test_a_long_mixed_script_reply_fits_every_platform_counted_its_way(
    name: str, send: Callable[[], object], texts: Callable[[Any], list[tuple[str, int]]]
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        _stub_platforms(mock)
        send()
        assert len(mock.calls) == 1
        for text, over in texts(_recorded_body(mock.calls[0].request)):
            assert over <= 0, f"{name}: {over} over the platform's limit"
            assert_whole_characters(LONG_REPLY, text, cut=True)


# -- Meta's messaging_type -------------------------------------------------------------------------------
@pytest.mark.usefixtures("configured")
@pytest.mark.parametrize(
    ("kind", "author", "mode", "expected"),
    [
        ("ack", "carehooks", "standard", "RESPONSE"),
        ("rule_reply", "carehooks", "standard", "RESPONSE"),
        ("agent_reply", "agent-7", "standard", "RESPONSE"),
        ("survey", "carehooks", "standard", "UPDATE"),
        ("agent_reply", "agent-7", "human_agent", "MESSAGE_TAG"),
    ],
)
@pytest.mark.parametrize("client", [MessengerClient, InstagramClient])
def test_proactive_sends_are_updates_and_answers_are_responses(
    client: type[MessengerClient] | type[InstagramClient], kind: str, author: str, mode: str, expected: str
) -> None:
    message = OutboundMessage(text="How did we do?", kind=kind, author=author)  # type: ignore[arg-type]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        _stub_platforms(mock)
        client().send(conversation(Channel.MESSENGER, PAGE, PSID), message, SendPlan(mode=mode))  # type: ignore[arg-type]
        assert json.loads(mock.calls[0].request.body or b"{}")["messaging_type"] == expected
