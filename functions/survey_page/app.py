"""SurveyPageFunction: ``GET/POST /survey/{token}``, the signed CSAT link for customers.

Always answers a page, never a 500: unexpected failures become a 503 "try again later" page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from carehooks import clock, http
from carehooks.config.surveys import SurveyConfig
from carehooks.observability import logger, metrics
from carehooks.surveys.config import survey_config
from carehooks.surveys.page import Page, notice_page, survey_page
from carehooks.surveys.token import signing_key
from carehooks.wiring.store import get_store

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


def _respond(page: Page) -> dict[str, Any]:
    return {"statusCode": page.status, "headers": dict(HEADERS), "body": page.html}


def _token(event: dict[str, Any]) -> str:
    token = (event.get("pathParameters") or {}).get("token")
    if token is None:
        token = str(event.get("rawPath") or "").rsplit("/", 1)[-1]
    return str(token)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        config = survey_config()
    except Exception:
        # A broken configuration document must not turn the customer's page into an error.
        logger.exception("survey configuration unavailable; using defaults")
        config = SurveyConfig()
    try:
        method = http.method(event)
        form: dict[str, str] = {}
        if method == "POST":
            raw = http.raw_body(event)
            if len(raw) > MAX_FORM_BYTES:
                return _respond(notice_page(413, config, lambda t: t.invalid))
            form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        page = survey_page(get_store(), _token(event), method, form, clock.now(), config, signing_key())
    except http.RequestBodyError:
        page = notice_page(400, config, lambda t: t.invalid)
    except Exception:
        logger.exception("survey page failed")
        page = notice_page(503, config, lambda t: t.unavailable)
    if page.status >= 400:
        logger.info("survey page refused", extra={"status": page.status})
    return _respond(page)
