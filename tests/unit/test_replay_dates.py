"""``carehooks replay``: events re-dated to the stack's clock (keeping their spacing), and the stored
conversation's id printed once the stack has it (issue 15: the Quickstart never showed an
acknowledgement because the samples are dated 2025)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from infra.cli.__main__ import main
from infra.cli.replay import redate

from tests.helpers import event_bytes, event_json

NOW = datetime(2026, 12, 5, 16, 0, tzinfo=UTC)
NOW_S = int(NOW.timestamp())
NOW_MS = NOW_S * 1000


def redated(platform: str, path: str) -> Any:
    return json.loads(redate(platform, event_bytes(path), NOW))


def test_messenger_times_move_to_now_in_milliseconds() -> None:
    body = redated("meta", "meta/messenger_text.json")
    entry = body["entry"][0]
    assert entry["messaging"][0]["timestamp"] == NOW_MS
    assert entry["time"] == NOW_MS
    assert isinstance(entry["messaging"][0]["timestamp"], int)


def test_relative_offsets_within_one_body_are_kept() -> None:
    # A read report: its watermark is 100 s before its own timestamp
    original = event_json("meta/messenger_read.json")["entry"][0]["messaging"][0]
    gap = original["timestamp"] - original["read"]["watermark"]
    item = redated("meta", "meta/messenger_read.json")["entry"][0]["messaging"][0]
    assert item["timestamp"] == NOW_MS
    assert item["timestamp"] - item["read"]["watermark"] == gap


def test_a_batch_keeps_its_order_and_spacing() -> None:
    original = event_json("meta/batched.json")
    before = [m["timestamp"] for e in original["entry"] for m in e.get("messaging", [])]
    body = redated("meta", "meta/batched.json")
    after = [m["timestamp"] for e in body["entry"] for m in e.get("messaging", [])]
    assert max(after) == NOW_MS
    assert [a - b for a, b in zip(after, before, strict=True)] == [NOW_MS - max(before)] * len(before)


def test_whatsapp_times_stay_strings_of_seconds() -> None:
    message = redated("meta", "meta/whatsapp_text.json")["entry"][0]["changes"][0]["value"]["messages"][0]
    assert message["timestamp"] == str(NOW_S)


def test_facebook_comment_times_stay_seconds() -> None:
    original = event_json("meta/feed_comment.json")["entry"][0]
    entry = redated("meta", "meta/feed_comment.json")["entry"][0]
    value = entry["changes"][0]["value"]
    assert entry["time"] == NOW_MS  # the latest time of the body (Meta sent it a second after)
    assert value["created_time"] == NOW_S - (
        original["time"] // 1000 - original["changes"][0]["value"]["created_time"]
    )
    assert value["post"]["updated_time"] == "2025-11-22T08:00:00+0000"  # not a time the adapter reads


def test_telegram_dates_are_seconds_and_an_edit_keeps_its_distance() -> None:
    original = event_json("telegram/edited_message.json")["edited_message"]
    edited = redated("telegram", "telegram/edited_message.json")["edited_message"]
    assert edited["edit_date"] == NOW_S
    assert edited["edit_date"] - edited["date"] == original["edit_date"] - original["date"]


def test_x_dm_times_are_millisecond_strings_and_user_records_are_untouched() -> None:
    original = event_json("x/direct_message.json")
    body = redated("x", "x/direct_message.json")
    assert body["direct_message_events"][0]["created_timestamp"] == str(NOW_MS)
    assert body["users"] == original["users"]  # account creation dates are not event times


def test_x_posts_move_both_their_times() -> None:
    tweet = redated("x", "x/mention.json")["tweet_create_events"][0]
    assert tweet["timestamp_ms"] == str(NOW_MS)
    created = datetime.strptime(tweet["created_at"], "%a %b %d %H:%M:%S %z %Y")
    assert abs(created - NOW) <= timedelta(seconds=1)


def test_twilio_bodies_carry_no_time() -> None:
    raw = event_bytes("twilio/sms.txt")
    assert redate("twilio", raw, NOW) == raw


# -- against a stand-in for the running stack --------------------------------------------------------
class FakeStack:
    """The local routes replay uses: the clock, the conversations list, and a webhook that stores."""

    def __init__(self, store_after_polls: int = 2) -> None:
        self.posted: list[bytes] = []
        self.conversations: list[dict[str, Any]] = [{"id": "old", "message_count": 3}]
        self.polls = 0
        self.store_after_polls = store_after_polls

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if path == "/_local/clock":
            return 200, {"now": "2026-12-05T16:00:00Z"}
        if path.startswith("/_local/conversations"):
            self.polls += 1
            stored = any(c["id"] == "new-conv" for c in self.conversations)
            if self.posted and self.polls > self.store_after_polls and not stored:  # cold: stored later
                self.conversations.insert(0, {"id": "new-conv", "message_count": 1})
            return 200, {"items": self.conversations, "next": None}
        if method == "POST" and path.startswith("/webhooks/"):
            self.posted.append(body)
            return 200, {"ok": True}
        return 404, {"error": "no route"}


@pytest.fixture
def stack() -> Iterator[tuple[FakeStack, str]]:
    fake = FakeStack()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, payload = fake.handle(method, self.path, self.rfile.read(length))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_replay_redates_to_the_stack_clock_waits_and_prints_the_conversation(
    stack: tuple[FakeStack, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, url = stack
    assert main(["replay", "meta/messenger_text.json", "--url", url]) == 0
    out = capsys.readouterr().out
    (posted,) = fake.posted
    assert json.loads(posted)["entry"][0]["messaging"][0]["timestamp"] == NOW_MS
    assert "conversation new-conv" in out
    assert f"curl -s {url}/_local/conversations/new-conv" in out


def test_keep_dates_posts_the_file_as_it_is(
    stack: tuple[FakeStack, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, url = stack
    assert main(["replay", "meta/messenger_text.json", "--url", url, "--keep-dates", "--wait", "0"]) == 0
    (posted,) = fake.posted
    assert posted == event_bytes("meta/messenger_text.json").rstrip(b"\r\n")
    assert "conversation" not in capsys.readouterr().out.replace("/_local/conversations", "")


def test_the_wait_is_bounded(stack: tuple[FakeStack, str], capsys: pytest.CaptureFixture[str]) -> None:
    fake, url = stack
    fake.store_after_polls = 10**6  # never stored (a duplicate, or a delivery report)
    assert main(["replay", "meta/messenger_text.json", "--url", url, "--wait", "1"]) == 0
    assert "nothing new was stored within 1 s" in capsys.readouterr().out
