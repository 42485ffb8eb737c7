"""The survey link (``GET/POST /survey/{token}``) through its handler under moto."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from carehooks import clock
from carehooks.config.surveys import SurveyConfig, SurveyTexts
from carehooks.store import Store
from carehooks.surveys.token import sign
from carehooks.wiring import survey_page as survey_wiring
from carehooks.wiring.store import get_store
from tests.helpers import FakeContext, http_event, load_handler
from tests.integration.conftest import Aws
from tests.integration.survey_support import customer_writes, resolve, use_survey_config

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = "survey-signing-key-for-tests-0123456789"


@pytest.fixture
def store(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Store:
    configure(monkeypatch, SurveyConfig())
    monkeypatch.setenv("SURVEY_SIGNING_KEY", KEY)
    return get_store()


def configure(monkeypatch: pytest.MonkeyPatch, config: SurveyConfig) -> None:
    use_survey_config(monkeypatch, config)
    monkeypatch.setattr(survey_wiring, "survey_config", lambda: config)


def resolved_id(store: Store) -> str:
    with clock.frozen(T0):
        conv = customer_writes(store, T0)
        resolve(store, conv.id, T0 + timedelta(minutes=5))
    return conv.id


def call(method: str, token: str, form: dict[str, str] | None = None, at: datetime = T0) -> dict[str, Any]:
    body = urlencode(form) if form is not None else None
    event = http_event(
        method,
        f"/survey/{token}",
        body,
        headers={"Content-Type": "application/x-www-form-urlencoded"} if body else None,
    )
    event["pathParameters"] = {"token": token}
    with clock.frozen(at + timedelta(hours=2)):
        result: dict[str, Any] = load_handler("survey_page").handler(event, FakeContext())
    return result


def token_for(conv_id: str, days: int = 7) -> str:
    return sign(conv_id, T0 + timedelta(days=days), KEY)


def test_a_valid_link_shows_an_accessible_form(store: Store) -> None:
    response = call("GET", token_for(resolved_id(store)))
    html = response["body"]
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert response["headers"]["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in response["headers"]["Content-Security-Policy"]
    assert '<html lang="en">' in html
    assert "<legend>How did we do today? Please rate this conversation.</legend>" in html
    assert re.findall(r'name="score" value="(\d)"', html) == ["5", "4", "3", "2", "1"]
    assert '<label for="comment">' in html
    assert '<button type="submit">Send</button>' in html


def test_posting_a_score_records_it_once(store: Store) -> None:
    conv_id = resolved_id(store)
    token = token_for(conv_id)
    first = call("POST", token, {"score": "4", "comment": "Fast and kind"})
    assert first["statusCode"] == 200
    assert "Thank you for your feedback!" in first["body"]
    conv = store.get_conversation(conv_id)
    assert conv is not None
    assert conv.csat is not None
    assert (conv.csat["score"], conv.csat["comment"], conv.csat["via"]) == (4, "Fast and kind", "link")
    assert conv.status == "resolved"
    # A reused token: a clear page, and the first answer stands
    again = call("POST", token, {"score": "1"})
    assert again["statusCode"] == 409
    assert "already answered" in again["body"]
    assert call("GET", token)["statusCode"] == 200
    assert "already answered" in call("GET", token)["body"]
    conv = store.get_conversation(conv_id)
    assert conv is not None
    assert conv.csat is not None
    assert conv.csat["score"] == 4


@pytest.mark.parametrize("form", [{}, {"score": "0"}, {"score": "6"}, {"score": "five"}, {"score": "44"}])
def test_a_missing_or_invalid_score_shows_the_form_again_with_the_error(
    store: Store, form: dict[str, str]
) -> None:
    conv_id = resolved_id(store)
    response = call("POST", token_for(conv_id), {**form, "comment": "<script>alert(1)</script>"})
    assert response["statusCode"] == 400
    assert 'role="alert"' in response["body"]
    assert "Please choose a score from 1 to 5." in response["body"]
    # What the customer typed comes back escaped, never as markup
    assert "<script>" not in response["body"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response["body"]
    conv = store.get_conversation(conv_id)
    assert conv is not None
    assert conv.csat is None


def test_a_forged_token_gets_a_clear_page(store: Store) -> None:
    conv_id = resolved_id(store)
    forged = sign(conv_id, T0 + timedelta(days=7), "somebody-elses-key-0123456789")
    for token in (forged, "not-a-token", "a.b", "%00"):
        response = call("POST", token, {"score": "5"})
        assert response["statusCode"] == 404
        assert "This survey link is not valid." in response["body"]
    conv = store.get_conversation(conv_id)
    assert conv is not None
    assert conv.csat is None


def test_an_expired_token_gets_a_clear_page(store: Store) -> None:
    response = call("GET", sign(resolved_id(store), T0 + timedelta(hours=1), KEY))
    assert response["statusCode"] == 410
    assert "This survey link has expired." in response["body"]


def test_a_token_for_an_unknown_conversation_is_not_valid(store: Store) -> None:
    response = call("GET", token_for("01JNOSUCHCONVERSATION00000"))
    assert response["statusCode"] == 404


def test_without_a_signing_key_the_page_fails_closed(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    token = token_for(resolved_id(store))
    monkeypatch.delenv("SURVEY_SIGNING_KEY")
    monkeypatch.delenv("SURVEY_SIGNING_SECRET_ID", raising=False)
    response = call("POST", token, {"score": "5"})
    assert response["statusCode"] == 503
    assert "Surveys are unavailable right now." in response["body"]


def test_a_storage_failure_is_a_page_not_a_500(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    token = token_for(resolved_id(store))

    def broken() -> Store:
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(survey_wiring, "get_store", broken)
    response = call("GET", token)
    assert response["statusCode"] == 503
    assert "<html" in response["body"]


def test_an_oversized_form_is_refused(store: Store) -> None:
    response = call("POST", token_for(resolved_id(store)), {"score": "5", "comment": "x" * 20_000})
    assert response["statusCode"] == 413


def test_the_page_speaks_the_conversation_language(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    spanish = SurveyTexts(
        question="¿Qué tal lo hicimos?",
        labels={5: "Excelente", 4: "Bien", 3: "Regular", 2: "Mal", 1: "Muy mal"},
        submit="Enviar",
    )
    configure(monkeypatch, SurveyConfig(texts={"en": SurveyTexts(), "es": spanish}))
    conv_id = resolved_id(store)
    conv = store.get_conversation(conv_id)
    assert conv is not None
    conv.extra["language"] = "es"
    store.save_conversation(conv)
    html = call("GET", token_for(conv_id))["body"]
    assert '<html lang="es">' in html
    assert "¿Qué tal lo hicimos?" in html
    assert "Enviar" in html


def post_raw(token: str, body: str, at: datetime = T0) -> dict[str, Any]:
    """A POST with the body exactly as given (what a hand-made request sends)."""
    event = http_event(
        "POST", f"/survey/{token}", body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    event["pathParameters"] = {"token": token}
    with clock.frozen(at + timedelta(hours=2)):
        result: dict[str, Any] = load_handler("survey_page").handler(event, FakeContext())
    return result


@pytest.mark.parametrize(
    "body",
    [
        "score=+5",  # form encoding: " 5"
        "score=%2B5",  # "+5"
        "score=%EF%BC%95",  # full-width five, U+FF15
        "score=%D9%A5",  # Arabic-Indic five, U+0665
        "score=05",
        "score=5%20",
        "score=%205",
        "score=4&score=9",  # the last value counts, and 9 is off the scale
    ],
)
def test_only_an_ascii_digit_of_the_scale_is_a_score(store: Store, body: str) -> None:
    conv_id = resolved_id(store)
    response = post_raw(token_for(conv_id), body)
    assert response["statusCode"] == 400
    assert "Please choose a score from 1 to 5." in response["body"]
    conv = store.get_conversation(conv_id)
    assert conv is not None
    assert conv.csat is None


def test_an_oversized_form_says_the_comment_is_too_long(store: Store) -> None:
    conv_id = resolved_id(store)
    response = call("POST", token_for(conv_id), {"score": "5", "comment": "x" * 40_000})
    assert response["statusCode"] == 413
    assert "Your comment is too long." in response["body"]
    assert "not valid" not in response["body"]
    # The form comes back, so the customer can shorten the comment and send it again
    assert re.findall(r'name="score" value="(\d)"', response["body"]) == ["5", "4", "3", "2", "1"]
    conv = store.get_conversation(conv_id)
    assert conv is not None
    assert conv.csat is None


def test_a_comment_over_the_limit_is_refused_not_cut(store: Store) -> None:
    conv_id = resolved_id(store)
    response = call("POST", token_for(conv_id), {"score": "5", "comment": "y" * 2001})
    assert response["statusCode"] == 413
    assert "Your comment is too long." in response["body"]
    conv = store.get_conversation(conv_id)
    assert conv is not None
    assert conv.csat is None


def test_a_full_length_comment_in_any_script_is_accepted(store: Store) -> None:
    # 2,000 CJK characters (what the textarea allows) are 18,000 bytes once form-encoded
    conv_id = resolved_id(store)
    response = call("POST", token_for(conv_id), {"score": "5", "comment": "谢" * 2000})
    assert response["statusCode"] == 200
    conv = store.get_conversation(conv_id)
    assert conv is not None
    assert conv.csat is not None
    assert conv.csat["comment"] == "谢" * 2000


def test_a_reopened_conversation_is_not_rated_and_alerts_nobody(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    alerts: list[str] = []
    monkeypatch.setattr("carehooks.surveys.alerts.email_ops", lambda conv, config: alerts.append(conv.id))
    conv_id = resolved_id(store)
    token = token_for(conv_id)
    # Given the customer wrote again after the resolution: the conversation is open again
    with clock.frozen(T0 + timedelta(hours=1)):
        reopened = customer_writes(store, T0 + timedelta(hours=1), "it still has not arrived")
    assert (reopened.id, reopened.status) == (conv_id, "open")
    # When they open the survey link, or post a rating from a page opened earlier
    shown = call("GET", token)
    posted = call("POST", token, {"score": "1", "comment": "useless"})
    # Then the page says the conversation is open again; nothing is recorded and nobody is emailed
    assert shown["statusCode"] == 200
    assert "This conversation is open again" in shown["body"]
    assert 'name="score"' not in shown["body"]
    assert posted["statusCode"] == 409
    assert "This conversation is open again" in posted["body"]
    conv = store.get_conversation(conv_id)
    assert conv is not None
    assert (conv.status, conv.csat) == ("open", None)
    assert "csat-low" not in conv.tags
    assert alerts == []
    # Once it is resolved again, the same link takes the rating
    resolve(store, conv_id, T0 + timedelta(hours=1, minutes=30))
    again = call("POST", token, {"score": "2"})
    assert again["statusCode"] == 200
    conv = store.get_conversation(conv_id)
    assert conv is not None
    assert conv.csat is not None
    assert conv.csat["score"] == 2
    assert alerts == [conv_id]


def test_a_reopen_racing_the_rating_wins(store: Store) -> None:
    # The page read the conversation as resolved; a reopen lands before the rating's write
    from carehooks.surveys.answers import record_answer

    conv_id = resolved_id(store)
    with clock.frozen(T0 + timedelta(hours=1)):
        customer_writes(store, T0 + timedelta(hours=1), "one more thing")
    outcome = record_answer(
        store, conv_id, 1, None, "link", T0 + timedelta(hours=2), SurveyConfig(), while_resolved=True
    )
    assert outcome == "reopened"
    conv = store.get_conversation(conv_id)
    assert conv is not None
    assert conv.csat is None
