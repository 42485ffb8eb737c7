"""Properties of the contact and note request models: what they accept is within the limits, what they
refuse names a field, and nothing a caller sends makes them raise anything but a validation error."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from carehooks.api.contact_models import (
    MAX_ATTRIBUTE_STRING,
    MAX_ATTRIBUTES,
    MAX_ATTRIBUTES_BYTES,
    MAX_NOTE_CHARS,
    ContactPatch,
    IdentityIn,
    NoteRequest,
    attributes_size,
)
from carehooks.api.contacts import merged
from carehooks.web.errors import InvalidInputError

SETTINGS = settings(max_examples=200, deadline=None)
texts = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=30) | st.sampled_from(
    ["", " ", "\ud800", "x" * (MAX_ATTRIBUTE_STRING + 1), "a#b", "whatsapp"]
)
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
keys = st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,10}", fullmatch=True) | texts
valid_values = (
    st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)


def _validated(model: Any, body: Any) -> tuple[Any, list[Any]]:
    """The model, or None and the validation errors (each must name where it is)."""
    try:
        return model.model_validate(body), []
    except ValidationError as exc:
        return None, exc.errors()


def _is_scalar_within_limits(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) <= 2**53
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return len(value) <= MAX_ATTRIBUTE_STRING
    return False


@SETTINGS
@given(st.dictionaries(st.sampled_from(["name", "attributes", "nickname"]), json_values, max_size=3))
def test_a_patch_is_accepted_only_within_the_limits(body: dict[str, Any]) -> None:
    patch, errors = _validated(ContactPatch, body)
    if patch is None:
        assert errors
        assert all(e["loc"] for e in errors)
        return
    assert "nickname" not in body
    if patch.name is not None:
        assert 1 <= len(patch.name) <= 200
        assert patch.name.isprintable()
    attributes = patch.attributes or {}
    assert len(attributes) <= MAX_ATTRIBUTES
    assert attributes_size(attributes) <= MAX_ATTRIBUTES_BYTES
    for key, value in attributes.items():
        assert key[0].isascii()
        assert key[0].isalpha()
        assert len(key) <= 64
        assert _is_scalar_within_limits(value)


@SETTINGS
@given(st.dictionaries(keys, valid_values | st.none(), max_size=8))
def test_valid_attributes_round_trip_as_json_with_their_types(attributes: dict[str, Any]) -> None:
    try:
        patch = ContactPatch.model_validate_json(json.dumps({"attributes": attributes}))
    except ValidationError:
        # Only a bad key (or a text that is not valid Unicode) is refused
        assert any(
            not (k[:1].isascii() and k[:1].isalpha())
            or len(k) > 64
            or not all(c.isalnum() or c in "_.-" for c in k)
            for k in attributes
        ) or any(isinstance(v, str) and "\ud800" in v for v in attributes.values())
        return
    assert patch.attributes == attributes
    for key, value in attributes.items():
        assert type(patch.attributes[key]) is type(value)


@SETTINGS
@given(
    st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), st.text(max_size=900), max_size=20),
    st.dictionaries(
        st.from_regex(r"[a-z]{1,8}", fullmatch=True), st.text(max_size=900) | st.none(), max_size=20
    ),
)
def test_a_merge_sets_removes_and_keeps_keys_or_refuses_over_the_limits(
    current: dict[str, Any], patch: dict[str, Any]
) -> None:
    try:
        out = merged(current, patch)
        refused = None
    except InvalidInputError as exc:
        refused = exc
    if refused is not None:
        assert [f["field"] for f in refused.fields or []] == ["attributes"]
        expected = {**current, **{k: v for k, v in patch.items() if v is not None}}
        for k, v in patch.items():
            if v is None:
                expected.pop(k, None)
        assert len(expected) > MAX_ATTRIBUTES or attributes_size(expected) > MAX_ATTRIBUTES_BYTES
        return
    for key, value in patch.items():
        if value is None:
            assert key not in out
        else:
            assert out[key] == value
    for key in current.keys() - patch.keys():
        assert out[key] == current[key]
    assert len(out) <= MAX_ATTRIBUTES
    assert attributes_size(out) <= MAX_ATTRIBUTES_BYTES


@SETTINGS
@given(st.dictionaries(st.sampled_from(["text", "note"]), json_values, max_size=2))
def test_a_note_is_text_within_the_limit_and_never_blank(body: dict[str, Any]) -> None:
    note, errors = _validated(NoteRequest, body)
    if note is None:
        assert errors
        assert all(e["loc"] for e in errors)
        return
    assert set(body) == {"text"}
    assert 1 <= len(note.text) <= MAX_NOTE_CHARS
    assert note.text.strip()


@SETTINGS
@given(
    st.dictionaries(st.sampled_from(["channel", "account_id", "contact_id", "x"]), json_values, max_size=4)
)
def test_a_link_names_a_known_channel_and_ids_without_a_key_separator(body: dict[str, Any]) -> None:
    link, errors = _validated(IdentityIn, body)
    if link is None:
        assert errors
        assert all(e["loc"] for e in errors)
        return
    assert link.channel in {"messenger", "instagram", "whatsapp", "x", "telegram", "sms", "twilio_whatsapp"}
    assert "#" not in link.account_id
    assert "#" not in link.contact_id
    assert link.contact_id
    assert link.account_id
