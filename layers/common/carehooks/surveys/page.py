"""The survey link fallback: ``GET /survey/{token}`` shows a small form, ``POST`` records the answer.

Every outcome is a readable page with a fitting status (never a 500): a forged token 404, an expired
one 410, an answered survey 409 on POST, a missing score 400, no signing key 503.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from carehooks.domain.models import Conversation
from carehooks.notify.render import environment
from carehooks.store import Store
from carehooks.surveys.answers import MAX_COMMENT_CHARS, record_answer
from carehooks.surveys.config import SCORES, SurveyConfig, SurveyTexts
from carehooks.surveys.token import ExpiredTokenError, SigningKeyMissingError, TokenError, verify


@dataclass(frozen=True)
class Page:
    status: int
    html: str


def _render(**context: Any) -> str:
    return environment("carehooks.surveys").get_template("survey.html").render(**context)


def _notice(status: int, texts: SurveyTexts, message: str, lang: str) -> Page:
    html = _render(form=False, title=texts.page_title, message=message, lang=lang)
    return Page(status, html)


def _form(
    texts: SurveyTexts, lang: str, error: str | None = None, selected: int | None = None, comment: str = ""
) -> str:
    return _render(
        form=True,
        lang=lang,
        title=texts.page_title,
        question=texts.question,
        choices=[(score, texts.labels[score]) for score in sorted(SCORES, reverse=True)],
        comment_label=texts.comment_label,
        submit=texts.submit,
        error=error,
        selected=selected,
        comment=comment,
    )


def _language(conv: Conversation, config: SurveyConfig) -> str:
    language = str(conv.extra.get("language") or config.default_language)
    return language.split("_", maxsplit=1)[0]


def notice_page(status: int, config: SurveyConfig, message: Callable[[SurveyTexts], str]) -> Page:
    """A page with one message in the default language (for failures before the token is read)."""
    texts = config.texts[config.default_language]
    return _notice(status, texts, message(texts), config.default_language)


def survey_page(
    store: Store,
    token: str,
    method: str,
    form: dict[str, str],
    now: datetime,
    config: SurveyConfig,
    key: str,
) -> Page:
    """Answer one request to the survey link."""
    opened = _open(store, token, now, config, key)
    if isinstance(opened, Page):
        return opened
    conv, texts, lang = opened
    answered = bool(conv.csat and conv.csat.get("score") is not None)
    if method == "GET":
        if answered:
            return _notice(200, texts, texts.already_answered, lang)
        return Page(200, _form(texts, lang))
    if method == "POST":
        if answered:
            return _notice(409, texts, texts.already_answered, lang)
        return _submit(store, conv, texts, lang, form, now, config)
    return _notice(405, texts, texts.invalid, lang)


def _open(
    store: Store, token: str, now: datetime, config: SurveyConfig, key: str
) -> Page | tuple[Conversation, SurveyTexts, str]:
    """The conversation a token opens, or the page explaining why it opens nothing."""
    try:
        claims = verify(token, key, now)
    except SigningKeyMissingError:
        return notice_page(503, config, lambda t: t.unavailable)
    except ExpiredTokenError:
        return notice_page(410, config, lambda t: t.expired)
    except TokenError:
        return notice_page(404, config, lambda t: t.invalid)
    conv = store.get_conversation(claims.conversation_id)
    if conv is None:
        return notice_page(404, config, lambda t: t.invalid)
    return conv, config.texts_for(conv), _language(conv, config)


def _submit(
    store: Store,
    conv: Conversation,
    texts: SurveyTexts,
    lang: str,
    form: dict[str, str],
    now: datetime,
    config: SurveyConfig,
) -> Page:
    comment = (form.get("comment") or "")[:MAX_COMMENT_CHARS]
    raw_score = (form.get("score") or "").strip()
    score = int(raw_score) if raw_score.isdigit() and len(raw_score) == 1 else 0
    if score not in SCORES:
        return Page(400, _form(texts, lang, error=texts.choose_score, comment=comment))
    outcome = record_answer(store, conv.id, score, comment, "link", now, config)
    if outcome == "recorded":
        return _notice(200, texts, texts.thanks, lang)
    if outcome == "already_answered":
        return _notice(409, texts, texts.already_answered, lang)
    return _notice(404, texts, texts.invalid, lang)
