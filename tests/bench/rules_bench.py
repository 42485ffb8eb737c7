"""Rules benchmark: messages evaluated per second with 200 rules (one core), hostile regex worst case.

Targets: >= 20,000 messages/s for a 200-rule configuration; < 10 ms for a hostile pattern on a 60 KB
message. Prints figures; asserts nothing (``make bench``). Times are CPU time of this process
(``time.process_time``), so other work on a shared machine does not distort them.
"""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "layers" / "common"))

from carehooks.config.document import ConfigDocument
from carehooks.config.text import compile_regex
from carehooks.domain.models import Channel, Conversation, Direction, Message
from carehooks.rules.engine import Context, evaluate, program_for

NOW = datetime(2025, 6, 4, 10, 0, tzinfo=UTC)
# A care team's vocabulary: rules key on a few of these words each.
WORDS = [
    "order",
    "refund",
    "delivery",
    "parcel",
    "invoice",
    "account",
    "password",
    "login",
    "payment",
    "card",
    "shipping",
    "return",
    "exchange",
    "size",
    "colour",
    "broken",
    "damaged",
    "missing",
    "late",
    "cancel",
    "subscription",
    "discount",
    "coupon",
    "price",
    "stock",
    "store",
    "hours",
    "tracking",
    "courier",
    "address",
    "postcode",
    "warranty",
    "repair",
    "replacement",
    "charger",
    "battery",
    "screen",
    "cable",
    "manual",
    "install",
    "setup",
    "update",
    "app",
    "crash",
    "error",
    "bug",
    "slow",
    "wifi",
    "bluetooth",
    "pairing",
    "speaker",
    "headphones",
    "laptop",
    "phone",
    "tablet",
    "watch",
    "camera",
    "lens",
    "printer",
    "ink",
    "toner",
    "paper",
    "label",
    "voucher",
    "gift",
    "loyalty",
    "points",
    "membership",
    "renew",
    "upgrade",
    "downgrade",
    "plan",
    "contract",
    "bill",
    "overcharged",
    "fee",
    "tax",
    "receipt",
    "vat",
    "quote",
    "wholesale",
    "bulk",
    "partner",
    "complaint",
    "manager",
    "feedback",
    "review",
    "rating",
    "compliment",
    "thanks",
    "urgent",
    "asap",
    "lawyer",
    "chargeback",
    "fraud",
    "scam",
    "hacked",
    "locked",
    "verify",
    "code",
    "otp",
    "email",
    "newsletter",
    "unsubscribe",
    "privacy",
    "gdpr",
    "delete",
    "data",
    "cookie",
    "commande",
    "remboursement",
    "livraison",
    "colis",
    "facture",
    "compte",
    "pedido",
    "reembolso",
    "envio",
    "factura",
    "cuenta",
]
TEXTS = [
    "where is my order? #1234",
    "my screen is broken after the update, can you repair it under warranty?",
    "please unsubscribe me from the newsletter and delete my data",
    "the courier left my parcel at the wrong address",
    "I need a VAT receipt for invoice 77812",
    "my account was hacked and I can't verify the code",
    "great service, thanks to Maria!",
    "the app crashes when I open the camera",
    "can I upgrade my plan without a new contract?",
    "colis pas reçu, livraison en retard",
    "Hi, I would like a refund for my last purchase please",
    "Bonjour, ma commande n'est pas arrivée",
    "my parcel arrived damaged, what can I do",
    "can't log in to my account since yesterday",
    "thanks a lot!",
    "Hola, ¿dónde está mi pedido?",
    "Do you have this jacket in size M?",
    "I was charged twice on my card, invoice 88231",
    "ok",
    "is the store open on sunday? what are your hours",
]
HOSTILE = ["(a+)+$", "(a|aa)*c", "(.*a){12}x", "(x+x+)+y", "^(([a-z])+.)+[A-Z]([a-z])+$", "(a*)*b"]


def config_200(seed: int = 7, vocabulary: int = len(WORDS)) -> ConfigDocument:
    """200 rules of the usual shapes: keywords, phrases, channel filters, nesting, a few regexes.

    ``vocabulary``: how many distinct words the rules draw from; a small one makes most rules match
    every message (a worst case: ~25 matched rules and ~50 actions per message).
    """
    rng = random.Random(seed)
    pool = WORDS[:vocabulary]
    rules: list[dict[str, Any]] = []
    for index in range(200):
        kind = index % 10
        words = rng.sample(pool, 3)
        when: dict[str, Any]
        if kind < 5:
            when = {"text": {"keyword": [*words, f"w{index}"]}}
        elif kind < 7:
            when = {
                "all": [
                    {"channel": ["messenger", "whatsapp"]},
                    {"text": {"phrase": [f"{words[0]} {words[1]}", f"my {words[2]}"]}},
                ]
            }
        elif kind == 7:
            when = {
                "any": [
                    {"text": {"keyword": [words[0]]}},
                    {"tags": words[1]},
                    {"not": {"attachments": {"empty": True}}},
                ]
            }
        elif kind == 8:
            when = {
                "all": [
                    {"text": {"keyword": [words[0], words[1]]}},
                    {"text": {"regex": rf"#\d{{{3 + index % 4},}}"}},
                ]
            }
        else:
            when = {
                "all": [
                    {"status": "open"},
                    {"not": {"tags": "spam"}},
                    {"text": {"keyword": [words[2]]}},
                    {"vip": False},
                ]
            }
        rules.append(
            {
                "id": f"rule-{index}",
                "when": when,
                "then": [{"add_tags": [f"t{index % 40}"]}, {"set_priority": "high"}],
            }
        )
    return ConfigDocument.model_validate({"rules": rules})


def messages() -> list[Message]:
    return [
        Message(
            conversation_id="01JBENCH",
            channel=Channel.MESSENGER,
            account_id="PAGE",
            contact_id="PSID",
            platform_message_id=f"m{i}",
            direction=Direction.IN,
            sent_at=NOW,
            text=text,
        )
        for i, text in enumerate(TEXTS)
    ]


def throughput(seconds: float = 2.0, vocabulary: int = len(WORDS)) -> tuple[float, float]:
    """(messages per second, average matched rules per message)."""
    config = config_200(vocabulary=vocabulary)
    program_for(config)  # compile once, as the processor does per configuration version
    context = Context(
        conversation=Conversation(
            id="01JBENCH", channel=Channel.MESSENGER, account_id="PAGE", contact_id="PSID", created_at=NOW
        )
    )
    batch = messages()
    matched = sum(len(evaluate(config, message, context, NOW).matched) for message in batch) / len(batch)
    done = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        for message in batch:
            evaluate(config, message, context, NOW)
        done += len(batch)
    return done / (time.process_time() - start), matched


def hostile_regex_worst_ms(repeats: int = 5) -> tuple[float, str]:
    text = "a" * 60_000 + "!"
    worst, worst_pattern = 0.0, ""
    for pattern in HOSTILE:
        compiled = compile_regex(pattern)
        for _ in range(repeats):
            start = time.process_time()
            compiled.search(text)
            elapsed = (time.process_time() - start) * 1000
            if elapsed > worst:
                worst, worst_pattern = elapsed, pattern
    return worst, worst_pattern


def hostile_message_evaluation_ms() -> float:
    """A whole evaluation (normalization, words, every hostile pattern) of a 60 KB accented message."""
    rules = [
        {"id": f"h{i}", "when": {"text": {"regex": p}}, "then": [{"add_tags": ["x"]}]}
        for i, p in enumerate(HOSTILE)
    ]
    rules.append(
        {
            "id": "kw",
            "when": {"text": {"keyword": ["commande"], "phrase": ["où est"]}},
            "then": [stop := "stop"],
        }
    )
    config = ConfigDocument.model_validate({"rules": rules})
    program_for(config)
    text = ("où est ma commande " * 3200)[:60_000]
    message = Message(
        conversation_id="c",
        channel=Channel.SMS,
        account_id="a",
        contact_id="c",
        platform_message_id="m",
        direction=Direction.IN,
        sent_at=NOW,
        text=text,
    )
    context = Context(
        conversation=Conversation(id="c", channel=Channel.SMS, account_id="a", contact_id="c", created_at=NOW)
    )
    worst = 0.0
    for _ in range(5):
        start = time.process_time()
        evaluate(config, message, context, NOW)
        worst = max(worst, (time.process_time() - start) * 1000)
    assert stop == "stop"
    return worst


def main() -> None:
    rate, matched = throughput()
    dense_rate, dense_matched = throughput(vocabulary=30)
    worst, pattern = hostile_regex_worst_ms()
    whole = hostile_message_evaluation_ms()
    load = os.getloadavg()[0]
    print(
        f"rules engine (one core, CPU time; load average {load:.1f} on {os.cpu_count()} cores while measuring)"
    )
    print(
        f"  200-rule configuration: {rate:,.0f} messages/s, {matched:.1f} rules matched per message (target >= 20,000)"
    )
    print(
        f"  200 rules on a 30-word vocabulary (worst case): {dense_rate:,.0f} messages/s, {dense_matched:.1f} rules matched per message"
    )
    print(f"  hostile regex on a 60 KB message, worst case: {worst:.2f} ms for {pattern!r} (target < 10 ms)")
    print(f"  whole evaluation of a 60 KB message with 6 hostile patterns: {whole:.2f} ms")


if __name__ == "__main__":
    main()
