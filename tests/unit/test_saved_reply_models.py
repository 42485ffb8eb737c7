"""Properties of the saved replies' request models and of placeholders (pure, no table)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from carehooks.api.auth import Agent
from carehooks.api.models import ReplyRequest
from carehooks.api.saved_replies import placeholder_values
from carehooks.api.saved_reply_models import SavedReplyRequest
from carehooks.channels.x.weighted import X_WEIGHTED
from carehooks.domain import placeholders
from carehooks.domain.models import Channel, Conversation
from carehooks.outbound.text import utf8_length, utf16_length

SETTINGS = settings(max_examples=200, deadline=None)
REPLY_ID = "01J" + "0" * 23
CHANNELS = ["messenger", "instagram", "whatsapp", "x", "telegram", "sms", "twilio_whatsapp"]

# Each channel's limits written out here, independently of the code under test (platforms.md).
FITS = {
    "messenger": lambda t: len(t) <= 2000,
    "instagram": lambda t: utf8_length(t) <= 1000 and len(t) <= 2200,
    "whatsapp": lambda t: len(t) <= 4096,
    "x": lambda t: X_WEIGHTED.size(t) <= 280 and utf16_length(t) <= 10_000,
    "telegram": lambda t: utf16_length(t) <= 4096,
    "sms": lambda t: utf16_length(t) <= 1600,
    "twilio_whatsapp": lambda t: utf16_length(t) <= 1600,
}

names = st.from_regex(re.compile(placeholders.NAME_PATTERN), fullmatch=True)
plain = st.text(st.characters(blacklist_characters="{}", blacklist_categories=("Cs",)), max_size=30)
# Texts of every length up to the longest limit, near the limits too: a short piece repeated.
brace_free_text = (
    st.tuples(
        st.text(
            st.characters(blacklist_characters="{}", blacklist_categories=("Cs", "Cc")),
            min_size=1,
            max_size=4,
        ),
        st.integers(1, 1100),
    )
    .map(lambda piece: (piece[0] * piece[1])[:4096])
    .filter(lambda t: t.strip() != "")
)


def errors_of(model: type[Any], body: dict[str, Any]) -> set[tuple[str, ...]]:
    try:
        model.model_validate(body)
    except ValidationError as exc:
        return {tuple(str(p) for p in e["loc"] if not isinstance(p, int)) for e in exc.errors()}
    return set()


# -- placeholders ------------------------------------------------------------------------------------
@SETTINGS
@given(st.text(st.characters(blacklist_categories=("Cs",))))
def test_any_text_with_its_braces_doubled_renders_back_to_itself(text: str) -> None:
    escaped = text.replace("{", "{{").replace("}", "}}")
    rendered = placeholders.render(placeholders.parse(escaped), {})
    assert rendered == placeholders.Rendered(text, ())


@SETTINGS
@given(st.text(st.sampled_from("{}ab_.1 ")))
def test_parsing_either_reads_a_template_or_says_where_the_stray_brace_is(text: str) -> None:
    result = _parsed(text)
    if isinstance(result, placeholders.PlaceholderError):
        assert text[result.position] in "{}"
    else:
        assert all(placeholders.is_name(n) for n in result.names)
        assert placeholders.render(result, dict.fromkeys(result.names, "v")).unresolved == ()


def _parsed(text: str) -> placeholders.Template | placeholders.PlaceholderError:
    try:
        return placeholders.parse(text)
    except placeholders.PlaceholderError as exc:
        return exc


@SETTINGS
@given(st.lists(st.tuples(plain, names), max_size=6), plain, st.data())
def test_every_placeholder_is_filled_from_its_value_or_named_as_unresolved(
    pieces: list[tuple[str, str]], tail: str, data: st.DataObject
) -> None:
    template = "".join(f"{literal}{{{name}}}" for literal, name in pieces) + tail
    used = list(dict.fromkeys(name for _, name in pieces))
    known = data.draw(st.sets(st.sampled_from(used)) if used else st.just(set[str]()))
    values = {name: f"<{name.upper()}>" for name in known}
    rendered = placeholders.render(placeholders.parse(template), values)
    assert rendered.unresolved == tuple(n for n in used if n not in known)
    expected = "".join(
        literal + (values[name] if name in known else "{" + name + "}") for literal, name in pieces
    )
    assert rendered.text == expected + tail


# -- a saved reply ---------------------------------------------------------------------------------
@SETTINGS
@given(st.one_of(st.text(max_size=40), st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,40}", fullmatch=True)))
def test_a_shortcode_is_taken_lower_cased_exactly_when_it_fits_the_pattern(raw: str) -> None:
    body = {"shortcode": raw, "title": "t", "text": "x", "channels": ["whatsapp"]}
    wanted = raw.lower()
    ok = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}", raw) is not None
    assert errors_of(SavedReplyRequest, body) == (set() if ok else {("shortcode",)})
    if ok:
        assert SavedReplyRequest.model_validate(body).shortcode == wanted


@SETTINGS
@given(brace_free_text, st.lists(st.sampled_from(CHANNELS), unique=True, max_size=3))
def test_a_text_is_taken_exactly_when_it_fits_every_channel_it_is_meant_for(
    text: str, channels: list[str]
) -> None:
    body = {"shortcode": "p", "title": "t", "text": text, "channels": channels}
    fits = all(FITS[c](text) for c in channels or CHANNELS)
    assert errors_of(SavedReplyRequest, body) == (set() if fits else {("text",)})


@SETTINGS
@given(st.from_regex(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}", fullmatch=True))
def test_a_language_tag_is_taken_in_one_canonical_casing(tag: str) -> None:
    body = {"shortcode": "p", "title": "t", "text": "x", "channels": ["whatsapp"], "languages": [tag]}
    [canonical] = SavedReplyRequest.model_validate(body).languages
    assert canonical.casefold() == tag.casefold()
    again = SavedReplyRequest.model_validate({**body, "languages": [canonical.upper()]}).languages
    assert again == [canonical]


@SETTINGS
@given(st.text(max_size=12))
def test_a_language_that_is_not_a_tag_is_refused(tag: str) -> None:
    body = {"shortcode": "p", "title": "t", "text": "x", "channels": ["whatsapp"], "languages": [tag]}
    is_tag = re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}", tag) is not None
    assert (errors_of(SavedReplyRequest, body) == set()) == is_tag


# -- a reply with a saved reply ----------------------------------------------------------------------
@SETTINGS
@given(
    st.one_of(st.none(), st.just("hello")),
    st.one_of(st.none(), st.just(REPLY_ID)),
    st.one_of(st.none(), st.just({"order": "A-1"})),
)
def test_a_reply_is_text_or_a_saved_reply_never_both(
    text: str | None, saved_reply_id: str | None, variables: dict[str, str] | None
) -> None:
    body = {
        k: v
        for k, v in {"text": text, "saved_reply_id": saved_reply_id, "variables": variables}.items()
        if v is not None
    }
    found = errors_of(ReplyRequest, body)
    if text is not None and saved_reply_id is not None:
        assert found == {("saved_reply_id",)}
    elif variables is not None and saved_reply_id is None:
        assert found == {("variables",)}
    elif text is None and saved_reply_id is None:
        assert found == {("text",)}
    else:
        assert found == set()


@SETTINGS
@given(st.dictionaries(st.text(max_size=20), st.just("value"), max_size=4))
def test_variables_are_named_like_placeholders(variables: dict[str, str]) -> None:
    found = errors_of(ReplyRequest, {"saved_reply_id": REPLY_ID, "variables": variables})
    assert (found == set()) == all(placeholders.is_name(k) for k in variables)


# -- what fills the placeholders ----------------------------------------------------------------------
def test_variables_win_over_names_and_attributes_which_are_written_as_text() -> None:
    conv = Conversation(
        id="c",
        channel=Channel.MESSENGER,
        account_id="p",
        contact_id="u",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        contact_name="Grace",
    )
    values = placeholder_values(
        conv,
        Agent(sub="a", name="Ada"),
        {"plan": "gold", "seats": 3, "vip": True, "tags": ["x"]},
        {"agent_name": "Team"},
    )
    assert values == {
        "contact_name": "Grace",
        "agent_name": "Team",
        "attributes.plan": "gold",
        "attributes.seats": "3",
        "attributes.vip": "true",
    }


@pytest.mark.parametrize("text", ["{contact_name", "a } b", "{ contact_name }", "{attributes.}", "{1x}"])
def test_unknown_placeholder_syntax_is_refused_when_saved(text: str) -> None:
    body = {"shortcode": "p", "title": "t", "text": text, "channels": ["whatsapp"]}
    assert errors_of(SavedReplyRequest, body) == {("text",)}


def test_a_saved_reply_goes_alone_not_with_attachments() -> None:
    image = {"url": "https://cdn.example.com/a.png", "type": "image"}
    assert errors_of(ReplyRequest, {"saved_reply_id": REPLY_ID, "attachments": [image]}) == {
        ("saved_reply_id",)
    }
    assert errors_of(ReplyRequest, {"attachments": [image]}) == set()
    assert errors_of(ReplyRequest, {}) == {("text",)}
