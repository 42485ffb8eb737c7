"""Request and response models of the contact and note routes (see :mod:`carehooks.api.models` for the
conventions: unknown fields refused, strings encodable, JSON types taken as given).

Attribute limits (typed): at most :data:`MAX_ATTRIBUTES` keys, each a name of 1 to
:data:`MAX_ATTRIBUTE_KEY` letters, digits, ``_``, ``-`` or ``.`` starting with a letter; each value a
string of at most :data:`MAX_ATTRIBUTE_STRING` characters, a finite number or a boolean (no objects or
lists); all of them together at most :data:`MAX_ATTRIBUTES_BYTES` bytes of JSON.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
)

from carehooks.api.models import ChannelName, IsoTime, Name, Text, _not_blank

MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_KEY = 64
MAX_ATTRIBUTE_STRING = 1000
MAX_ATTRIBUTES_BYTES = 8192
MAX_NOTE_CHARS = 4000
ATTRIBUTE_KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$"

# Ids are one component of a key: a ``#`` would make it another customer's key.
PlatformId = Annotated[Name, StringConstraints(pattern=r"^[^#]+$")]


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


AttributeKey = Annotated[str, StringConstraints(pattern=ATTRIBUTE_KEY_PATTERN)]
AttributeValue = (
    StrictBool
    | Annotated[StrictInt, Field(ge=-(2**53), le=2**53)]
    | Annotated[StrictFloat, AfterValidator(_finite)]
    | Annotated[Text, Field(max_length=MAX_ATTRIBUTE_STRING)]
)


def attributes_size(attributes: dict[str, Any]) -> int:
    """The size the attributes count against :data:`MAX_ATTRIBUTES_BYTES`: their compact JSON, in bytes."""
    return len(json.dumps(attributes, separators=(",", ":"), ensure_ascii=False).encode())


def _few_keys(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(value) > MAX_ATTRIBUTES:
        raise ValueError(f"at most {MAX_ATTRIBUTES} attributes")
    if value is not None and attributes_size(value) > MAX_ATTRIBUTES_BYTES:
        raise ValueError(f"at most {MAX_ATTRIBUTES_BYTES} bytes of attributes (as compact JSON)")
    return value


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContactPatch(_Request):
    """A change to a contact. ``name``: the agent's name for the person, which wins over the platform's
    (``null`` removes it: the platform's shows again). ``attributes``: a JSON merge patch: each key set to
    its value, or removed with ``null``; keys not named stay."""

    name: Name | None = Field(None, description="the agent's name for the person; null removes it")
    attributes: Annotated[dict[AttributeKey, AttributeValue | None] | None, AfterValidator(_few_keys)] = (
        Field(None, description="merged: a key set to null is removed")
    )


class IdentityIn(_Request):
    """Another platform identity of the same person."""

    channel: ChannelName
    account_id: PlatformId
    contact_id: PlatformId


class NoteRequest(_Request):
    """A private note: never sent to the customer."""

    text: Annotated[Text, Field(min_length=1, max_length=MAX_NOTE_CHARS), AfterValidator(_not_blank)]


class IdentityOut(BaseModel):
    channel: str
    account_id: str
    contact_id: str


class ContactOut(BaseModel):
    """A customer on one platform identity, with the identities linked to it."""

    channel: str
    account_id: str
    contact_id: str
    name: str | None = Field(description="the agent's name for the person if set, else the platform's")
    username: str | None
    avatar_url: str | None
    attributes: dict[str, Any]
    identities: list[IdentityOut] = Field(description="the linked identities (not this one)")
    created_at: IsoTime | None = Field(description="first seen (null: never wrote)")
    last_seen_at: IsoTime | None = Field(description="the customer's latest message known")


class NoteOut(BaseModel):
    id: str
    text: str
    author: str = Field(description="the agent who wrote it (their token's `sub`)")
    author_name: str | None = None
    created_at: IsoTime
    conversation_id: str | None = Field(None, description="set on a conversation's internal note")
    contact: IdentityOut | None = Field(
        None, description="set on a note on a person: the identity it was added on"
    )


class NoteList(BaseModel):
    items: list[NoteOut]
    next: str | None = None
