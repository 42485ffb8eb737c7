"""The load's traffic: signed webhooks of every channel, many customers, some redelivered.

Bodies are the real-format fixtures under ``events/`` with fresh ids, a current timestamp and a text
that names the message (``load <run> #<n>``), so the store can be checked message by message through
the agent API. Each body is signed as its platform signs it, with the secrets the local stack seeds
(``infra/cli/replay.py``: the local defaults, ``PUBLIC_BASE_URL`` = the stack's own URL).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from infra.cli.replay import signed_request
from infra.local.settings import SECRET_DEFAULTS

from tests.helpers import event_bytes, event_json

# (channel as the store names it, platform folder / route)
CHANNELS: tuple[tuple[str, str], ...] = (
    ("messenger", "meta"),
    ("instagram", "meta"),
    ("whatsapp", "meta"),
    ("telegram", "telegram"),
    ("x", "x"),
    ("sms", "twilio"),
    ("twilio_whatsapp", "twilio"),
)


@dataclass(frozen=True)
class Customer:
    channel: str
    platform: str
    contact: str  # the contact id the store keeps


@dataclass(frozen=True)
class Delivery:
    """One webhook request as the platform sends it (a redelivery repeats it byte for byte)."""

    n: int
    customer: Customer
    text: str
    path: str
    body: bytes
    headers: dict[str, str]


def customer(index: int) -> Customer:
    """The ``index``-th customer: channels in turn, ids in each platform's format."""
    channel, platform = CHANNELS[index % len(CHANNELS)]
    contact = {
        "messenger": f"73{index:014d}",
        "instagram": f"60{index:014d}",
        "whatsapp": f"1650{index:07d}",
        "telegram": str(500_000_000 + index),
        "x": str(300_000_000 + index),
        "sms": f"+1415{index:07d}",
        "twilio_whatsapp": f"+1650{index:07d}",
    }[channel]
    return Customer(channel, platform, contact)


def _meta_messaging(fixture: str, who: Customer, mid: str, text: str, now_ms: int) -> bytes:
    body = event_json(fixture)
    event = body["entry"][0]["messaging"][0]
    event["sender"]["id"] = who.contact
    event["timestamp"] = now_ms
    body["entry"][0]["time"] = now_ms
    event["message"] = {"mid": mid, "text": text}
    return json.dumps(body).encode()


def _whatsapp(who: Customer, mid: str, text: str, now_ms: int) -> bytes:
    body = event_json("meta/whatsapp_text.json")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = who.contact
    message = value["messages"][0]
    message.update({"from": who.contact, "id": mid, "timestamp": str(now_ms // 1000), "text": {"body": text}})
    return json.dumps(body).encode()


def _telegram(who: Customer, n: int, text: str, now_ms: int) -> bytes:
    body = event_json("telegram/message.json")
    body["update_id"] = 700_000_000 + n
    message = body["message"]
    message.update({"message_id": 1_000 + n, "date": now_ms // 1000, "text": text})
    message["chat"]["id"] = int(who.contact)
    message["from"]["id"] = int(who.contact)
    return json.dumps(body).encode()


def _x(who: Customer, event_id: str, text: str, now_ms: int) -> bytes:
    body = event_json("x/direct_message.json")
    event = body["direct_message_events"][0]
    event["id"] = event_id
    event["created_timestamp"] = str(now_ms)
    event["message_create"]["sender_id"] = who.contact
    event["message_create"]["message_data"]["text"] = text
    body["users"][who.contact] = {**body["users"].pop("272953809"), "id": who.contact}
    return json.dumps(body).encode()


def _twilio(who: Customer, sid: str, text: str) -> bytes:
    fixture = "twilio/sms.txt" if who.channel == "sms" else "twilio/whatsapp_text.txt"
    fields = dict(parse_qsl(event_bytes(fixture).decode(), keep_blank_values=True))
    for key in ("MessageSid", "SmsSid", "SmsMessageSid"):
        fields[key] = sid
    fields["Body"] = text
    if who.channel == "sms":
        fields["From"] = who.contact
    else:
        fields["From"] = f"whatsapp:{who.contact}"
        fields["WaId"] = who.contact.removeprefix("+")
    return urlencode(fields).encode()


def delivery(n: int, who: Customer, run: str, base_url: str, now_ms: int) -> Delivery:
    """Message ``n`` of the run from ``who``, signed for the stack at ``base_url``."""
    text = f"load {run} #{n}"
    unique = f"{run}{n:08d}"
    builders: dict[str, Callable[[], bytes]] = {
        "messenger": lambda: _meta_messaging("meta/messenger_text.json", who, f"m_{unique}", text, now_ms),
        "instagram": lambda: _meta_messaging("meta/instagram_text.json", who, f"aWdf{unique}", text, now_ms),
        "whatsapp": lambda: _whatsapp(who, f"wamid.{unique}", text, now_ms),
        "telegram": lambda: _telegram(who, n, text, now_ms),
        "x": lambda: _x(who, str(900_000_000_000_000_000 + n), text, now_ms),
        "sms": lambda: _twilio(who, f"SM{unique:0>32}", text),
        "twilio_whatsapp": lambda: _twilio(who, f"SM{unique:0>32}", text),
    }
    raw = builders[who.channel]()
    route = f"/webhooks/{who.platform}"
    secrets: dict[str, Any] = {**SECRET_DEFAULTS, "PUBLIC_BASE_URL": base_url}
    body, headers = signed_request(who.platform, raw, route, secrets)
    return Delivery(n, who, text, route, body, headers)


def plan(
    messages: int, customers: int, duplicate_rate: float, senders: int, run: str, base_url: str, seed: int
) -> list[Delivery]:
    """The order of sending: every message once, and ~``duplicate_rate`` of them again.

    Half of the redeliveries follow their original closely (racing it through the queue and the
    store, as a platform retrying a slow answer does), half come much later (a platform's retry
    hours later, or a redelivery after a queue's deduplication window).
    """
    rng = random.Random(seed)  # reproducible: the same plan for the same seed
    now_ms = int(time.time() * 1000)
    people = [customer(i) for i in range(customers)]
    originals = [delivery(n, people[n % customers], run, base_url, now_ms + n) for n in range(messages)]
    order: list[tuple[float, Delivery]] = [(float(n), d) for n, d in enumerate(originals)]
    for original in rng.sample(originals, round(messages * duplicate_rate)):
        near = rng.random() < 0.5
        gap = rng.uniform(0.5, 2 * senders) if near else rng.uniform(messages / 4, messages)
        order.append((original.n + gap, original))
    order.sort(key=lambda pair: pair[0])
    return [d for _, d in order]
