"""What the survey says on each channel, or why it cannot be sent (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from carehooks.channels.traits import traits_for
from carehooks.channels.window import decide
from carehooks.config.surveys import MAX_LABEL_CHARS, SCORES, SurveyConfig, SurveyTexts
from carehooks.domain.models import Conversation
from carehooks.outbound.models import Choice, OutboundMessage, TemplateRef

CHOICE_PREFIX = "csat_"


@dataclass(frozen=True)
class SurveyPlan:
    """Either a message to send (``via`` says how) or the reason nothing may be sent."""

    message: OutboundMessage | None = None
    via: str = ""
    skip_reason: str | None = None


def choices(texts: SurveyTexts) -> tuple[Choice, ...]:
    """Tappable answers, best first; the payload (``csat_<n>``) carries the score."""
    out: list[Choice] = []
    for score in sorted(SCORES, reverse=True):
        title = f"{score} ⭐ {texts.labels[score]}"
        out.append(
            Choice(
                id=f"{CHOICE_PREFIX}{score}", title=title if len(title) <= MAX_LABEL_CHARS else f"{score} ⭐"
            )
        )
    return tuple(out)


def plan_survey(conv: Conversation, config: SurveyConfig, now: datetime, link: str | None) -> SurveyPlan:
    """The survey for this conversation now: in-channel inside the window (native choices where the
    platform has them, "reply 1-5" text elsewhere), a template outside it where one is configured,
    otherwise nothing, with the reason. The window rules are the channels' own
    (:func:`carehooks.channels.window.decide`), so a survey is never planned that ``deliver`` refuses."""
    texts = config.texts_for(conv)
    origin = f"survey:{conv.id}"
    traits = traits_for(conv.channel)
    # Tappable answers (quick replies, reply buttons or list, inline keyboard) where the platform has
    # them; elsewhere "reply 1-5" text.
    native = traits.native_choices
    lines = [texts.question]
    if not native:
        lines.append(texts.reply_hint)
        if link:
            lines.append(texts.link_hint.replace("{link}", link))
    message = OutboundMessage(
        text="\n".join(lines),
        kind="survey",
        author="carehooks",
        origin_tag=origin,
        choices=choices(texts) if native else (),
    )
    decision = decide(conv.channel, conv.last_inbound_at, message, now)
    if decision.allowed:
        return SurveyPlan(message=message, via="message")
    template = config.templates.get(conv.channel)
    if template is not None and traits.templates:
        name = conv.contact_name or "there"
        parameters = tuple(
            p.replace("{contact_name}", name).replace("{link}", link or "") for p in template.parameters
        )
        templated = OutboundMessage(
            text=texts.question,
            kind="survey",
            author="carehooks",
            origin_tag=origin,
            template=TemplateRef(name=template.name, language=template.language, parameters=parameters),
        )
        if decide(conv.channel, conv.last_inbound_at, templated, now).allowed:
            return SurveyPlan(message=templated, via="template")
    reason = decision.reason or "the channel's messaging window is closed"
    if traits.templates and template is None:
        reason += f"; no survey template is configured for {conv.channel}"
    return SurveyPlan(skip_reason=reason)
