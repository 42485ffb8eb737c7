"""The survey link fallback: ``GET /survey/{token}`` shows a small form, ``POST`` records the answer.

Every outcome is a readable page with a fitting status (never a 500): a forged token 404, an expired
one 410, an answered survey 409 on POST, a missing score 400, a body too large 413, no signing key 503.
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
    PayloadTooLargeError,
    ResourceNotFoundError,
    Translations,
    UnavailableError,
    http_error,
)

MAX_FORM_BYTES = 16_384

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


def _form_fields(event: dict[str, Any], method: str) -> dict[str, str]:
    if method != "POST":
        return {}
    raw = events.raw_body(event)
    if len(raw) > MAX_FORM_BYTES:
        raise PayloadTooLargeError(f"{len(raw)} bytes")
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
    form: dict[str, str],
    now: datetime,
    config: SurveyConfig,
    key: str,
) -> Page:
    """Answer one request to the survey link (a token that opens nothing raises, see :data:`REFUSALS`)."""
    conv, texts, lang = _open(store, token, now, config, key)
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
