"""Attachments in agent replies: the request and response models, and the checks before sending.

A reply's ``attachments`` are files sent by URL (``image`` or ``file``); the platform fetches them.
Refused with a 422 naming the field:

- by the model (no network): a URL that is not ``https``, carries a user or password, names
  ``localhost`` or a non-public IP literal (:func:`carehooks.outbound.public_urls.static_problem`);
- by :func:`checked_attachments`, once the conversation is known: a channel that cannot carry them
  (X, an SMS-only route, a public comment thread, a type or a count the channel does not take), and a
  host that resolves to a non-public address or does not resolve at all. A lookup that cannot be made
  now (timeout, temporary failure) is a 503: nothing was sent, and trying again may work.

Inbound attachments are shown as they were stored, plus ``type`` and ``url`` (:func:`attachment_out`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from carehooks.channels.traits import traits_for
from carehooks.domain.models import Conversation
from carehooks.outbound.media import refusal
from carehooks.outbound.models import MediaAttachment
from carehooks.outbound.public_urls import (
    MAX_URL_LENGTH,
    LookupUnavailableError,
    Resolver,
    host_of,
    resolved_problem,
    static_problem,
)
from carehooks.web.errors import InvalidInputError, UnavailableError

# The most attachments any channel takes in one reply (Twilio's 10 media per MMS); channels may take
# fewer (``MediaSupport.max_per_reply``), checked once the conversation is known.
MAX_ATTACHMENTS = 10
ATTACHMENTS_FIELD = "body.attachments"


def _acceptable_url(value: str) -> str:
    problem = static_problem(value)
    if problem:
        raise ValueError(problem)
    return value


AttachmentUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_URL_LENGTH),
    AfterValidator(_acceptable_url),
    Field(
        description="an https URL the platform fetches; never a private, loopback or link-local address",
        json_schema_extra={"format": "uri"},
    ),
]


class ReplyAttachment(BaseModel):
    """A file sent with a reply: the platform fetches ``url`` (an image is shown, a file downloaded)."""

    model_config = ConfigDict(extra="forbid")

    url: AttachmentUrl
    type: Literal["image", "file"] = Field(description="`image` (shown inline) or `file` (a document)")


class AttachmentOut(BaseModel):
    """An attachment of a message: ``type`` and ``url`` (null when the platform gives an id instead:
    WhatsApp and Telegram media), and what was stored with it (``kind``, ``media_id``, ``mime_type``)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="image, video, audio, file, location… (inbound: as the platform says)")
    url: str | None = None
    kind: str | None = Field(None, description="the kind as stored (the platform's own word)")
    media_id: str | None = None
    mime_type: str | None = None


def attachment_out(stored: dict[str, Any]) -> AttachmentOut:
    """A stored attachment (``{"kind", "url"?, "media_id"?, "mime_type"?}``) as the resource shows it."""
    kind = str(stored.get("kind") or "file")
    mime = stored.get("mime_type")
    kind_type = kind
    if kind == "media" and isinstance(mime, str):
        # Twilio names every attachment "media"; its content type says what it is.
        top = mime.split("/", 1)[0].lower()
        kind_type = top if top in ("image", "video", "audio") else "file"
    url = stored.get("url")
    return AttachmentOut(**{**stored, "type": kind_type, "url": url if isinstance(url, str) else None})


def checked_attachments(
    conv: Conversation, attachments: list[ReplyAttachment], resolve: Resolver
) -> tuple[MediaAttachment, ...]:
    """The attachments to send in ``conv``, or a 422 saying why they cannot go (503: cannot tell now)."""
    wanted = tuple(MediaAttachment(url=a.url, type=a.type) for a in attachments)
    if not wanted:
        return ()
    cannot = refusal(
        traits_for(conv.channel),
        wanted,
        business=conv.account_id,
        customer=conv.contact_id,
        public=conv.public,
    )
    if cannot:
        raise InvalidInputError(cannot, [{"field": ATTACHMENTS_FIELD, "reason": cannot}])
    problems: list[dict[str, str]] = []
    seen: dict[str, str | None] = {}
    for index, attachment in enumerate(wanted):
        host = host_of(attachment.url)
        if host not in seen:
            try:
                seen[host] = resolved_problem(host, resolve)
            except LookupUnavailableError as exc:
                raise UnavailableError(
                    f"could not check where an attachment URL points ({host!r}); nothing was sent, try again"
                ) from exc
        problem = seen[host]
        if problem:
            # Fields name no list index (as the model's own errors); the reason says which one.
            problems.append(
                {"field": f"{ATTACHMENTS_FIELD}.url", "reason": f"attachment {index + 1}: {problem}"}
            )
    if problems:
        raise InvalidInputError("an attachment URL does not point at a public address", problems)
    return wanted
