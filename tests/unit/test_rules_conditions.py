"""Conditions: every operator, every field kind, all / any / not, and the order rules run in."""

from __future__ import annotations

from typing import Any

import pytest

from carehooks.domain.models import Channel
from carehooks.rules.engine import Context, evaluate
from tests.rules_support import NOW, conversation, message, rules_document


def matches(when: str, text: str = "hello", conv: dict[str, Any] | None = None, **fields: Any) -> bool:
    config = rules_document(f"- id: r\n  when: {when}\n  then: [{{add_tags: [hit]}}]\n")
    context = Context(conversation=conversation(**(conv or {})))
    return evaluate(config, message(text, **fields), context, NOW).matched == ("r",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Where is my ORDER?", True),
        ("où est ma commande", False),
        ("I ordered twice", False),  # whole words only: "ordered" is not "order"
        ("order#1234", True),
        ("", False),
    ],
)
def test_keyword_matches_whole_words_case_insensitively(text: str, expected: bool) -> None:
    assert matches("{text: {keyword: [order]}}", text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Où est ma COMMANDE ?", True),
        ("ou est ma commande", True),
        ("OÙ   EST\nMA commande!!", True),
        ("vous est ma commande", False),  # "ou" must be a whole word
        ("où est la commande", False),
    ],
)
def test_phrase_matches_word_sequences_ignoring_accents_case_and_spacing(text: str, expected: bool) -> None:
    assert matches('{text: {phrase: ["où est ma commande"]}}', text) is expected


def test_keyword_written_with_accents_matches_text_without_them() -> None:
    assert matches("{text: {keyword: [réclamation]}}", "une RECLAMATION urgente")


def test_regex_searches_the_raw_text() -> None:
    assert matches('{text: {regex: "#\\\\d{4}"}}', "order #1234")
    assert not matches('{text: {regex: "#\\\\d{4}"}}', "order 1234")
    assert matches('{text: {regex: "(?i)refund"}}', "REFUND please")


def test_text_equals_and_in_compare_the_whole_normalized_text() -> None:
    assert matches('{text: {equals: "Hi!"}}', "  hi ")
    assert not matches('{text: {equals: "hi"}}', "hi there")
    assert matches('{text: {in: ["thanks", "thank you"]}}', "Thank you!!")


def test_several_text_operators_must_all_hold() -> None:
    when = '{text: {keyword: [order], regex: "\\\\d+"}}'
    assert matches(when, "order 12")
    assert not matches(when, "order please")


def test_channel_equals_in_and_shorthands() -> None:
    assert matches("{channel: {equals: messenger}}")
    assert matches("{channel: messenger}")
    assert matches("{channel: [whatsapp, messenger]}")
    assert not matches("{channel: {in: [whatsapp, sms]}}")
    assert matches("{channel: whatsapp}", channel=Channel.WHATSAPP)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("{account: PAGE}", True),
        ("{customer: [PSID, other]}", True),
        ("{customer: other}", False),
        ("{kind: text}", True),
        ("{status: open}", True),
        ("{status: [pending, resolved]}", False),
        ("{priority: normal}", True),
        ("{language: en}", True),
        ("{language: fr}", False),
    ],
)
def test_value_fields(when: str, expected: bool) -> None:
    assert matches(when, "where is my order please") is expected


def test_detected_language_condition() -> None:
    assert matches("{language: fr}", "Bonjour, où est ma commande ? merci")
    assert matches("{language: es}", "Hola, ¿dónde está mi pedido?")


def test_tags_contains_any_and_empty() -> None:
    tagged = {"tags": ["vip", "order"]}
    assert matches("{tags: vip}", conv=tagged)
    assert matches("{tags: {in: [spam, order]}}", conv=tagged)
    assert not matches("{tags: {in: [spam]}}", conv=tagged)
    assert matches("{tags: {empty: true}}")
    assert not matches("{tags: {empty: true}}", conv=tagged)


def test_attachment_kinds() -> None:
    with_image = {"attachments": [{"kind": "image", "url": "https://x"}]}
    assert matches("{attachments: image}", **with_image)
    assert not matches("{attachments: {in: [video, file]}}", **with_image)
    assert matches("{attachments: {empty: true}}")


def test_boolean_fields() -> None:
    assert matches("{assigned: false}")
    assert matches("{assigned: true}", conv={"assignee": "alice"})
    assert not matches("{vip: true}")
    assert not matches("{returning_customer: true}")
    assert not matches("{new_conversation: true}")
    assert not matches("{reopened: true}")


def test_vip_list_names_channel_and_customer() -> None:
    config = rules_document(
        "- id: r\n  when: {vip: true}\n  then: [stop]\n", customers={"vip": ["messenger:PSID"]}
    )
    assert evaluate(config, message(), Context(conversation=conversation()), NOW).matched == ("r",)
    other = message(channel=Channel.WHATSAPP)
    assert evaluate(config, other, Context(conversation=conversation()), NOW).matched == ()


def test_returning_customer_needs_an_earlier_conversation() -> None:
    config = rules_document("- id: r\n  when: {returning_customer: true}\n  then: [stop]\n")
    earlier = conversation(id="01JEARLIER000000000000001")
    assert evaluate(
        config, message(), Context(conversation=conversation(), history=(earlier,)), NOW
    ).matched == ("r",)
    assert evaluate(config, message(), Context(conversation=conversation()), NOW).matched == ()


def test_all_any_not() -> None:
    when = "{all: [{channel: messenger}, {any: [{text: {keyword: [refund]}}, {text: {keyword: [order]}}]}, {not: {tags: spam}}]}"
    assert matches(when, "my order")
    assert matches(when, "a refund")
    assert not matches(when, "hello")
    assert not matches(when, "my order", conv={"tags": ["spam"]})


def test_several_fields_in_one_mapping_must_all_hold() -> None:
    assert matches("{channel: messenger, text: {keyword: [order]}}", "order")
    assert not matches("{channel: whatsapp, text: {keyword: [order]}}", "order")


def test_a_rule_without_condition_always_matches() -> None:
    config = rules_document("- id: always\n  then: [{add_tags: [seen]}]\n")
    assert evaluate(config, message(), Context(conversation=conversation()), NOW).tags == ("seen",)


def test_disabled_rules_do_not_run() -> None:
    config = rules_document("- id: disabled\n  enabled: false\n  then: [{add_tags: [seen]}]\n")
    assert evaluate(config, message(), Context(conversation=conversation()), NOW).matched == ()


def test_later_rules_see_tags_added_by_earlier_ones() -> None:
    config = rules_document(
        """
        - id: tag
          when: {text: {keyword: [order]}}
          then: [{add_tags: [order]}]
        - id: escalate
          when: {tags: order}
          then: [{set_priority: high}]
        """
    )
    decision = evaluate(config, message("order"), Context(conversation=conversation()), NOW)
    assert decision.matched == ("tag", "escalate")
    assert decision.priority == "high"


def test_within_hours_uses_the_default_calendar() -> None:
    calendars = {"office": {"timezone": "Europe/Paris", "hours": {"wed": ["09:00-18:00"]}}}
    config = rules_document(
        """
        - id: closed
          when: {within_hours: false}
          then: [{add_tags: [out-of-hours]}]
        """,
        calendars=calendars,
        defaults={"calendar": "office"},
    )
    context = Context(conversation=conversation())
    # 10:00 UTC = 12:00 in Paris (summer): open.
    assert evaluate(config, message(), context, NOW).matched == ()
    late = NOW.replace(hour=21)
    assert evaluate(config, message(), context, late).matched == ("closed",)


def test_evaluation_is_pure_and_repeatable() -> None:
    config = rules_document("- id: r\n  when: {text: {keyword: [order]}}\n  then: [{add_tags: [order]}]\n")
    conv = conversation(tags=["old"])
    first = evaluate(config, message("order"), Context(conversation=conv), NOW)
    second = evaluate(config, message("order"), Context(conversation=conv), NOW)
    assert first == second
    assert conv.tags == ["old"]  # the input is not changed


def test_indexed_and_unindexed_rules_still_run_in_declared_order() -> None:
    from carehooks.rules.engine import program_for, required_words

    config = rules_document(
        """
        - id: first
          when: {not: {tags: spam}}
          then: [{add_tags: [a]}]
        - id: second
          when: {text: {phrase: ["where is my order"]}}
          then: [{add_tags: [b]}]
        - id: third
          when: {any: [{text: {keyword: [parcel]}}, {text: {regex: "#\\\\d+"}}]}
          then: [{add_tags: [c]}]
        - id: fourth
          when: {all: [{channel: messenger}, {text: {keyword: [order, parcel]}}]}
          then: [{add_tags: [d]}]
        """
    )
    program = program_for(config)
    assert program.unindexed == (0, 2)  # "not" and a regex alternative need no particular word
    assert required_words(config.rules[1].when) == frozenset({"where"})
    decision = evaluate(config, message("Where is my order #12"), Context(conversation=conversation()), NOW)
    assert decision.matched == ("first", "second", "third", "fourth")
    assert evaluate(config, message("hello"), Context(conversation=conversation()), NOW).matched == ("first",)
