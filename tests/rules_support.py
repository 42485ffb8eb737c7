"""Builders for the rules tests: configuration documents from YAML, messages, conversations."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from typing import Any

import yaml

from carehooks.config.document import ConfigDocument
from carehooks.domain.models import Channel, Conversation, Direction, Message

NOW = datetime(2025, 6, 4, 10, 0, tzinfo=UTC)  # a Wednesday

TEMPLATES = {
    "default": {
        "in_hours": {"en": "Thanks {contact_name}, we will reply shortly."},
        "out_of_hours": {"en": "Thanks {contact_name}, we reopen {reopen}."},
    }
}


def document(text: str = "", **sections: Any) -> ConfigDocument:
    """A document from YAML text and/or sections; acknowledgement templates default to a minimal set."""
    data: dict[str, Any] = yaml.safe_load(textwrap.dedent(text)) or {}
    data.update(sections)
    data.setdefault("acknowledgement", {"templates": TEMPLATES})
    return ConfigDocument.model_validate(data)


def rules_document(rules_yaml: str, **sections: Any) -> ConfigDocument:
    return document(f"rules:\n{textwrap.indent(textwrap.dedent(rules_yaml), '  ')}", **sections)


def conversation(**overrides: Any) -> Conversation:
    values: dict[str, Any] = {
        "id": "01JCONVERSATION0000000001",
        "channel": Channel.MESSENGER,
        "account_id": "PAGE",
        "contact_id": "PSID",
        "created_at": NOW,
        "last_inbound_at": NOW,
        "last_activity_at": NOW,
    }
    values.update(overrides)
    return Conversation(**values)


def message(text: str = "hello", **overrides: Any) -> Message:
    values: dict[str, Any] = {
        "conversation_id": "01JCONVERSATION0000000001",
        "channel": Channel.MESSENGER,
        "account_id": "PAGE",
        "contact_id": "PSID",
        "platform_message_id": "m_1",
        "direction": Direction.IN,
        "sent_at": NOW,
        "text": text,
        "stored_at": NOW,
    }
    values.update(overrides)
    return Message(**values)
