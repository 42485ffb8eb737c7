"""The ``surveys`` section of the configuration document (CSAT surveys after resolution).

Example (YAML)::

    surveys:
      delay_minutes: 60            # ask this long after the conversation is resolved
      channels: [messenger, instagram, whatsapp, telegram, sms, twilio_whatsapp, x]
      tags: []                     # when set, only conversations with one of these tags are surveyed
      exclude_tags: [spam]
      capture_window_hours: 72     # a rating is accepted this long after the survey was sent
      sample_rate: 1.0             # share of eligible conversations asked (by conversation id hash)
      cooldown_days: 30            # never ask the same customer twice within this many days
      templates:                   # outside WhatsApp's 24 h window, only an approved template may be sent
        whatsapp: {name: csat_survey, language: en_US}
      low_score: {threshold: 2, tag: csat-low, alert: true}
      texts:
        en: {question: "How did we do today?"}
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from carehooks.domain.models import Channel, Conversation

SCORES = (1, 2, 3, 4, 5)

DEFAULT_LABELS = {5: "Excellent", 4: "Good", 3: "Okay", 2: "Poor", 1: "Very poor"}

# WhatsApp reply-button titles are limited to 20 characters; Messenger quick replies likewise.
MAX_LABEL_CHARS = 20


class SurveyTexts(BaseModel):
    """What the customer reads, in one language. ``{link}`` in ``link_hint`` is the signed survey link."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str = "How did we do today? Please rate this conversation."
    page_title: str = "Your feedback"
    labels: dict[int, str] = Field(default_factory=lambda: dict(DEFAULT_LABELS))
    reply_hint: str = "Reply with a number from 1 (very poor) to 5 (excellent)."
    link_hint: str = "Or answer here: {link}"
    comment_label: str = "Anything you would like to add? (optional)"
    submit: str = "Send"
    thanks: str = "Thank you for your feedback!"
    already_answered: str = "You have already answered this survey. Thank you!"
    expired: str = "This survey link has expired. Thank you for your interest."
    invalid: str = "This survey link is not valid. Please use the link from your message."
    unavailable: str = "Surveys are unavailable right now. Please try again later."
    choose_score: str = "Please choose a score from 1 to 5."
    comment_too_long: str = "Your comment is too long. Please shorten it and send it again."
    reopened: str = (
        "This conversation is open again, so it cannot be rated right now. "
        "You can use this link once it is resolved."
    )

    @field_validator("labels")
    @classmethod
    def _labels_cover_the_scale(cls, labels: dict[int, str]) -> dict[int, str]:
        if set(labels) != set(SCORES):
            raise ValueError("labels must name each score 1 to 5")
        too_long = [text for text in labels.values() if not text or len(text) > MAX_LABEL_CHARS]
        if too_long:
            raise ValueError(f"labels must be 1 to {MAX_LABEL_CHARS} characters: {too_long}")
        return labels


class SurveyTemplate(BaseModel):
    """An approved template for surveys outside the messaging window (WhatsApp name / Twilio ContentSid)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    language: str = "en_US"
    # Values for the template's placeholders, in order; ``{contact_name}`` is replaced by the
    # customer's display name (or "there").
    parameters: list[str] = Field(default_factory=list)


class LowScoreConfig(BaseModel):
    """What a low rating does: tag the conversation and/or email operations."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: int = Field(2, ge=1, le=5)
    tag: str | None = "csat-low"
    alert: bool = True
    recipients: list[str] = Field(default_factory=list)


class SurveyLinkConfig(BaseModel):
    """The signed fallback link (``GET /survey/{token}``) added to text-only surveys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    expires_hours: float = Field(168.0, gt=0)


class SurveyConfig(BaseModel):
    """When, where and how carehooks asks for a CSAT rating."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    delay_minutes: float = Field(60.0, ge=0)
    channels: list[Channel] = Field(default_factory=lambda: list(Channel))
    tags: list[str] = Field(default_factory=list)
    exclude_tags: list[str] = Field(default_factory=list)
    default_language: str = "en"
    texts: dict[str, SurveyTexts] = Field(default_factory=lambda: {"en": SurveyTexts()})
    capture_window_hours: float = Field(72.0, gt=0)
    sample_rate: float = Field(1.0, ge=0, le=1)
    cooldown_days: float = Field(30.0, ge=0)
    # A survey that could not be sent (rate limits, outages) is retried every run until this long
    # after it was due, then recorded as skipped.
    give_up_after_hours: float = Field(24.0, gt=0)
    templates: dict[Channel, SurveyTemplate] = Field(default_factory=dict)
    low_score: LowScoreConfig = Field(default_factory=LowScoreConfig)
    link: SurveyLinkConfig = Field(default_factory=SurveyLinkConfig)

    @model_validator(mode="after")
    def _default_language_has_texts(self) -> Self:
        if self.default_language not in self.texts:
            raise ValueError(f"texts must include the default language {self.default_language!r}")
        return self

    def texts_for(self, conv: Conversation) -> SurveyTexts:
        """The texts in the conversation's language (``extra["language"]``, e.g. ``es`` or ``es-MX``)."""
        language = str(conv.extra.get("language") or "").strip()
        for candidate in (language, language.split("-")[0].split("_")[0].lower()):
            if candidate and candidate in self.texts:
                return self.texts[candidate]
        return self.texts[self.default_language]
