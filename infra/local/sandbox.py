"""The outbound sandbox: stands in for the Graph API, X API, Telegram Bot API and Twilio.

The stack points ``META_GRAPH_URL`` … at ``/_sandbox/<platform>`` unless they are set. Each call is
recorded in ``.local/outbox.jsonl`` (``GET /_local/outbox``) and answered the way the platform answers
a successful call, with fresh ids, so clients can store what they would store in production. A test can
make the next calls fail with ``POST /_local/outbox/fail`` (see the README).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from infra.local.apigw import Response

PLATFORMS = ("meta", "x", "telegram", "twilio")


@dataclass
class FailureRule:
    """Answer the next ``times`` matching calls with ``status`` and ``body``."""

    channel: str
    status: int
    body: Any
    times: int = 1
    match: str = ""


def parse_body(body: bytes, content_type: str) -> Any:
    """JSON as JSON, form posts as a dict (repeated fields as lists), anything else as text."""
    if not body:
        return None
    text = body.decode("utf-8", errors="replace")
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "application/x-www-form-urlencoded":
        parsed = parse_qs(text, keep_blank_values=True)
        return {k: v[0] if len(v) == 1 else v for k, v in parsed.items()}
    try:
        return json.loads(text)
    except ValueError:
        return text


def _json(status: int, payload: Any) -> Response:
    return Response(status, [("Content-Type", "application/json")], json.dumps(payload).encode())


def _scoped_id(seed: str) -> str:
    """A stable 16-digit id made from ``seed`` (the stand-in for a page-scoped user id)."""
    digest = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    return str(10**15 + digest % (9 * 10**15))


def _listed(value: Any) -> list[Any]:
    """A form field that may be repeated, as a list (absent: empty)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _digits(count: int) -> str:
    return str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(count - 1))


_FIRST_NAMES = ("Ada", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas")
_LAST_NAMES = ("Moreau", "Okafor", "Lindqvist", "Tanaka", "Silva", "Novak", "Haddad", "Kowalski")


def profile_fields(url: str) -> list[str]:
    """The ``fields`` a Graph GET asks for (a user profile call), or none."""
    query = parse_qs(url.split("?", 1)[1]) if "?" in url else {}
    return [f for f in ",".join(query.get("fields", [])).split(",") if f]


def sandbox_profile(path: str, fields: list[str]) -> dict[str, Any]:
    """A stable made-up profile of the user ``path`` names (Messenger's or Instagram's fields)."""
    user = [s for s in path.split("/") if s and not re.fullmatch(r"v\d+(\.\d+)?", s)][-1:] or ["0"]
    digest = int(hashlib.sha256(user[0].encode()).hexdigest(), 16)
    first = _FIRST_NAMES[digest % len(_FIRST_NAMES)]
    last = _LAST_NAMES[(digest // len(_FIRST_NAMES)) % len(_LAST_NAMES)]
    every = {
        "id": user[0],
        "first_name": first,
        "last_name": last,
        "name": f"{first} {last}",
        "username": f"{first.lower()}.{last.lower()}{digest % 100}",
        "profile_pic": f"https://sandbox.invalid/avatars/{user[0]}.png",
    }
    return {"id": user[0], **{f: every[f] for f in fields if f in every}}


class Sandbox:
    """Records outbound calls and answers them like the platforms."""

    def __init__(
        self,
        outbox_file: Path,
        now: Callable[[], datetime],
        iso: Callable[[datetime], str],
        secret: dict[str, str] | None = None,
    ) -> None:
        secret = secret or {}
        # The app that "is subscribed" to Pages and WABAs: the configured one, so health checks pass.
        self.app_id = secret.get("META_APP_ID") or "100000000000001"
        self.waba_ids = {w.strip() for w in secret.get("META_WABA_IDS", "").split(",") if w.strip()}
        self.outbox_file = outbox_file
        self.now = now
        self.iso = iso
        self._lock = threading.Lock()
        self._rules: list[FailureRule] = []
        self._telegram_ids = 1000
        self._subscriptions: dict[str, list[str]] = {}

    # -- the outbox -----------------------------------------------------------------------------
    def items(self) -> list[dict[str, Any]]:
        """Every recorded call, oldest first."""
        with self._lock:
            try:
                lines = self.outbox_file.read_text(encoding="utf-8").splitlines()
            except FileNotFoundError:
                return []
        return [json.loads(line) for line in lines if line.strip()]

    def clear(self) -> None:
        with self._lock:
            self.outbox_file.unlink(missing_ok=True)

    def fail_next(self, rule: FailureRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def _record(self, item: dict[str, Any]) -> None:
        with self._lock:
            self.outbox_file.parent.mkdir(parents=True, exist_ok=True)
            with self.outbox_file.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(item, ensure_ascii=False) + "\n")

    def _failure(self, channel: str, path: str) -> FailureRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.channel in (channel, "*") and rule.match in path:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                    return rule
        return None

    # -- a call ---------------------------------------------------------------------------------
    def handle(
        self, channel: str, method: str, path: str, url: str, content_type: str, raw: bytes
    ) -> Response:
        """Answer one outbound call to ``/_sandbox/<channel><path>`` and record it."""
        body = parse_body(raw, content_type)
        rule = self._failure(channel, path)
        if rule is not None:
            response = _json(rule.status, rule.body)
        elif channel == "meta" and method == "GET" and profile_fields(url):
            response = _json(200, sandbox_profile(path, profile_fields(url)))
        else:
            answer = {
                "meta": self._meta,
                "x": self._x,
                "telegram": self._telegram,
                "twilio": self._twilio,
            }[channel]
            response = answer(method, path, body)
        try:
            answered: Any = json.loads(response.body) if response.body else None
        except ValueError:
            answered = response.body.decode(errors="replace")
        self._record(
            {
                "channel": channel,
                "method": method,
                "url": url,
                "body": body,
                "at": self.iso(self.now()),
                "status": response.status,
                "response": answered,
            }
        )
        return response

    # -- Graph API (Messenger, Instagram, WhatsApp) ----------------------------------------------
    def _meta(self, method: str, path: str, body: Any) -> Response:  # noqa: PLR0911 - one answer per call
        data = body if isinstance(body, dict) else {}
        segments = [s for s in path.split("/") if s]
        # Tolerate a version prefix (/v25.0/...) when META_GRAPH_URL is the bare sandbox.
        if segments and re.fullmatch(r"v\d+(\.\d+)?", segments[0]):
            segments = segments[1:]
        last = segments[-1] if segments else ""
        node = segments[0] if segments else ""
        if method == "POST" and last == "messages":
            if data.get("messaging_product") == "whatsapp":
                if data.get("status") == "read":
                    return _json(200, {"success": True})
                to = str(data.get("to", ""))
                return _json(
                    200,
                    {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
                        "messages": [{"id": "wamid." + secrets.token_urlsafe(36).replace("-", "A")}],
                    },
                )
            recipient = data.get("recipient") or {}
            # A private reply (to a comment) is answered with the commenter's page-scoped id, which the
            # sandbox cannot know: a stable made-up one per comment stands in.
            recipient_id = (
                _scoped_id(str(recipient["comment_id"]))
                if recipient.get("comment_id")
                else recipient.get("id") or recipient.get("post_id") or ""
            )
            answer: dict[str, Any] = {"recipient_id": str(recipient_id)}
            if "message" in data:
                answer["message_id"] = f"m_{uuid.uuid4().hex}"
            return _json(200, answer)
        if method == "POST" and last in ("comments", "replies"):
            return _json(200, {"id": f"{node}_{_digits(16)}" if last == "comments" else _digits(17)})
        if last == "subscribed_apps":
            if method == "POST":
                fields = data.get("subscribed_fields") or ""
                listed = fields if isinstance(fields, list) else [f for f in str(fields).split(",") if f]
                with self._lock:
                    self._subscriptions[node] = listed
                return _json(200, {"success": True})
            if method == "DELETE":
                with self._lock:
                    self._subscriptions.pop(node, None)
                return _json(200, {"success": True})
            with self._lock:
                fields = self._subscriptions.get(node)
            if node in self.waba_ids:
                return _json(
                    200, {"data": [{"whatsapp_business_api_data": {"id": self.app_id, "name": "carehooks"}}]}
                )
            subscribed = fields or ["messages", "message_echoes", "messaging_postbacks", "message_reads"]
            return _json(
                200, {"data": [{"id": self.app_id, "name": "carehooks", "subscribed_fields": subscribed}]}
            )
        if method == "DELETE":
            return _json(200, {"success": True})
        if method == "GET":
            return _json(200, {"id": node or "0", "name": "Local Sandbox"})
        return _json(200, {"success": True, "id": _digits(15)})

    # -- X API v2 --------------------------------------------------------------------------------
    def _x(self, method: str, path: str, body: Any) -> Response:
        data = body if isinstance(body, dict) else {}
        with_user = re.fullmatch(r"/2/dm_conversations/with/([^/]+)/messages", path)
        in_conversation = re.fullmatch(r"/2/dm_conversations/([^/]+)/messages", path)
        if method == "POST" and with_user:
            conversation = f"{with_user.group(1)}-{_digits(10)}"
            return _json(201, {"data": {"dm_conversation_id": conversation, "dm_event_id": _digits(19)}})
        if method == "POST" and in_conversation:
            return _json(
                201, {"data": {"dm_conversation_id": in_conversation.group(1), "dm_event_id": _digits(19)}}
            )
        if method == "POST" and path == "/2/tweets":
            tweet_id = _digits(19)
            return _json(
                201,
                {
                    "data": {
                        "id": tweet_id,
                        "text": str(data.get("text", "")),
                        "edit_history_tweet_ids": [tweet_id],
                    }
                },
            )
        return _json(200, {"data": {}})

    # -- Telegram Bot API ------------------------------------------------------------------------
    def _telegram(self, method: str, path: str, body: Any) -> Response:
        data = body if isinstance(body, dict) else {}
        found = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", path)
        if not found:
            return _json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        token, call = found.groups()
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        bot = {"id": bot_id, "is_bot": True, "first_name": "carehooks", "username": "carehooks_local_bot"}
        if call == "getMe":
            return _json(200, {"ok": True, "result": bot})
        if call == "getWebhookInfo":
            return _json(200, {"ok": True, "result": {"url": "", "pending_update_count": 0}})
        if call.startswith(("send", "copy", "forward")):
            with self._lock:
                self._telegram_ids += 1
                message_id = self._telegram_ids
            chat_id = data.get("chat_id", 0)
            chat_value = int(chat_id) if str(chat_id).lstrip("-").isdigit() else chat_id
            result: dict[str, Any] = {
                "message_id": message_id,
                "from": bot,
                "chat": {"id": chat_value, "type": "private"},
                "date": int(self.now().timestamp()),
            }
            if "text" in data:
                result["text"] = data["text"]
            if "caption" in data:
                result["caption"] = data["caption"]
            if call == "sendPhoto":
                result["photo"] = [{"file_id": f"photo-{message_id}", "file_unique_id": f"p{message_id}"}]
            elif call == "sendDocument":
                result["document"] = {"file_id": f"document-{message_id}", "file_unique_id": f"d{message_id}"}
            return _json(200, {"ok": True, "result": result})
        return _json(200, {"ok": True, "result": True})

    # -- Twilio Messages API ---------------------------------------------------------------------
    def _twilio(self, method: str, path: str, body: Any) -> Response:
        data = body if isinstance(body, dict) else {}
        found = re.fullmatch(r"/2010-04-01/Accounts/([^/]+)/Messages\.json", path)
        if method == "POST" and found:
            sid = "SM" + secrets.token_hex(16)
            account = found.group(1)
            stamp = format_datetime(self.now(), usegmt=True)
            return _json(
                201,
                {
                    "sid": sid,
                    "account_sid": account,
                    "messaging_service_sid": data.get("MessagingServiceSid"),
                    "to": data.get("To"),
                    "from": data.get("From"),
                    "body": data.get("Body", ""),
                    "status": "queued",
                    "num_segments": "1",
                    "num_media": str(len(_listed(data.get("MediaUrl")))),
                    "direction": "outbound-api",
                    "api_version": "2010-04-01",
                    "date_created": stamp,
                    "date_updated": stamp,
                    "date_sent": None,
                    "price": None,
                    "price_unit": "USD",
                    "error_code": None,
                    "error_message": None,
                    "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
                },
            )
        return _json(200, {})
