"""Every key format of the single table, in one place.

| item | pk | sk | index attributes |
|---|---|---|---|
| conversation | ``CT#<channel>#<account>#<contact>``, or ``CT#<channel>#<account>#thread:<thread id>`` for a public comment thread | ``CONV#<conversation id (ULID)>`` | ``conv_id`` (ById, keys only); ``gsi1pk`` = ``STATUS#<status>#<shard 0..31>``, ``gsi1sk`` = ``<turn ISO>#<id>`` (ByStatus); ``created_pk`` = ``DAY#<yyyy-mm-dd>#<shard 0..15>`` (ByCreated, keys only) |
| message (also the dedupe marker of its platform id) | its conversation's partition | ``MSG#<platform message id>`` | ``lsi1sk`` = ``<conversation id>#<platform ms, 13 digits>#<platform id>`` (ByConversation, LSI) |
| dedupe marker (events that are not messages) | ``DEDUPE#<channel>#<account>#<event id>`` | ``DEDUPE`` | ``ttl`` ≥ 8 days |
| side-effect claim | ``CLAIM#<kind>#<scope>`` | ``CLAIM`` | ``ttl`` |
| send log (sends skipped or failed, with why) | ``SENDLOG#<conversation id>`` | ``<attempt ISO>#<ULID>`` | ``ttl`` 90 days |
| survey due marker (attributes of a conversation) | (the conversation's) | (the conversation's) | ``survey_due_pk`` = ``SURVEYDUE#<shard 0..15>``, ``survey_due_at`` = ``<due ISO>#<conversation id>`` (BySurveyDue, keys only, sparse: only resolved conversations awaiting a survey) |
| report day, data model v1 (attributes of a conversation; no longer written) | (the conversation's) | (the conversation's) | ``day_pk`` = ``DAY#<yyyy-mm-dd>``, ``day_sk`` = ``<created ISO>#<conversation id>`` (ByDay, all attributes: read until ``carehooks migrate`` has run) |
| SLA due marker (attributes of a conversation) | (the conversation's) | (the conversation's) | ``sla_due_pk`` = ``SLADUE#<shard 0..31>`` (crc32 of the conversation id), ``sla_due_at`` = ``<next due ISO>`` (BySlaDue, keys only, sparse: only conversations whose SLA clock runs and has a rung left) |
| SLA policy marker | ``SLAPOLICY`` | ``SLAPOLICY`` | fingerprint of the SLA policies the open conversations were last derived with |
| conversation event (an agent's action: assign, tag, priority, resolve, reopen) | its conversation's partition | ``EVT#<conversation id>#<at ISO>#<ULID>`` | none: read with its conversation, one Query ``begins_with(sk, "EVT#<conversation id>#")`` |
| assignee queue (attributes of a conversation) | (the conversation's) | (the conversation's) | ``assignee_pk`` = ``AGENT#<status>#<assignee>``, range ``gsi1sk`` (ByAssignee, sparse: only assigned conversations) |
| saved reply (the team's library, one partition) | ``SAVEDREPLY`` | ``REPLY#<saved reply id (ULID)>`` (its shortcode's claim: ``SHORTCODE#<shortcode>``, with ``reply_id``, written and removed in the same transaction as the reply) | none: the library is read with one Query of its partition (``begins_with(sk, "REPLY#")``, a small projection), O(library) |

| contact (one platform identity: names, attributes, linked identities; versioned) | ``CT#<channel>#<account>#<contact>`` | ``CONTACT`` | none |
| contact note (private note on the person) | the contact's partition | ``NOTE#<ULID>`` | none: one Query ``begins_with(sk, "NOTE#")`` per linked identity |
| contact event (note added or deleted, link, unlink, edit) | the contact's partition | ``CEVT#<at ISO>#<ULID>`` | none |
| conversation note (internal; recorded as a conversation event) | its conversation's partition | ``CNOTE#<conversation id>#<ULID>`` | none: one Query ``begins_with(sk, "CNOTE#<conversation id>#")`` |
| volume counter (issue 17, spike alerts: inbound messages of one channel and account in one 5-minute bucket, one shard) | ``VOL#<bucket start, yyyymmddThhmm UTC>#<shard 0..31>`` | ``<channel>#<account>`` | none: ``n`` (messages), ``t#<tag>`` (messages per conversation tag), ``ttl`` 30 days; a bucket's groups are one Query per shard, a group's past buckets one BatchGetItem |
| spike state (issue 17: one per channel and account while its spike lasts) | ``SPIKES`` | ``<channel>#<account>`` | none: the active spikes are one Query of the partition |

| automation cursor (issue 17: per timer, status and ``after``, the ``ByStatus`` sort key each shard was dealt with up to; ``marks`` map) | ``AUTOCURSOR`` | ``<timer>#<status>#<after seconds>``, e.g. ``resolve#pending#172800`` | none: one Query of the partition per run |

| erasure tombstone (issue 18: ``store/erasure.py``; all that is kept of an erased identity) | ``ERASED#<channel>#<account>#<digest>`` (``digest``: HMAC-SHA256 of the contact id, hex) | ``ERASED`` | none: one GetItem, only when a message would open a conversation |

Acknowledgement claims (kinds of ``CLAIM#``): ``ack#<conversation id>`` (a conversation is acknowledged
at most once; the claim records ``outcome`` and the sent ``platform_message_id``),
``ack-contact#<channel>#<account>#<contact>`` (per-customer cooldown across conversations: its ``ttl`` is
the end of the cooldown). The rules' decision for a message is the ``rules`` map attribute of the message
item (see ``store/rules.py``); the conversation's team is its ``team`` attribute.

Survey claims (kinds of ``CLAIM#``): ``survey#<conversation id>`` (the survey of a conversation is sent at
most once), ``survey-contact#<channel>#<account>#<contact>`` (per-customer cooldown: its ``ttl`` is the end
of the cooldown), ``csat-alert#<conversation id>`` (one low-score alert per conversation). The survey due
marker is spread over :data:`SURVEY_DUE_SHARDS` partitions; dispatch reads each with one Query
``survey_due_at <= now``. The creation-day index (keys only, written once per conversation) spreads a
day over :data:`DAY_SHARDS` partitions; a report reads those of each day of its range, then the
conversations with BatchGetItem, never the table.

SLA alert claims (kind ``sla``): ``<conversation id>#<metric>#<clock cycle start, epoch ms>#<rung>``, e.g.
``sla#01J…#first_response#1767261600000#breach``: one email per conversation, metric, wait and level. The
SLA due marker is spread over :data:`SLA_DUE_SHARDS` partitions so that busy conversation writes never
make one index partition hot; the monitor reads each shard with one Query ``sla_due_at <= now``.

Agent lists (``store/queries.py``): ``ByStatus`` and ``ByAssignee`` share the sort key ``gsi1sk`` (turn:
when the conversation last changed hands, then id) and project the attributes lists filter on (``channel``, ``tags``, ``priority``,
``assignee``, ``sla_state``, ``conv_id``), so a filter runs inside the index Query and only a page's
matches are then read with BatchGetItem. An agent's own queue is exact (``ByAssignee``); a status list
merges the :data:`STATUS_SHARDS` partitions of its status. Events of a conversation sit in its customer's partition, after its
conversations (``CONV#``) and before its messages (``MSG#``), and are written in the same transaction as
the change they record.

Public comment threads (Facebook Page comments, Instagram comments and mentions) are one conversation per
thread, whoever writes in it: the thread's conversations, messages and events share the partition
``CT#<channel>#<account>#thread:<thread id>`` (the thread id is the top-level comment's id; ``thread:``
cannot clash with a platform's customer id, which never contains a colon). Their ``contact_id`` stays the
author (the top-level commenter on the conversation, each comment's author on its message), and
``thread_id`` on the conversation and message items names the partition. Private reply claims:
``private-reply#<comment id>`` (Meta allows one private reply per comment; its ``ttl`` outlives the
7-day limit). Profile claims (kind ``profile``): ``profile#<channel>#<account>#<contact>``, one fetch
of a customer's platform profile a day (its ``ttl``; given back when the fetch fails).

A customer's conversations and messages share one partition, so "the customer's latest conversation" is
one Query. A message is written first, then its conversation (``store/table.py``: ``record_message``):
the message item keyed by the platform's own id is its own dedupe marker, and carries the ``seq`` it
makes on its conversation, so a redelivery, days later, finds it accounted and stores nothing. It is
kept for as long as the message is, which is longer than any platform retries.
"""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime

from carehooks.clock import iso, parse_iso, to_epoch_ms

CONTACT_PREFIX = "CT#"
CONVERSATION_PREFIX = "CONV#"
MESSAGE_PREFIX = "MSG#"

BY_ID_INDEX = "ById"
BY_STATUS_INDEX = "ByStatus"
BY_CONVERSATION_INDEX = "ByConversation"
BY_SURVEY_DUE_INDEX = "BySurveyDue"
BY_DAY_INDEX = "ByDay"
BY_SLA_DUE_INDEX = "BySlaDue"

SURVEY_DUE_PK_ATTR = "survey_due_pk"
SURVEY_DUE_SK_ATTR = "survey_due_at"
SURVEY_DUE_PARTITION = "SURVEYDUE"  # data model v1: one partition (read until migrated)
DAY_PK_ATTR = "day_pk"  # data model v1 (ByDay, all attributes): read until migrated, never written
DAY_SK_ATTR = "day_sk"
BY_CREATED_INDEX = "ByCreated"
CREATED_PK_ATTR = "created_pk"
STATUS_SHARDS = 32
DAY_SHARDS = 16
SURVEY_DUE_SHARDS = 16
SLA_DUE_PK_ATTR = "sla_due_pk"
SLA_DUE_SK_ATTR = "sla_due_at"
SLA_DUE_SHARDS = 32  # raised from 16 in data model v2: readers read every shard, so old markers are found
SLA_POLICY_KEY = "SLAPOLICY"
SLA_CLAIM_KIND = "sla"


THREAD_CONTACT_PREFIX = "thread:"
PRIVATE_REPLY_CLAIM_KIND = "private-reply"


def contact_pk(channel: str, account_id: str, contact_id: str) -> str:
    return f"{CONTACT_PREFIX}{channel}#{account_id}#{contact_id}"


def conversation_pk(channel: str, account_id: str, contact_id: str, thread_id: str | None = None) -> str:
    """The partition of a conversation, its messages and events: the customer's, or its public thread's."""
    if thread_id:
        return contact_pk(channel, account_id, f"{THREAD_CONTACT_PREFIX}{thread_id}")
    return contact_pk(channel, account_id, contact_id)


def conversation_sk(conversation_id: str) -> str:
    return f"{CONVERSATION_PREFIX}{conversation_id}"


def message_sk(platform_message_id: str) -> str:
    return f"{MESSAGE_PREFIX}{platform_message_id}"


def message_order(conversation_id: str, sent_at: datetime, platform_message_id: str) -> str:
    return f"{conversation_id}#{to_epoch_ms(sent_at):013d}#{platform_message_id}"


def shard_of(conversation_id: str, shards: int) -> int:
    """A conversation's shard among ``shards`` (crc32: stable across processes, unlike ``hash``)."""
    return zlib.crc32(conversation_id.encode()) % shards


def status_pk(status: str, conversation_id: str) -> str:
    """The ``ByStatus`` partition of a conversation: its status and its shard."""
    return f"STATUS#{status}#{shard_of(conversation_id, STATUS_SHARDS)}"


def status_partitions(status: str) -> list[str]:
    """Every ``ByStatus`` partition of one status: its shards, then the data model v1 partition."""
    return [f"STATUS#{status}#{n}" for n in range(STATUS_SHARDS)] + [legacy_status_pk(status)]


def legacy_status_pk(status: str) -> str:
    """Data model v1: one ``ByStatus`` partition per status (read until ``carehooks migrate`` has run)."""
    return f"STATUS#{status}"


def status_sk(turn_at: datetime, conversation_id: str) -> str:
    """The list order: when the conversation last changed hands (see ``domain.conversations.turn``)."""
    return f"{iso(turn_at)}#{conversation_id}"


def dedupe_pk(channel: str, account_id: str, event_id: str) -> str:
    return f"DEDUPE#{channel}#{account_id}#{event_id}"


def claim_pk(kind: str, scope: str) -> str:
    return f"CLAIM#{kind}#{scope}"


CLAIM_SK = "CLAIM"
DEDUPE_SK = "DEDUPE"


def survey_due_sk(due_at: datetime, conversation_id: str) -> str:
    """Sort key of a survey due marker: due time first, so ``<= now`` selects exactly what is due."""
    return f"{iso(due_at)}#{conversation_id}"


def survey_due_upper_bound(now: datetime) -> str:
    """The greatest ``survey_due_at`` that is due at ``now`` (``~`` sorts after every id character)."""
    return f"{iso(now)}#~"


def due_time(sort_key: str) -> datetime:
    """The due time a due marker's sort key starts with (``survey_due_at``, ``sla_due_at``)."""
    return parse_iso(sort_key.split("#", 1)[0])


def survey_due_pk(conversation_id: str) -> str:
    return f"{SURVEY_DUE_PARTITION}#{shard_of(conversation_id, SURVEY_DUE_SHARDS)}"


def survey_due_partitions() -> list[str]:
    """Every survey due partition: the shards, then the data model v1 partition."""
    return [f"{SURVEY_DUE_PARTITION}#{n}" for n in range(SURVEY_DUE_SHARDS)] + [SURVEY_DUE_PARTITION]


def legacy_day_pk(day: date) -> str:
    """Data model v1: the ``ByDay`` partition of one UTC day."""
    return f"DAY#{day.isoformat()}"


def created_pk(created_at: datetime, conversation_id: str) -> str:
    """The ``ByCreated`` partition of a conversation: its UTC creation day and its shard."""
    day = created_at.astimezone(UTC).date()
    return f"DAY#{day.isoformat()}#{shard_of(conversation_id, DAY_SHARDS)}"


def created_partitions(day: date) -> list[str]:
    """Every ``ByCreated`` partition of one UTC day."""
    return [f"DAY#{day.isoformat()}#{n}" for n in range(DAY_SHARDS)]


def sla_shard(conversation_id: str) -> int:
    """The SLA due shard of a conversation."""
    return shard_of(conversation_id, SLA_DUE_SHARDS)


def sla_due_pk(shard: int) -> str:
    return f"SLADUE#{shard}"


def sla_due_sk(due_at: datetime) -> str:
    """Sort key of the SLA due marker: the due time, so ``<= now`` selects exactly what is due."""
    return iso(due_at)


def sla_alert_scope(conversation_id: str, metric: str, cycle: datetime, rung: str) -> str:
    """Claim scope of one SLA alert: a conversation, a metric, one run of its clock, one rung."""
    return f"{conversation_id}#{metric}#{to_epoch_ms(cycle)}#{rung}"


def send_log_pk(conversation_id: str) -> str:
    """Sends of a conversation that were skipped or failed, each with its readable reason."""
    return f"SENDLOG#{conversation_id}"


def send_log_sk(at: datetime, unique: str) -> str:
    return f"{iso(at)}#{unique}"


BY_ASSIGNEE_INDEX = "ByAssignee"
ASSIGNEE_PK_ATTR = "assignee_pk"
LIST_SORT_ATTR = "gsi1sk"
EVENT_PREFIX = "EVT#"


def assignee_pk(status: str, assignee: str) -> str:
    """Partition of one agent's conversations in one status (the ByAssignee index)."""
    return f"AGENT#{status}#{assignee}"


def event_prefix(conversation_id: str) -> str:
    """Every event of one conversation sorts under this prefix, oldest first."""
    return f"{EVENT_PREFIX}{conversation_id}#"


def event_sk(conversation_id: str, at: datetime, unique: str) -> str:
    return f"{event_prefix(conversation_id)}{iso(at)}#{unique}"


SAVED_REPLY_PK = "SAVEDREPLY"
SAVED_REPLY_PREFIX = "REPLY#"
SHORTCODE_PREFIX = "SHORTCODE#"


def saved_reply_sk(reply_id: str) -> str:
    """A saved reply in the library's partition (``SAVEDREPLY``)."""
    return f"{SAVED_REPLY_PREFIX}{reply_id}"


def shortcode_sk(shortcode: str) -> str:
    """The claim that makes a shortcode unique, in the library's partition."""
    return f"{SHORTCODE_PREFIX}{shortcode}"


# -- contacts and notes (issue 16: store/contacts.py) --------------------------------------------------------
CONTACT_SK = "CONTACT"
CONTACT_NOTE_PREFIX = "NOTE#"
CONTACT_EVENT_PREFIX = "CEVT#"
CONVERSATION_NOTE_PREFIX = "CNOTE#"
PROFILE_CLAIM_KIND = "profile"


def contact_note_sk(note_id: str) -> str:
    return f"{CONTACT_NOTE_PREFIX}{note_id}"


def contact_event_sk(at: datetime, unique: str) -> str:
    return f"{CONTACT_EVENT_PREFIX}{iso(at)}#{unique}"


def conversation_note_prefix(conversation_id: str) -> str:
    """Every internal note of one conversation sorts under this prefix, oldest first."""
    return f"{CONVERSATION_NOTE_PREFIX}{conversation_id}#"


def conversation_note_sk(conversation_id: str, note_id: str) -> str:
    return f"{conversation_note_prefix(conversation_id)}{note_id}"


# -- spike alerts (issue 17: store/spikes.py, automation/spikes.py) ------------------------------------------
VOLUME_PREFIX = "VOL#"
VOLUME_SHARDS = 32  # a bucket's writes spread over 32 partitions: 10,000 messages a second = 313 WCU/s each
VOLUME_BUCKET_SECONDS = 300
SPIKES_PK = "SPIKES"
VOLUME_TAG_PREFIX = "t#"


def volume_bucket(at: datetime) -> str:
    """The 5-minute bucket holding ``at``: its start, ``yyyymmddThhmm`` UTC."""
    utc = at.astimezone(UTC)
    return utc.replace(minute=utc.minute - utc.minute % 5, second=0, microsecond=0).strftime("%Y%m%dT%H%M")


def volume_bucket_start(bucket: str) -> datetime:
    return datetime.strptime(bucket, "%Y%m%dT%H%M").replace(tzinfo=UTC)


def volume_pk(bucket: str, shard: int) -> str:
    return f"{VOLUME_PREFIX}{bucket}#{shard}"


def volume_shard(unique: str) -> int:
    """The shard a message's count goes to (crc32 of its platform id: spread, and stable on retries)."""
    return zlib.crc32(unique.encode()) % VOLUME_SHARDS


def volume_group(channel: str, account_id: str) -> str:
    """The counter's sort key and the spike state's: one channel account."""
    return f"{channel}#{account_id}"


# -- automation over time (issue 17: store/automation.py) -------------------------------------------------
# Claims (kinds of ``CLAIM#``): ``auto-resolve#<conversation id>#<turn epoch ms>`` (one automatic
# resolution, and its closing message, per wait of the customer), ``assignee-timer#<conversation id>#<turn
# epoch ms>`` (one reassignment per wait: the new assignee is not timed again until the customer waits again), ``sla-action#<SLA alert scope>`` (a
# rung's actions run once per conversation, metric, clock cycle and rung).
AUTOMATION_CURSOR_PK = "AUTOCURSOR"
AUTO_RESOLVE_CLAIM_KIND = "auto-resolve"
ASSIGNEE_TIMER_CLAIM_KIND = "assignee-timer"
SLA_ACTION_CLAIM_KIND = "sla-action"


def automation_cursor_sk(timer: str, status: str, after_seconds: int) -> str:
    """The cursor item of one timer (``resolve``, ``assignee``), status and ``after`` (in seconds)."""
    return f"{timer}#{status}#{after_seconds}"


def after_list_key(list_key: str) -> str:
    """The smallest ``gsi1sk`` greater than ``list_key`` (keys never extend one another: ids have a fixed
    length, and bounds end in ``~``), for a Query's ``BETWEEN`` lower bound."""
    return f"{list_key} "


def list_key_upper_bound(at: datetime) -> str:
    """The greatest ``gsi1sk`` of a conversation that turned at or before ``at``."""
    return f"{iso(at)}#~"


def auto_resolve_scope(conversation_id: str, turn_at: datetime) -> str:
    return f"{conversation_id}#{to_epoch_ms(turn_at)}"


def assignee_timer_scope(conversation_id: str, turn_at: datetime) -> str:
    return f"{conversation_id}#{to_epoch_ms(turn_at)}"


# -- erasure tombstones (issue 18: store/erasure.py) ------------------------------------------------------
TOMBSTONE_PREFIX = "ERASED#"
TOMBSTONE_SK = "ERASED"


def tombstone_pk(channel: str, account_id: str, digest: str) -> str:
    """The tombstone of an erased identity: its channel, account and the keyed digest of its contact id."""
    return f"{TOMBSTONE_PREFIX}{channel}#{account_id}#{digest}"
