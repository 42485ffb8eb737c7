"""Every key format of the single table, in one place.

| item | pk | sk | index attributes |
|---|---|---|---|
| conversation | ``CT#<channel>#<account>#<contact>`` | ``CONV#<conversation id (ULID)>`` | ``conv_id`` (ById, keys only); ``gsi1pk`` = ``STATUS#<status>``, ``gsi1sk`` = ``<last activity ISO>#<id>`` (ByStatus) |
| message (also the dedupe marker of its platform id) | ``CT#<channel>#<account>#<contact>`` | ``MSG#<platform message id>`` | ``lsi1sk`` = ``<conversation id>#<platform ms, 13 digits>#<platform id>`` (ByConversation, LSI) |
| dedupe marker (events that are not messages) | ``DEDUPE#<channel>#<account>#<event id>`` | ``DEDUPE`` | ``ttl`` ≥ 8 days |
| side-effect claim | ``CLAIM#<kind>#<scope>`` | ``CLAIM`` | ``ttl`` |

A customer's conversations and messages share one partition, so a message and its conversation are
written in one two-item transaction, and "the customer's latest conversation" is one Query. A message
item keyed by the platform's own id is its own dedupe marker: a redelivery, days later, fails the
``attribute_not_exists`` condition and stores nothing. It is kept for as long as the message is, which
is longer than any platform retries.
"""

from __future__ import annotations

from datetime import datetime

from carehooks.clock import iso, to_epoch_ms

CONTACT_PREFIX = "CT#"
CONVERSATION_PREFIX = "CONV#"
MESSAGE_PREFIX = "MSG#"

BY_ID_INDEX = "ById"
BY_STATUS_INDEX = "ByStatus"
BY_CONVERSATION_INDEX = "ByConversation"


def contact_pk(channel: str, account_id: str, contact_id: str) -> str:
    return f"{CONTACT_PREFIX}{channel}#{account_id}#{contact_id}"


def conversation_sk(conversation_id: str) -> str:
    return f"{CONVERSATION_PREFIX}{conversation_id}"


def message_sk(platform_message_id: str) -> str:
    return f"{MESSAGE_PREFIX}{platform_message_id}"


def message_order(conversation_id: str, sent_at: datetime, platform_message_id: str) -> str:
    return f"{conversation_id}#{to_epoch_ms(sent_at):013d}#{platform_message_id}"


def status_pk(status: str) -> str:
    return f"STATUS#{status}"


def status_sk(last_activity_at: datetime, conversation_id: str) -> str:
    return f"{iso(last_activity_at)}#{conversation_id}"


def dedupe_pk(channel: str, account_id: str, event_id: str) -> str:
    return f"DEDUPE#{channel}#{account_id}#{event_id}"


def claim_pk(kind: str, scope: str) -> str:
    return f"CLAIM#{kind}#{scope}"


CLAIM_SK = "CLAIM"
DEDUPE_SK = "DEDUPE"
