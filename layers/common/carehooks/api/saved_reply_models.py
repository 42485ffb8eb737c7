"""Request and response models of the saved replies (``/api/saved-replies``) and of replying with one.

A saved reply's text is checked when it is saved: its placeholders must be ones carehooks knows how to
fill (:mod:`carehooks.domain.placeholders`), and it must fit, as written, every channel it is meant for
(all of them when ``channels`` is empty), counted the way each platform counts
(:mod:`carehooks.channels.limits`). Either refusal is a 422 naming ``body.text`` and why.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from carehooks.api.models import ChannelName, IsoTime, Name, Text, field_error
from carehooks.channels.limits import first_exceeded
from carehooks.domain import placeholders
from carehooks.domain.models import Channel

MAX_SHORTCODE_CHARS = 32
MAX_TITLE_CHARS = 200  # (Name's own limit)
MAX_TEXT_CHARS = 4096
MAX_LANGUAGES = 20
SHORTCODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
# BCP 47-ish: a 2-3 letter language, then up to three subtags (script, region, variant): en, pt-BR, zh-Hant-TW.
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$"
ALL_CHANNELS = tuple(Channel)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _template(value: str) -> str:
    try:
        placeholders.parse(value)
    except placeholders.PlaceholderError as exc:
        raise ValueError(str(exc)) from None
    return value


def _unique[T](values: list[T]) -> list[T]:
    if len(set(values)) != len(values):
        raise ValueError("each value at most once")
    return values


def _language_case(value: str) -> str:
    # en, pt-BR, zh-Hant: lower-case language, title-case script, upper-case region (BCP 47's casing).
    language, *subtags = value.split("-")
    out = [language.lower()]
    for tag in subtags:
        out.append(tag.title() if len(tag) == 4 else tag.upper() if len(tag) == 2 else tag.lower())
    return "-".join(out)


Shortcode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_SHORTCODE_CHARS, pattern=SHORTCODE_PATTERN),
    AfterValidator(str.lower),
    Field(description="unique, in any case (stored lower-cased): letters, digits, `_` and `-`"),
]
Title = Annotated[Name, Field(max_length=MAX_TITLE_CHARS)]
TemplateText = Annotated[
    Text,
    Field(min_length=1, max_length=MAX_TEXT_CHARS),
    AfterValidator(_not_blank),
    AfterValidator(_template),
]
Language = Annotated[
    str,
    StringConstraints(pattern=LANGUAGE_PATTERN, max_length=35),
    AfterValidator(_language_case),
    Field(description="a BCP 47 language tag: `en`, `pt-BR`, `zh-Hant`"),
]


class SavedReplyRequest(BaseModel):
    """A saved reply as an agent writes it (POST creates one, PUT replaces the editable fields)."""

    model_config = ConfigDict(extra="forbid")

    shortcode: Shortcode
    title: Title
    text: TemplateText = Field(
        description="placeholders: `{contact_name}`, `{agent_name}`, `{attributes.<key>}`, `{<variable>}`; "
        "`{{` and `}}` for a literal brace. Must fit every channel it is meant for, as written"
    )
    channels: Annotated[list[ChannelName], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=len(ALL_CHANNELS), description="meant for these (empty: all)"
    )
    languages: Annotated[list[Language], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=MAX_LANGUAGES, description="written in these (empty: any)"
    )

    @model_validator(mode="after")
    def _fits_its_channels(self) -> SavedReplyRequest:
        for channel in [Channel(c) for c in self.channels] or ALL_CHANNELS:
            over = first_exceeded(self.text, channel)
            if over is not None:
                limit, size = over
                raise field_error(
                    "text",
                    f"too long for {channel.value} ({limit.label} {limit.where}): {size} of at most "
                    f"{limit.limit}, counted as {limit.measure.name}; shorten it or list the channels "
                    "it is meant for",
                )
        return self


class SavedReplyOut(BaseModel):
    """A saved reply of the team's library."""

    id: str
    shortcode: str
    title: str
    text: str
    channels: list[ChannelName] = Field(description="meant for these (empty: all)")
    languages: list[str] = Field(description="written in these (empty: any)")
    usage_count: int = Field(description="replies sent with it")
    last_used_at: IsoTime | None = Field(description="when it was last sent")


class SavedReplyList(BaseModel):
    items: list[SavedReplyOut]
    next: str | None = Field(description="pass as `cursor` for the next page; null at the end")
