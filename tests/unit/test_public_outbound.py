"""Public comment threads outbound: window rules, public replies, private replies, hiding (recorded answers)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses

from carehooks.channels.instagram.client import InstagramClient
from carehooks.channels.messenger.client import MessengerClient
from carehooks.channels.window import decide
from carehooks.domain.models import Channel, Conversation
from carehooks.outbound import http
from carehooks.outbound.client import SendPlan
from carehooks.outbound.models import OutboundMessage, PermanentError, RateLimitedError

GRAPH = "https://graph.test/v25.0"
PAGE = "112233445566778"
IG_ACCOUNT = "17841405822304914"
THREAD = "556677889900112_1029384756473829"
NOW = datetime(2025, 11, 22, 12, 0, tzinfo=UTC)
ACK = OutboundMessage(text="Sorry to hear this. We have sent you a private message.", kind="ack")
PRIVATE = OutboundMessage(
    text="Hi Jordan, could you send us your order number?",
    kind="private_reply",
    reply_to=THREAD,
    origin_tag="private_reply:conv-1",
)


@pytest.fixture(autouse=True)
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("META_GRAPH_URL", GRAPH)
    monkeypatch.setenv("META_ACCESS_TOKEN", "meta-token")
    monkeypatch.delenv("CAREHOOKS_SECRET_ID", raising=False)
    monkeypatch.setattr(http, "_sleep", lambda seconds: None)


def thread(channel: Channel = Channel.MESSENGER, **extra: Any) -> Conversation:
    account = PAGE if channel is Channel.MESSENGER else IG_ACCOUNT
    return Conversation(
        id="conv-1",
        channel=channel,
        account_id=account,
        contact_id="4567890123456789",
        created_at=NOW,
        public=True,
        thread_id=THREAD,
        extra=extra,
    )


def sent_json(index: int = -1) -> Any:
    return json.loads(responses.calls[index].request.body or b"{}")


# -- windows ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("channel", [Channel.MESSENGER, Channel.INSTAGRAM])
def test_a_reply_in_a_comment_thread_has_no_messaging_window(channel: Channel) -> None:
    long_ago = NOW - timedelta(days=30)
    decision = decide(channel, long_ago, ACK, NOW, public=True)
    assert (decision.allowed, decision.mode) == (True, "standard")


def test_a_private_reply_is_allowed_within_7_days_of_its_comment() -> None:
    assert decide(
        Channel.MESSENGER, None, PRIVATE, NOW, public=True, comment_at=NOW - timedelta(days=6)
    ).allowed


def test_a_private_reply_after_7_days_is_skipped_with_a_reason() -> None:
    decision = decide(Channel.MESSENGER, None, PRIVATE, NOW, public=True, comment_at=NOW - timedelta(days=8))
    assert not decision.allowed
    assert decision.reason is not None
    assert "within 7 days" in decision.reason


def test_a_private_reply_to_an_unknown_comment_is_not_allowed() -> None:
    decision = decide(Channel.MESSENGER, None, PRIVATE, NOW, public=True, comment_at=None)
    assert not decision.allowed


def test_a_private_conversation_keeps_its_24_hour_window() -> None:
    assert not decide(Channel.MESSENGER, NOW - timedelta(hours=30), ACK, NOW).allowed


# -- Facebook ---------------------------------------------------------------------------------------
@responses.activate
def test_a_public_reply_is_a_comment_under_the_thread() -> None:
    responses.post(f"{GRAPH}/{THREAD}/comments", json={"id": "556677889900112_1029384756479999"})
    result = MessengerClient().send(thread(), ACK, SendPlan(public_reply_to=THREAD))
    assert (result.status, result.platform_message_id) == ("sent", "556677889900112_1029384756479999")
    assert sent_json() == {"message": ACK.text}
    assert responses.calls[0].request.headers["Authorization"] == "Bearer meta-token"


def test_a_public_reply_needs_the_comment_to_answer() -> None:
    with pytest.raises(PermanentError, match="comment to answer"):
        MessengerClient().send(thread(), ACK, SendPlan())


@responses.activate
def test_a_private_reply_is_a_send_api_call_to_the_comment() -> None:
    responses.post(
        f"{GRAPH}/{PAGE}/messages", json={"recipient_id": "7318845612093471", "message_id": "m_private"}
    )
    result = MessengerClient().send(thread(), PRIVATE)
    assert sent_json() == {
        "recipient": {"comment_id": THREAD},
        "message": {"text": PRIVATE.text, "metadata": "private_reply:conv-1"},
    }
    assert (result.platform_message_id, result.details["recipient_id"]) == ("m_private", "7318845612093471")


def test_a_private_reply_without_its_comment_is_refused_before_any_call() -> None:
    with pytest.raises(PermanentError, match="comment it answers"):
        MessengerClient().send(thread(), OutboundMessage(text="x", kind="private_reply"))


@responses.activate
def test_a_rate_limited_comment_is_retryable() -> None:
    responses.post(
        f"{GRAPH}/{THREAD}/comments",
        status=400,
        json={"error": {"message": "(#32) Page request limit reached", "code": 32, "type": "OAuthException"}},
    )
    with pytest.raises(RateLimitedError):
        MessengerClient().send(thread(), ACK, SendPlan(public_reply_to=THREAD))


@responses.activate
def test_hiding_a_facebook_comment_sets_is_hidden() -> None:
    responses.post(f"{GRAPH}/{THREAD}", json={"success": True})
    MessengerClient().hide(PAGE, THREAD)
    assert sent_json() == {"is_hidden": True}
    MessengerClient().hide(PAGE, THREAD, hidden=False)
    assert sent_json() == {"is_hidden": False}


@responses.activate
def test_a_hide_meta_did_not_do_is_an_error() -> None:
    responses.post(f"{GRAPH}/{THREAD}", json={"success": False})
    with pytest.raises(PermanentError, match="did not hide"):
        MessengerClient().hide(PAGE, THREAD)


# -- Instagram --------------------------------------------------------------------------------------
@responses.activate
def test_an_instagram_public_reply_uses_the_replies_edge() -> None:
    responses.post(f"{GRAPH}/{THREAD}/replies", json={"id": "17870913679156914"})
    result = InstagramClient().send(thread(Channel.INSTAGRAM), ACK, SendPlan(public_reply_to=THREAD))
    assert result.platform_message_id == "17870913679156914"
    assert sent_json() == {"message": ACK.text}


@responses.activate
def test_an_instagram_private_reply_goes_through_me_messages() -> None:
    responses.post(f"{GRAPH}/me/messages", json={"recipient_id": "6021459874123365", "message_id": "aWdf1"})
    result = InstagramClient().send(thread(Channel.INSTAGRAM), PRIVATE)
    assert sent_json()["recipient"] == {"comment_id": THREAD}
    assert result.details["recipient_id"] == "6021459874123365"


@responses.activate
def test_hiding_an_instagram_comment_sets_hide() -> None:
    responses.post(f"{GRAPH}/{THREAD}", json={"success": True})
    InstagramClient().hide(IG_ACCOUNT, THREAD)
    assert sent_json() == {"hide": True}


@responses.activate
def test_a_mention_is_answered_on_the_mentions_edge_with_its_media() -> None:
    responses.post(f"{GRAPH}/{IG_ACCOUNT}/mentions", json={"id": "17873440459141021"})
    conv = thread(Channel.INSTAGRAM, thread_kind="mention", post_id="17918195224117851")
    InstagramClient().send(conv, ACK, SendPlan(public_reply_to=THREAD))
    assert sent_json() == {"media_id": "17918195224117851", "comment_id": THREAD, "message": ACK.text}


def test_a_mention_cannot_be_answered_privately() -> None:
    conv = thread(Channel.INSTAGRAM, thread_kind="mention", post_id="17918195224117851")
    with pytest.raises(PermanentError, match="not mentions"):
        InstagramClient().send(conv, PRIVATE)
