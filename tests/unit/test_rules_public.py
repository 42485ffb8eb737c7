"""Rules on public comment threads: the visibility field, hide_comment, private_reply, public-safe texts."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from carehooks.rules.acknowledge import AckDraft, draft, skip_reason
from carehooks.rules.dryrun import dry_run
from carehooks.rules.engine import AckPlan, Context, Decision, evaluate
from tests.rules_support import NOW, conversation, document, message, rules_document

TEMPLATES: dict[str, Any] = {
    "default": {
        "in_hours": {"en": "Thanks {contact_name}, we will reply shortly."},
        "out_of_hours": {"en": "Thanks {contact_name}, we reopen {reopen}."},
    },
    "complaint": {
        "in_hours": {"en": "Hi {contact_name}, sorry about this. What is your order number?"},
        "out_of_hours": {"en": "Hi {contact_name}, sorry about this. We reopen {reopen}."},
        "public": {
            "in_hours": {"en": "Sorry to hear this. We have sent you a private message to sort it out."},
            "out_of_hours": {"en": "Sorry to hear this. We will message you privately when we reopen."},
        },
    },
}
RULES = """
- id: troll
  when: {all: [{visibility: public}, {text: {keyword: [idiot, scam]}}]}
  then: [hide_comment, {add_tags: [abuse]}, stop]
- id: complaint
  when: {all: [{visibility: public}, {text: {keyword: [broken, refund]}}]}
  then:
    - add_tags: [complaint]
    - acknowledge: {template: complaint}
    - private_reply: complaint
- id: private-only
  when: {visibility: private}
  then: [{add_tags: [dm]}]
"""


def public_thread(**overrides: Any) -> Context:
    values: dict[str, Any] = {"public": True, "thread_id": "c_1", "contact_name": "Jordan Smith"}
    values.update(overrides)
    return Context(conversation=conversation(**values))


def decide(text: str, context: Context) -> Decision:
    config = rules_document(RULES, acknowledgement={"templates": TEMPLATES})
    return evaluate(config, message(text, kind="comment"), context, NOW)


def test_a_troll_comment_is_hidden_and_nothing_else_happens() -> None:
    decision = decide("you are a scam", public_thread())
    assert decision.hide is not None
    assert decision.hide.rule == "troll"
    assert (decision.ack, decision.private_reply) == (None, None)
    assert decision.as_record()["hide_plan"] == {"rule": "troll"}
    assert decision.stopped_by == "troll"


def test_a_complaint_is_acknowledged_and_answered_privately() -> None:
    decision = decide("my blender arrived broken", public_thread())
    assert decision.hide is None
    assert decision.ack is not None
    assert decision.private_reply is not None
    assert (decision.private_reply.rule, decision.private_reply.template) == ("complaint", "complaint")
    assert decision.as_record()["private_reply_plan"] == {"rule": "complaint", "template": "complaint"}


def test_visibility_private_matches_direct_conversations_only() -> None:
    assert decide("hello", Context(conversation=conversation())).tags == ("dm",)
    assert decide("hello", public_thread()).tags == ()


def test_hide_comment_and_private_reply_do_nothing_in_a_direct_conversation() -> None:
    config = rules_document(
        "- id: r\n  then: [hide_comment, {private_reply: {template: complaint}}]\n",
        acknowledgement={"templates": TEMPLATES},
    )
    decision = evaluate(config, message("scam"), Context(conversation=conversation()), NOW)
    assert (decision.hide, decision.private_reply) == (None, None)
    assert [(a.action, a.status) for a in decision.actions] == [
        ("hide_comment", "skipped"),
        ("private_reply", "skipped"),
    ]


def test_a_second_hide_or_private_reply_is_skipped_and_says_which_rule_won() -> None:
    config = rules_document(
        """
        - id: first
          then: [hide_comment, {private_reply: complaint}]
        - id: second
          then: [hide_comment, {private_reply: complaint}]
        """,
        acknowledgement={"templates": TEMPLATES},
    )
    decision = evaluate(config, message("x"), public_thread(), NOW)
    skipped = [a.detail for a in decision.actions if a.rule == "second"]
    assert skipped == ["rule first already hides it", "rule first already chose a private reply"]


# -- configuration ----------------------------------------------------------------------------------
def test_an_unknown_visibility_is_a_configuration_error() -> None:
    with pytest.raises(ValidationError, match="unknown visibility 'secret'"):
        rules_document("- id: r\n  when: {visibility: secret}\n  then: [stop]\n")


def test_a_private_reply_naming_a_missing_template_is_a_configuration_error() -> None:
    with pytest.raises(ValidationError, match="private_reply: no acknowledgement template named 'nope'"):
        rules_document("- id: r\n  then: [{private_reply: nope}]\n")


def test_public_texts_may_not_name_the_customer() -> None:
    templates = {
        "default": {
            **TEMPLATES["default"],
            "public": {"in_hours": {"en": "Thanks {contact_name}!"}, "out_of_hours": {"en": "Thanks!"}},
        }
    }
    with pytest.raises(ValidationError, match=r"contact_name.*personal data"):
        document(acknowledgement={"templates": templates})


def test_literal_braces_are_not_a_placeholder_in_public_texts() -> None:
    templates = {
        "default": {
            **TEMPLATES["default"],
            "public": {"in_hours": {"en": "Thanks {{contact_name}}"}, "out_of_hours": {"en": "Thanks"}},
        }
    }
    assert document(acknowledgement={"templates": templates}).acknowledgement.templates["default"].public


def test_public_texts_need_the_default_language() -> None:
    templates = {
        "default": {
            **TEMPLATES["default"],
            "public": {"in_hours": {"fr": "Merci !"}, "out_of_hours": {"fr": "Merci !"}},
        }
    }
    with pytest.raises(ValidationError, match=r"templates\.default\.public: in_hours and out_of_hours"):
        document(acknowledgement={"templates": templates})


# -- public-safe acknowledgements -------------------------------------------------------------------
def test_a_public_acknowledgement_uses_the_public_text_and_never_the_name() -> None:
    config = document(acknowledgement={"templates": TEMPLATES})
    prepared = draft(config, AckPlan("complaint", "complaint", None), public_thread().conversation, "en", NOW)
    assert isinstance(prepared, AckDraft)
    assert prepared.text == "Sorry to hear this. We have sent you a private message to sort it out."
    assert "Jordan" not in prepared.text


def test_a_template_without_public_texts_acknowledges_no_public_thread() -> None:
    config = document(acknowledgement={"templates": TEMPLATES})
    reason = draft(config, AckPlan("r", "default", None), public_thread().conversation, "en", NOW)
    assert isinstance(reason, str)
    assert "no public text" in reason


def test_the_same_template_in_a_direct_conversation_greets_by_name() -> None:
    config = document(acknowledgement={"templates": TEMPLATES})
    conv = conversation(contact_name="Jordan Smith")
    prepared = draft(config, AckPlan("r", "complaint", None), conv, "en", NOW)
    assert isinstance(prepared, AckDraft)
    assert prepared.text.startswith("Hi Jordan,")


def test_a_comment_thread_has_no_messaging_window_for_its_acknowledgement() -> None:
    old = NOW.replace(year=2024)
    conv = public_thread(last_inbound_at=old).conversation
    assert skip_reason(message("x", sent_at=old), conv, NOW) is None


def test_the_dry_run_shows_the_public_acknowledgement_and_the_plans() -> None:
    config = rules_document(RULES, acknowledgement={"templates": TEMPLATES})
    result = dry_run(config, message("it arrived broken", kind="comment"), public_thread(), NOW)
    assert result.ack is not None
    assert result.ack.text.startswith("Sorry to hear this.")
    assert result.as_dict()["decision"]["private_reply_plan"]["template"] == "complaint"
