"""The shared HTTP session: which responses are retried, Retry-After, timeouts, network errors."""

from __future__ import annotations

import pytest
import requests
import responses
from urllib3.exceptions import ConnectTimeoutError
from urllib3.response import HTTPResponse

from carehooks.outbound import http
from carehooks.outbound.models import OutcomeUnknownError, TransientError

URL = "https://platform.test/send"


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(http, "_sleep", waits.append)
    return waits


@responses.activate
def test_a_5xx_to_an_idempotent_request_is_retried_until_it_succeeds() -> None:
    responses.get(URL, status=503)
    responses.get(URL, status=502)
    responses.get(URL, json={"ok": True})
    response = http.request("GET", URL, platform="Test")
    assert response.status_code == 200
    assert len(responses.calls) == 3


@responses.activate
def test_a_post_marked_idempotent_is_retried_on_5xx() -> None:
    responses.post(URL, status=500)
    responses.post(URL, json={"ok": True})
    assert http.request("POST", URL, platform="Test", json={}, idempotent=True).status_code == 200
    assert len(responses.calls) == 2


@responses.activate
def test_a_persistent_5xx_to_an_idempotent_request_is_returned_after_the_last_retry() -> None:
    responses.get(URL, status=500)
    response = http.request("GET", URL, platform="Test")
    assert response.status_code == 500
    assert len(responses.calls) == 1 + http.MAX_RETRIES


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@responses.activate
def test_a_5xx_to_a_send_is_an_unknown_outcome_never_sent_twice(status: int) -> None:
    # Given a platform that fails after the send's body reached it (no send API takes an idempotency key)
    responses.post(URL, status=status)
    responses.post(URL, json={"ok": True})
    # When the send is made, Then it goes out once, and its outcome is unknown (not retryable)
    with pytest.raises(OutcomeUnknownError, match="may or may not have been sent") as raised:
        http.request("POST", URL, platform="Test", json={})
    assert len(responses.calls) == 1
    assert raised.value.retryable is False
    assert raised.value.platform_code == str(status)


def test_only_a_refusal_is_retried_for_sends_and_server_errors_for_idempotent_calls() -> None:
    assert http.retry_policy().status_forcelist == {429}
    assert http.retry_policy(idempotent=True).status_forcelist == {429, 500, 502, 503, 504}


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
@responses.activate
def test_a_client_error_is_never_retried(status: int) -> None:
    responses.post(URL, status=status, json={"error": "no"})
    assert http.request("POST", URL, platform="Test", json={}).status_code == status
    assert len(responses.calls) == 1


@responses.activate
def test_a_429_with_a_short_retry_after_is_retried() -> None:
    responses.post(URL, status=429, headers={"Retry-After": "1"})
    responses.post(URL, json={"ok": True})
    assert http.request("POST", URL, platform="Test", json={}).status_code == 200
    assert len(responses.calls) == 2


@responses.activate
def test_a_429_with_a_long_retry_after_is_handed_back_not_slept() -> None:
    responses.post(URL, status=429, headers={"Retry-After": "120"})
    response = http.request("POST", URL, platform="Test", json={})
    assert response.status_code == 429
    assert len(responses.calls) == 1
    assert http.retry_after(response) == 120


@responses.activate
def test_a_connection_error_becomes_a_transient_error() -> None:
    responses.post(URL, body=requests.ConnectionError("refused"))
    with pytest.raises(TransientError, match="could not be reached"):
        http.request("POST", URL, platform="Test", json={})


@responses.activate
def test_a_read_timeout_is_an_unknown_outcome_never_a_retryable_one() -> None:
    responses.post(URL, body=requests.ReadTimeout("slow"))
    with pytest.raises(OutcomeUnknownError, match="may or may not have been sent") as caught:
        http.request("POST", URL, platform="Test", json={})
    assert not caught.value.retryable


@responses.activate
def test_a_connection_dropped_after_sending_is_an_unknown_outcome() -> None:
    from urllib3.exceptions import ProtocolError

    responses.post(
        URL, body=requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError()))
    )
    with pytest.raises(OutcomeUnknownError, match="may or may not have been sent"):
        http.request("POST", URL, platform="Test", json={})


@responses.activate
def test_every_request_has_connect_and_read_timeouts() -> None:
    responses.post(URL, json={})
    http.request("POST", URL, platform="Test", json={})
    assert responses.calls[0].request.req_kwargs["timeout"] == (http.CONNECT_TIMEOUT, http.READ_TIMEOUT)  # type: ignore[attr-defined]


def test_the_policy_waits_what_retry_after_says(no_waiting: list[float]) -> None:
    policy = http.retry_policy()
    policy.sleep(HTTPResponse(status=429, headers={"Retry-After": "3"}))
    assert no_waiting == [3]


def test_the_policy_backs_off_exponentially_with_jitter(no_waiting: list[float]) -> None:
    policy = http.retry_policy()
    for _ in range(3):
        policy = policy.increment("POST", URL, error=ConnectTimeoutError("refused"))
        policy.sleep()
    # urllib3 retries the first failure at once, then waits factor * 2^(n-1) plus up to `jitter`.
    first, second = no_waiting
    assert 1.0 <= first <= 1.0 + http.BACKOFF_JITTER
    assert 2.0 <= second <= 2.0 + http.BACKOFF_JITTER


def test_read_errors_are_not_retried_by_the_policy() -> None:
    assert http.retry_policy().read == 0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    ok = requests.Response()
    ok.headers["Retry-After"] = "7"
    assert http.retry_after(ok) == 7
    dated = requests.Response()
    dated.headers["Retry-After"] = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert http.retry_after(dated) == 0
    garbage = requests.Response()
    garbage.headers["Retry-After"] = "soon"
    assert http.retry_after(garbage) is None
