"""``carehooks replay <event>``: sign a body from ``events/`` and post it to the running local stack.

The platform is the first folder of the path (``events/meta|x|telegram|twilio/...``) and the body is
signed exactly as that platform signs it, with the same secrets the local stack seeds (environment,
then ``.env``, then the local defaults):

| platform | route | signature |
|---|---|---|
| meta | ``POST /webhooks/meta`` | ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(META_APP_SECRET, body)>`` |
| x | ``POST /webhooks/x`` | ``x-twitter-webhooks-signature: sha256=<base64 HMAC-SHA256(X_CONSUMER_SECRET, body)>`` |
| telegram | ``POST /webhooks/telegram`` | ``X-Telegram-Bot-Api-Secret-Token: <TELEGRAM_SECRET_TOKEN>`` |
| twilio | ``POST /webhooks/twilio`` | ``X-Twilio-Signature: base64(HMAC-SHA1(TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL + route + sorted params))``, form-encoded |

The samples are dated 2025, so by default the body is re-dated to the stack's clock (``GET /_local/clock``)
before it is signed: its latest time becomes "now" and every other time moves by the same amount, so
the events of one body keep their order and spacing. Each platform's own fields and formats are kept
(Meta ``timestamp``/``watermark`` ms and ``time``, WhatsApp ``timestamp`` seconds strings, Facebook
``created_time`` seconds, X ``created_timestamp``/``timestamp_ms`` ms strings and ``created_at`` text,
Telegram ``date``/``edit_date`` seconds; Twilio sends no time). ``--keep-dates`` posts the file as it is.

Then it waits (``--wait``, 30 s by default: the first request to a cold stack starts its functions) until
the local stack has stored the event, and prints the conversation's id.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from infra.local.settings import ROOT, lookup, secret_values

EVENTS = ROOT / "events"
PLATFORMS = ("meta", "x", "telegram", "twilio")


def default_url() -> str:
    """The running stack: ``CAREHOOKS_URL``, else ``http://127.0.0.1:$PORT`` (3000)."""
    return lookup("CAREHOOKS_URL") or f"http://127.0.0.1:{lookup('PORT', '3000')}"


def event_path(name: str) -> Path:
    """``meta/messenger_text.json`` under ``events/``, or any existing file path."""
    candidate = Path(name)
    if candidate.is_file():
        return candidate.resolve()
    under = EVENTS / name.removeprefix("events/")
    if under.is_file():
        return under
    raise SystemExit(f"no such event: {name} (looked in {EVENTS})")


def platform_of(path: Path) -> str:
    """The platform folder an event lives in (``events/<platform>/...``)."""
    for part in reversed(path.parts[:-1]):
        if part in PLATFORMS:
            return part
    raise SystemExit(
        f"cannot tell the platform of {path}: put it under events/<{'|'.join(PLATFORMS)}>/ or pass --platform"
    )


def twilio_signature(url: str, params: list[tuple[str, str]], auth_token: str) -> str:
    """Twilio's ``X-Twilio-Signature`` over the full URL and the sorted POST parameters."""
    payload = url + "".join(k + v for k, v in sorted(params, key=lambda kv: kv[0]))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def signed_request(
    platform: str, raw: bytes, route: str, secrets: dict[str, str]
) -> tuple[bytes, dict[str, str]]:
    """The body and headers the platform would send for ``raw``."""
    if platform == "meta":
        secret = secrets["META_APP_SECRET"].split(",")[0].strip()
        digest = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        return raw, {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}
    if platform == "x":
        mac = hmac.new(secrets["X_CONSUMER_SECRET"].encode(), raw, hashlib.sha256).digest()
        return raw, {
            "Content-Type": "application/json",
            "x-twitter-webhooks-signature": "sha256=" + base64.b64encode(mac).decode(),
        }
    if platform == "telegram":
        return raw, {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": secrets["TELEGRAM_SECRET_TOKEN"],
        }
    if platform == "twilio":
        params = _form_params(raw)
        body = urlencode(params).encode()
        url = secrets["PUBLIC_BASE_URL"].rstrip("/") + route
        return body, {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(url, params, secrets["TWILIO_AUTH_TOKEN"]),
        }
    raise SystemExit(f"unknown platform {platform}")


def _form_params(raw: bytes) -> list[tuple[str, str]]:
    """Twilio bodies may be stored as JSON objects or as the form text itself."""
    text = raw.decode("utf-8")
    try:
        data: Any = json.loads(text)
    except ValueError:
        return parse_qsl(text, keep_blank_values=True)
    if not isinstance(data, dict):
        raise SystemExit("a Twilio event must be a JSON object or form text")
    return [(str(k), str(v)) for k, v in data.items()]


# -- re-dating ------------------------------------------------------------------------------------
# Epoch values above this are milliseconds (1973 in ms; the year 5138 in seconds).
_MS_ABOVE = 100_000_000_000
X_TIME_FORMAT = "%a %b %d %H:%M:%S %z %Y"
META_TIME_KEYS = {"time", "timestamp", "watermark", "created_time"}
TELEGRAM_TIME_KEYS = {"date", "edit_date", "forward_date"}
X_EVENT_TIME_KEYS = {"created_timestamp", "timestamp_ms"}


class _Epoch:
    """One epoch value of the body: where it is, its unit and its JSON type (kept when it is moved)."""

    def __init__(self, holder: dict[str, Any], key: str) -> None:
        self.holder, self.key = holder, key
        value = holder[key]
        self.text = isinstance(value, str)
        number = int(value)
        self.ms = number > _MS_ABOVE
        self.seconds = number / 1000 if self.ms else float(number)

    def move(self, shift: float) -> None:
        moved = self.seconds + shift
        number = round(moved * 1000) if self.ms else round(moved)
        self.holder[self.key] = str(number) if self.text else number


class _XText:
    """An X ``created_at`` text time."""

    def __init__(self, holder: dict[str, Any], key: str) -> None:
        self.holder, self.key = holder, key
        self.seconds = datetime.strptime(str(holder[key]), X_TIME_FORMAT).timestamp()

    def move(self, shift: float) -> None:
        moved = datetime.fromtimestamp(self.seconds + shift, UTC)
        self.holder[self.key] = moved.strftime(X_TIME_FORMAT)


def _is_epoch(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.isascii() and value.isdigit()


def _walk(node: Any, keys: set[str], found: list[Any]) -> None:
    """Every epoch under ``keys`` anywhere in ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys and _is_epoch(value):
                found.append(_Epoch(node, key))
            else:
                _walk(value, keys, found)
    elif isinstance(node, list):
        for item in node:
            _walk(item, keys, found)


def _x_times(body: Any, found: list[Any]) -> None:
    """The events' own times: not the ``users`` map's account creation dates."""
    if not isinstance(body, dict):
        return
    for key, events in body.items():
        if not key.endswith("_events") or not isinstance(events, list):
            continue
        for event in events:
            if not isinstance(event, dict):
                continue
            for name in X_EVENT_TIME_KEYS:
                if _is_epoch(event.get(name)):
                    found.append(_Epoch(event, name))
            if isinstance(event.get("created_at"), str):
                with contextlib.suppress(ValueError):
                    found.append(_XText(event, "created_at"))


def redate(platform: str, raw: bytes, now: datetime) -> bytes:
    """``raw`` with its times moved so that the latest is ``now``; the same bytes when it has none.

    Twilio bodies carry no time and are returned as they are.
    """
    if platform == "twilio":
        return raw
    try:
        body = json.loads(raw)
    except ValueError:
        return raw
    found: list[Any] = []
    if platform == "meta":
        _walk(body, META_TIME_KEYS, found)
    elif platform == "telegram":
        _walk(body, TELEGRAM_TIME_KEYS, found)
    elif platform == "x":
        _x_times(body, found)
    if not found:
        return raw
    shift = now.timestamp() - max(item.seconds for item in found)
    for item in found:
        item.move(shift)
    return json.dumps(body, ensure_ascii=False).encode()


# -- the running stack ----------------------------------------------------------------------------
def get_json(url: str, timeout: float = 5.0) -> Any:
    """GET a JSON answer; None when the stack does not answer it (not running, no such route)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http to the local stack)
            return json.loads(response.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return None


def stack_now(base: str) -> datetime | None:
    """The local stack's clock (it may have been moved), or None when it does not say."""
    answer = get_json(f"{base}/_local/clock")
    if not isinstance(answer, dict) or not isinstance(answer.get("now"), str):
        return None
    try:
        now = datetime.fromisoformat(answer["now"].replace("Z", "+00:00"))
    except ValueError:
        return None
    return now if now.tzinfo else now.replace(tzinfo=UTC)


_ACTIVITY = ("message_count", "last_activity_at", "last_inbound_at", "last_outbound_at", "version")


def _fingerprints(answer: Any) -> dict[str, str] | None:
    if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
        return None
    out: dict[str, str] = {}
    for item in answer["items"]:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            marks = {k: item.get(k) for k in _ACTIVITY if k in item}
            out[item["id"]] = json.dumps(marks or item, sort_keys=True, default=str)
    return out


def conversations_seen(base: str) -> dict[str, str] | None:
    """Each stored conversation's activity marks (id -> fingerprint); None without the local route."""
    return _fingerprints(get_json(f"{base}/_local/conversations?limit=500"))


def wait_for_conversation(
    base: str,
    before: dict[str, str],
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str | None:
    """The conversation the replayed event went into: the first (newest) one that is new or changed
    since ``before``; None when nothing changed within ``timeout`` seconds."""
    deadline = clock() + timeout
    while True:
        now_seen = conversations_seen(base) or {}
        changed = [cid for cid, mark in now_seen.items() if before.get(cid) != mark]
        if changed:
            return changed[0]
        if clock() >= deadline:
            return None
        sleep(0.5)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 30.0) -> tuple[int, str]:
    """POST and return (status, body text); HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (http to the local stack)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def run(args: argparse.Namespace) -> int:
    path = event_path(args.event)
    platform = args.platform or platform_of(path)
    route = args.route or f"/webhooks/{platform}"
    raw = path.read_bytes().rstrip(b"\r\n")
    base = args.url.rstrip("/")
    if not args.keep_dates:
        now = stack_now(base)
        if now is None:
            now = datetime.now(UTC)
            print(f"(no clock at {base}/_local/clock: dating the event to this machine's time)")
        redated = redate(platform, raw, now)
        if redated != raw:
            print(
                f"re-dated to {now.isoformat(timespec='seconds')} (--keep-dates sends the file's own times)"
            )
        raw = redated
    before = None if args.wait <= 0 else conversations_seen(base)
    secrets = secret_values(base)
    body, headers = signed_request(platform, raw, route, secrets)
    if args.bad_signature:
        for key in headers:
            if key.lower() != "content-type":
                headers[key] = "sha256=" + "0" * 64 if platform == "meta" else "invalid"
    url = base + route
    signature = next((k for k in headers if k.lower() != "content-type"), "")
    print(f"POST {url}  ({platform}, {len(body)} bytes, {signature})")
    try:
        status, text = post(url, body, headers)
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        print(
            f"cannot reach the local stack at {base}: {exc}. Is it running? Start it with `make run`.",
            file=sys.stderr,
        )
        return 2
    print(f"-> {status}")
    if text:
        print(text)
    if not 200 <= status < 300:
        return 1
    if before is None:
        print(f"see it: curl -s {base}/_local/conversations")
        return 0
    found = wait_for_conversation(base, before, args.wait)
    if found is None:
        print(
            f"nothing new was stored within {args.wait:g} s: a delivery or read report changes no "
            "conversation, and an event already stored is a duplicate (see the stack's output)"
        )
        print(f"see them: curl -s {base}/_local/conversations")
        return 0
    print(f"conversation {found}")
    print(f"see it: curl -s {base}/_local/conversations/{found}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``replay`` to the carehooks command line."""
    parser = subparsers.add_parser(
        "replay",
        help="sign a body from events/ as its platform would and post it to the running local stack",
        description=__doc__.split("\n\n", 1)[0] if __doc__ else None,
    )
    parser.add_argument("event", help="a path under events/, e.g. meta/messenger_text.json (or any file)")
    parser.add_argument("--url", default=default_url(), help="the stack's base URL (default: %(default)s)")
    parser.add_argument("--platform", choices=PLATFORMS, help="override the platform guessed from the path")
    parser.add_argument("--route", help="override the webhook route (default /webhooks/<platform>)")
    parser.add_argument("--bad-signature", action="store_true", help="send a wrong signature (expect a 401)")
    parser.add_argument(
        "--keep-dates",
        action="store_true",
        help="send the event's own times (default: re-date it to the stack's clock, keeping its spacing)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=30.0,
        help="seconds to wait for the stored conversation and print its id; 0: do not wait (default 30)",
    )
    parser.set_defaults(func=run)
