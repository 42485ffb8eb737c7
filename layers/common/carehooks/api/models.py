"""Request and response models of the agent API (they are also its OpenAPI document).

Request models forbid unknown fields, so a misspelt field is a 422 naming it, not a silent no-op. Every
string that reaches the table is checked to be encodable text: JSON can carry a lone surrogate
(``"\\ud800"``) that no UTF-8 encoder accepts, and that must be the caller's 422, not our 500. Values
are taken as the JSON types the document gives them, not coerced: ``0`` is not ``false``, ``"3"`` or
``3.0`` not a version, and a time is an RFC 3339 string (not a number of seconds, not a bare date).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from carehooks.api.media import MAX_ATTACHMENTS, AttachmentOut, ReplyAttachment
from carehooks.domain.placeholders import NAME_PATTERN

Status = Literal["open", "pending", "resolved"]
Priority = Literal["low", "normal", "high", "urgent"]
ChannelName = Literal["messenger", "instagram", "whatsapp", "x", "telegram", "sms", "twilio_whatsapp"]
SlaState = Literal["none", "running", "warning", "breached"]

MAX_REPLY_CHARS = 4096
MAX_TAG_CHARS = 64
MAX_TAGS_PER_REQUEST = 20
MAX_TAGS_PER_CONVERSATION = 50
# A dry run's arrival time: the rules' calendars and ids need a time they can count days from and to.
EARLIEST_AT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_AT = datetime(2100, 1, 1, tzinfo=UTC)


def _encodable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from exc
    return value


def _single_line(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must not contain control characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Text = Annotated[str, AfterValidator(_encodable)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_encodable),
    AfterValidator(_single_line),
]
TagName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TAG_CHARS),
    AfterValidator(_encodable),
    AfterValidator(_single_line),
]
IsoTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: Any) -> Any:
    # Before pydantic's own parsing, which would also take numbers (epoch seconds) and bare dates.
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("give an RFC 3339 date-time with a zone, e.g. 2026-03-02T09:00:00Z")
    return value


RequestTime = Annotated[datetime, BeforeValidator(_rfc3339)]

# Saved replies (issue 16): their ids are ULIDs; a placeholder's name is a variable or ``attributes.<key>``.
MAX_VARIABLES = 20
SavedReplyId = Annotated[str, StringConstraints(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")]
PlaceholderName = Annotated[str, StringConstraints(pattern=f"^{NAME_PATTERN}$")]


def field_error(field: str, message: str) -> ValidationError:
    """A validation error located at ``field``: raised from a model validator, the 422 names the field."""
    return ValidationError.from_exception_data(
        "request",
        [InitErrorDetails(type=PydanticCustomError("value_error", message), loc=(field,), input=None)],
    )


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VersionedRequest(_Request):
    """A change to a conversation. ``version`` (optional): the version the agent last read; when it is
    given and the conversation has changed since, the answer is 409 and nothing changes."""

    version: StrictInt | None = Field(None, ge=0, le=2**53, description="the conversation version last read")


class ReplyRequest(_Request):
    """An agent's reply, sent to the customer on the conversation's channel: text, attachments, or both;
    or a saved reply (``saved_reply_id``, rendered with ``variables``)."""

    # Before ``text``: its validator reads them (a reply needs something to send).
    attachments: list[ReplyAttachment] = Field(
        default_factory=list,
        max_length=MAX_ATTACHMENTS,
        description="files the platform fetches by URL; where the channel cannot carry them, a 422 says why",
    )
    # Saved replies (issue 16): send one of the library instead of ``text``.
    saved_reply_id: SavedReplyId | None = Field(None, description="send this saved reply, rendered")
    variables: dict[PlaceholderName, Name] | None = Field(
        None,
        max_length=MAX_VARIABLES,
        description="with `saved_reply_id`: values of its placeholders (they win over the contact's and "
        "the agent's names and attributes)",
    )
    text: (
        Annotated[Text, Field(min_length=1, max_length=MAX_REPLY_CHARS), AfterValidator(_not_blank)] | None
    ) = Field(None, validate_default=True)

    @field_validator("text")
    @classmethod
    def _something_to_send(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Attachments that failed validation are missing from info.data: their own error says why.
        nothing = info.data.get("attachments") == [] and info.data.get("saved_reply_id") is None
        # ``variables`` without ``saved_reply_id`` is its own error (the model's check below).
        if value is None and nothing and info.data.get("variables") is None:
            raise ValueError("give a text, attachments, or both (or a saved_reply_id)")
        return value

    @model_validator(mode="after")
    def _saved_reply_alone(self) -> ReplyRequest:
        if self.saved_reply_id is not None and (self.text is not None or self.attachments):
            raise field_error("saved_reply_id", "give text and attachments, or saved_reply_id, not both")
        if self.variables is not None and self.saved_reply_id is None:
            raise field_error("variables", "variables fill a saved reply: give saved_reply_id too")
        return self


class AssignRequest(VersionedRequest):
    """Assign the conversation to an agent (their token ``sub``; ``me`` for the caller)."""

    assignee: Name


class TagsRequest(VersionedRequest):
    """Add and remove tags in one change (a tag in both lists is an error)."""

    add: list[TagName] = Field(default_factory=list, max_length=MAX_TAGS_PER_REQUEST)
    remove: list[TagName] = Field(default_factory=list, max_length=MAX_TAGS_PER_REQUEST)

    @model_validator(mode="after")
    def _something_to_do(self) -> TagsRequest:
        if not self.add and not self.remove:
            raise ValueError("give at least one tag to add or remove")
        if set(self.add) & set(self.remove):
            raise ValueError("a tag cannot be both added and removed")
        return self


class PriorityRequest(VersionedRequest):
    priority: Priority


class PrivateReplyRequest(_Request):
    """A direct message to the author of a comment of a public conversation (once per comment, within
    7 days of it). Without ``comment_id``: the thread's top-level comment, else its latest customer
    comment."""

    text: Annotated[Text, Field(min_length=1, max_length=MAX_REPLY_CHARS), AfterValidator(_not_blank)]
    comment_id: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^#/]+$"),
            AfterValidator(_encodable),
        ]
        | None
    ) = None


class RulesTestRequest(_Request):
    """A message to run the rules on, without side effects: the inputs of ``carehooks rules test``.

    ``contact_id`` reads that customer's conversations (read-only) for "returning customer", "last
    agent" and "already acknowledged", unless ``read_history`` is false (``--no-store``).
    """

    channel: ChannelName
    text: Annotated[Text, Field(max_length=65_536)]
    at: RequestTime | None = Field(
        None, description="when the message arrives (default: now), from 1970 up to the year 2100 (excluded)"
    )
    contact_id: Name | None = Field(None, description="the customer's id on the channel (`--contact`)")
    account_id: Name | None = Field(None, description="the business account: page, number (`--account`)")
    name: Name | None = Field(None, description="the customer's display name")
    kind: Annotated[
        Name, Field(max_length=40, description="message kind: text, postback, button, image…")
    ] = "text"
    attachments: list[Annotated[Name, Field(max_length=40)]] = Field(default_factory=list, max_length=10)
    tags: list[TagName] = Field(
        default_factory=list, max_length=MAX_TAGS_PER_CONVERSATION, description="tags it already has"
    )
    assignee: Name | None = Field(None, description="its current assignee")
    read_history: StrictBool = True

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("give a time zone (Z or +hh:mm)")
        # Compared without converting: an aware datetime near year 1 or 9999 may not convert to UTC.
        if not EARLIEST_AT <= value < LATEST_AT:
            raise ValueError("give a time from 1970-01-01T00:00:00Z up to (not including) the year 2100")
        return value


# -- responses ---------------------------------------------------------------------------------------
class Csat(BaseModel):
    score: int | None
    comment: str | None = None


class MessageOut(BaseModel):
    """A message of a conversation, in platform-time order."""

    id: str
    direction: Literal["in", "out"]
    text: str
    platform_message_id: str
    sent_at: IsoTime
    kind: str
    author: str | None = Field(
        None, description="out only: the agent's sub, `carehooks` (automatic) or `platform-inbox` (an echo)"
    )
    status: str | None = Field(None, description="out only: sent, delivered, read or failed")
    attachments: list[AttachmentOut] = Field(default_factory=list)
    decisions: dict[str, Any] | None = Field(None, description="which rules fired on this message, and why")
    hidden: bool = Field(False, description="comments: hidden from everyone but its author and their friends")
    hidden_by: str | None = Field(
        None, description="comments: `rule:<id>`, an agent's sub, or `platform-inbox`"
    )
    deleted: bool = Field(False, description="comments: removed by its author or the Page")
    edits: list[dict[str, Any]] = Field(
        default_factory=list, description="comments: earlier texts, oldest first (`text`, `until`)"
    )
    saved_reply_id: str | None = Field(None, description="out only: the saved reply it was rendered from")


class EventOut(BaseModel):
    """A change an agent made (assign, unassign, tags, priority, resolve, reopen)."""

    action: str
    at: IsoTime
    actor: str
    actor_email: str | None = None
    actor_name: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class ConversationOut(BaseModel):
    """The conversation resource (design §3)."""

    id: str
    channel: ChannelName
    account_id: str
    contact_id: str
    contact_name: str | None = None
    status: Status
    tags: list[str]
    priority: str
    assignee: str | None
    created_at: IsoTime
    last_activity_at: IsoTime | None = None
    first_response_at: IsoTime | None
    first_responder: str | None = None
    first_response_seconds: float | None = Field(
        None, description="from the customer's first message to a person's first reply (calendar time)"
    )
    last_responder: str | None = None
    resolved_at: IsoTime | None = None
    message_count: int = 0
    preview: str = ""
    sla_state: SlaState = "none"
    csat: Csat | None
    version: int = Field(description="send it back with a change to detect concurrent edits")
    public: bool = Field(False, description="a public comment thread (Facebook Page or Instagram comments)")
    linked_conversation_id: str | None = Field(
        None,
        description="public: the private conversation its private reply opened; private: the public "
        "thread it continues",
    )
    thread_id: str | None = Field(None, description="public: the top-level comment of the thread")
    post_id: str | None = Field(None, description="public: the post (or Instagram media) commented on")
    permalink: str | None = Field(None, description="public: the post's link, when the platform gives it")


class ConversationDetail(ConversationOut):
    """One conversation with its messages, its history of changes, SLA and survey state."""

    messages: list[MessageOut]
    events: list[EventOut]
    sla: dict[str, Any] | None = Field(None, description="the SLA clocks' state, when a policy applies")
    survey: dict[str, Any] | None = Field(None, description="the CSAT survey's state, when there is one")


class ConversationList(BaseModel):
    items: list[ConversationOut]
    next: str | None = Field(description="pass as `cursor` for the next page; null at the end")


class ReplyResult(BaseModel):
    message: MessageOut
    conversation: ConversationOut
    details: dict[str, str] = Field(default_factory=dict, description="what the channel did to the text")
    messages: list[MessageOut] = Field(
        default_factory=list,
        description="every platform message the reply went out as, in order (one, unless attachments "
        "had to go separately: Messenger and Instagram send the text and each attachment on their own)",
    )


class PrivateReplyResult(BaseModel):
    """The private reply as stored in the private conversation, and both linked conversations."""

    message: MessageOut
    conversation: ConversationOut = Field(description="the public conversation")
    private_conversation: ConversationOut = Field(description="where the private reply continues")


class ModerationResult(BaseModel):
    """A comment as it is after hiding or unhiding it, and its conversation."""

    comment: MessageOut
    conversation: ConversationOut


class RulesTestResult(BaseModel):
    """The rules' answer for a message: ``carehooks rules test --json`` prints the same."""

    decision: dict[str, Any] = Field(
        description="matched rules, each action (ran or skipped, and why), tags added and removed, "
        "priority, assignment, acknowledgement plan, configuration version"
    )
    tags: list[str]
    ack: dict[str, Any] | None = Field(None, description="the acknowledgement that would be sent")
    ack_skipped: str | None = Field(None, description="why no acknowledgement would be sent")
    notes: list[str] = Field(default_factory=list)


class FieldError(BaseModel):
    field: str = Field(description="where and which: `body.text`, `query.limit`, `path.conversation_id`")
    reason: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[FieldError] | None = None


class ErrorBody(BaseModel):
    """Every error answer of the API's function: ``{"error": {"code", "message", "fields"?}}``."""

    error: ErrorDetail


class GatewayMessage(BaseModel):
    """An answer API Gateway gives itself, before the function runs: ``{"message": "Unauthorized"}``
    from the JWT authorizer, ``{"message": "Request Entity Too Large"}`` over 10 MB. Its body cannot
    be changed (HTTP APIs have no gateway responses to customise)."""

    message: str


class GatewayOrErrorBody(RootModel[GatewayMessage | ErrorBody]):
    """API Gateway's own answer, or the function's error body, for a refusal both can give."""
