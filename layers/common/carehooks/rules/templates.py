"""Acknowledgement templates against the channels' limits: a check the configuration loader runs.

The configuration schema (``carehooks.config``) sits below the channels and cannot know their limits, so
this check, which reads them from :mod:`carehooks.channels.traits`, is handed to the loader
(``parse_document(text, source, checks=CHECKS)``, ``ConfigLoader(checks=CHECKS)``,
``loader.use_checks(CHECKS)``) and run by ``carehooks config validate``. A document it refuses is refused
like any other invalid one, with the same ``(path, reason)`` pairs.
"""

from __future__ import annotations

from carehooks.channels.traits import PUBLIC_TEXT_LIMIT, TRAITS
from carehooks.config.document import ConfigDocument
from carehooks.config.loader import Check
from carehooks.config.rules import PublicTexts, TemplateSet, TemplateTexts

# Pydantic's wording for a validator's ValueError: the same reasons as when the check was a validator.
_PREFIX = "Value error, "


def template_problems(document: ConfigDocument) -> list[tuple[str, str]]:
    """``(path, reason)`` for each template set with a text over a channel's limit (the first one found).

    Every channel's text (its override, else the set's text) must fit the channel's one-message limit;
    the public texts must fit the comment limit of every comment-thread channel.
    """
    problems: list[tuple[str, str]] = []
    for name, template in document.acknowledgement.templates.items():
        reason = _too_long(template)
        if reason is not None:
            problems.append((f"acknowledgement.templates.{name}", _PREFIX + reason))
    return problems


# How each platform's measure is said in a reason (a text is counted the way its platform counts it).
UNITS = {"utf16": "UTF-16 unit", "utf8_bytes": "byte", "x_weighted": "weighted character"}


def _too_long(template: TemplateSet) -> str | None:
    for channel, traits in TRAITS.items():
        limit = traits.text_limit
        override = template.channels.get(channel, TemplateTexts())
        for hours in ("in_hours", "out_of_hours"):
            generic: dict[str, str] = getattr(template, hours)
            specific: dict[str, str] = getattr(override, hours)
            for language in {*generic, *specific}:
                text = specific.get(language) or generic.get(language, "")
                size = traits.measure.size(text)
                if size > limit:
                    unit = UNITS.get(traits.measure.name, "character")
                    return (
                        f"the {hours} text in {language!r} has {size} {unit}s, over the "
                        f"{limit}-{unit} limit of {channel}: add a shorter one under "
                        f"channels.{channel}.{hours}"
                    )
    for hours in ("in_hours", "out_of_hours"):
        for language, text in getattr(template.public or PublicTexts(), hours).items():
            if len(text) > PUBLIC_TEXT_LIMIT:
                return (
                    f"the public {hours} text in {language!r} has {len(text)} characters, over the "
                    f"{PUBLIC_TEXT_LIMIT}-character limit of a comment"
                )
    return None


# The checks of the configuration document that need more than its schema.
CHECKS: tuple[Check, ...] = (template_problems,)
