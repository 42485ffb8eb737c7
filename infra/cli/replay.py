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
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import sys
import urllib.error
import urllib.request
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
    if 200 <= status < 300:
        print(f"see it: curl -s {base}/_local/conversations")
    return 0 if 200 <= status < 300 else 1


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
    parser.set_defaults(func=run)
