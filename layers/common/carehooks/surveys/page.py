"""The survey link fallback: ``GET /survey/{token}`` shows a small form, ``POST`` records the answer.

Every outcome is a readable page with a fitting status (never a 500): a forged token 404, an expired
one 410, an answered survey 409 on POST, a score that is not one ASCII digit of the scale 400, a body
too large 413 (the form again, saying the comment is too long), no signing key 503.

A rating counts only while the conversation is resolved. Once it is reopened (the customer wrote again,
or an agent reopened it), the page says so instead of the form (409 on POST) and records nothing, so no
low-rating email goes out about a conversation someone is working on; the same link works again once
the conversation is resolved, until it expires. The chat path has the same rule (a "5" that reaches an
open conversation is an ordinary message): a rating is about a resolved conversation.
A refusal is an exception mapped to its status by :func:`carehooks.web.errors.http_error`; the page
shows the notice :func:`refusal_page` picks for that status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from carehooks.config.surveys import SCORES, SurveyConfig, SurveyTexts
from carehooks.domain.models import Conversation
from carehooks.notify.render import environment
from carehooks.observability import logger
from carehooks.store import Store
from carehooks.surveys.answers import MAX_COMMENT_CHARS, record_answer
from carehooks.surveys.token import ExpiredTokenError, SigningKeyMissingError, TokenError, verify
from carehooks.web import events
from carehooks.web.errors import (
    GoneError,
    MalformedBodyError,
    ResourceNotFoundError,
    Translations,
    UnavailableError,
    http_error,
)

# The largest form a browser sends for the page: the textarea's maxlength counts UTF-16 units, and each
# unit is at most 3 UTF-8 bytes, 9 once percent-encoded (2,000 CJK characters: 18,000 bytes), plus the
# score and the field names. A larger body is not read.
MAX_FORM_BYTES = MAX_COMMENT_CHARS * 9 + 1024

HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    # The token is a capability: never leak it to another site through the Referer header.
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
}

# The link's own failures as HTTP errors (the mapper answers the rest; anything unforeseen is a 503).
REFUSALS: Translations = {
    events.RequestBodyError: lambda exc: MalformedBodyError(str(exc)),
    SigningKeyMissingError: lambda exc: UnavailableError(),
    ExpiredTokenError: lambda exc: GoneError(),
    TokenError: lambda exc: ResourceNotFoundError(),
}


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


def _refusal_text(status: int, texts: SurveyTexts) -> str:
    """The notice a refused request shows, by its mapped status: the one place a status picks its text."""
    if status == 503:
        return texts.unavailable
    if status == 410:
        return texts.expired
    if status == 413:
        return texts.comment_too_long
    return texts.invalid


def refusal_page(status: int, config: SurveyConfig) -> Page:
    """The notice for a refused request, in the default language (the token may not have been read)."""
    texts = config.texts[config.default_language]
    return _notice(status, texts, _refusal_text(status, texts), config.default_language)


def answer_link(
    event: dict[str, Any],
    load_config: Callable[[], SurveyConfig],
    open_store: Callable[[], Store],
    signing_key: Callable[[], str],
    now: Callable[[], datetime],
) -> dict[str, Any]:
    """Answer one API Gateway request to the survey link: always a page, never a 500."""
    config = _config(load_config)
    try:
        method = events.method(event)
        form = _form_fields(event, method)
        page = survey_page(open_store(), _token(event), method, form, now(), config, signing_key())
    except Exception as exc:
        error = http_error(exc, REFUSALS)
        if error is None:
            logger.exception("survey page failed")
            error = UnavailableError()
        page = refusal_page(error.status, config)
    if page.status >= 400:
        logger.info("survey page refused", extra={"status": page.status})
    return {"statusCode": page.status, "headers": dict(HEADERS), "body": page.html}


def _config(load_config: Callable[[], SurveyConfig]) -> SurveyConfig:
    try:
        return load_config()
    except Exception:
        # A broken configuration document must not turn the customer's page into an error.
        logger.exception("survey configuration unavailable; using defaults")
        return SurveyConfig()


def _form_fields(event: dict[str, Any], method: str) -> dict[str, str] | None:
    """The posted fields; None when the body is over :data:`MAX_FORM_BYTES` (it is not parsed)."""
    if method != "POST":
        return {}
    raw = events.raw_body(event)
    if len(raw) > MAX_FORM_BYTES:
        return None
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def _token(event: dict[str, Any]) -> str:
    token = (event.get("pathParameters") or {}).get("token")
    if token is None:
        token = str(event.get("rawPath") or "").rsplit("/", 1)[-1]
    return str(token)


def survey_page(
    store: Store,
    token: str,
    method: str,
    form: dict[str, str] | None,
    now: datetime,
    config: SurveyConfig,
    key: str,
) -> Page:
    """Answer one request to the survey link (a token that opens nothing raises, see :data:`REFUSALS`).

    ``form`` is None when the posted body was too large to read.
    """
    conv, texts, lang = _open(store, token, now, config, key)
    answered = bool(conv.csat and conv.csat.get("score") is not None)
    if method not in {"GET", "POST"}:
        return _notice(405, texts, texts.invalid, lang)
    status = 200 if method == "GET" else 409
    if answered:
        return _notice(status, texts, texts.already_answered, lang)
    if conv.status != "resolved":
        return _notice(status, texts, texts.reopened, lang)
    if method == "GET":
        return Page(200, _form(texts, lang))
    if form is None:
        return Page(413, _form(texts, lang, error=texts.comment_too_long))
    return _submit(store, conv, texts, lang, form, now, config)


def _open(
    store: Store, token: str, now: datetime, config: SurveyConfig, key: str
) -> tuple[Conversation, SurveyTexts, str]:
    """The conversation a token opens; a :class:`TokenError` or a 404 when it opens nothing."""
    claims = verify(token, key, now)
    conv = store.get_conversation(claims.conversation_id)
    if conv is None:
        raise ResourceNotFoundError("no conversation for this survey link")
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
    comment = form.get("comment") or ""
    if len(comment) > MAX_COMMENT_CHARS:
        return Page(
            413, _form(texts, lang, error=texts.comment_too_long, comment=comment[:MAX_COMMENT_CHARS])
        )
    score = page_score(form.get("score"))
    if score is None:
        return Page(400, _form(texts, lang, error=texts.choose_score, comment=comment))
    outcome = record_answer(store, conv.id, score, comment, "link", now, config, while_resolved=True)
    if outcome == "recorded":
        return _notice(200, texts, texts.thanks, lang)
    if outcome == "already_answered":
        return _notice(409, texts, texts.already_answered, lang)
    if outcome == "reopened":
        return _notice(409, texts, texts.reopened, lang)
    return _notice(404, texts, texts.invalid, lang)


# Exactly what the form's radio buttons send: one ASCII digit of the scale. Not " 5" (``score=+5``
# decodes to it), "+5", "05" or a full-width five (U+FF15), which int() and str.isdigit() would take as 5.
_PAGE_SCORES = {str(score): score for score in SCORES}


def page_score(value: str | None) -> int | None:
    """The score a posted form gives, or None when the value is not one of the scale's ASCII digits."""
    return _PAGE_SCORES.get(value or "")
