"""Which committed change makes which domain event: a pure function of one DynamoDB stream record.

| item (see ``store/keys.py``) | change | detail-type |
|---|---|---|
| conversation (``CONV#``) | inserted | ``conversation.created`` |
| conversation | assignee or team differs from the old image (or set on insert) | ``conversation.assigned`` |
| conversation | status becomes ``resolved`` | ``conversation.resolved`` |
| conversation | status leaves ``resolved`` | ``conversation.reopened`` |
| conversation | ``csat.score`` appears | ``csat.received`` |
| message (``MSG#``), direction ``in`` | inserted | ``message.received`` |
| message, direction ``out`` | inserted | ``message.sent`` (an agent's, a platform inbox's or automation's: ``author``, ``automated``) |
| SLA alert claim (``CLAIM#sla#…``) | ``sent_at`` appears (its email went out) | ``sla.warning`` / ``sla.breach`` / ``sla.escalation`` |
| conversation | a rung joins its SLA state's done list (``sla.wait_done`` / ``res_done``) | the same SLA event, same id |
| erasure tombstone (``ERASED#…``, sk ``ERASED``) | inserted, or rewritten with a new ``event_id`` | ``contact.erased`` |

REMOVE records (erasure, TTL expiry) and every other change (message status, rules decisions, due
markers, claims of other kinds) publish nothing. Ids: ``detail.id`` is a UUID named by the detail-type,
the item's key and what identifies the change (the conversation's ``version``, else the record's
sequence number), so a redelivered record, or a table rebuilt from the archive, gives the same ids.

An SLA alert is published from either record that says it happened: its claim marked sent, or the rung
recorded on the conversation (each can be written without the other when a write fails after the
email). Both name the alert ``(conversation, metric, clock cycle, rung)`` and so give one id; only their
``occurred_at`` differs (each record's own time).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from carehooks.clock import iso, parse_iso
from carehooks.config.sla import Metric
from carehooks.events.images import plain_image
from carehooks.events.model import DetailType, DomainEvent, event_id
from carehooks.store import keys
from carehooks.store.erasure import TOMBSTONE_TYPE as TOMBSTONE_ITEM_TYPE

SLA_CLAIM_PREFIX = keys.claim_pk(keys.SLA_CLAIM_KIND, "")
# The erasure tombstone (written by store/erasure.py): its key and type, from there.
TOMBSTONE_PREFIX = keys.TOMBSTONE_PREFIX
TOMBSTONE_SK = keys.TOMBSTONE_SK
TOMBSTONE_TYPE = TOMBSTONE_ITEM_TYPE
RESOLVED = "resolved"
SLA_STATE_ATTRIBUTE = "sla"  # the SLA clocks' state on a conversation (sla/clocks.py)
SLA_KINDS = {
    "warning": DetailType.SLA_WARNING,
    "breach": DetailType.SLA_BREACH,
    "escalation": DetailType.SLA_ESCALATION,
}

Image = dict[str, Any]


def events_of(record: Mapping[str, Any]) -> list[DomainEvent]:  # noqa: PLR0911 - one answer per item kind
    """The domain events one stream record (Lambda's shape, ``NEW_AND_OLD_IMAGES``) stands for."""
    if record.get("eventName") not in ("INSERT", "MODIFY"):
        return []
    stream = record.get("dynamodb") or {}
    new = plain_image(stream.get("NewImage"))
    if not new:
        return []
    old = plain_image(stream.get("OldImage")) if record.get("eventName") == "MODIFY" else None
    change = _Change(new, old, _approximate_time(stream), str(stream.get("SequenceNumber", "")))
    pk, sk = str(new.get("pk", "")), str(new.get("sk", ""))
    if sk.startswith(keys.CONVERSATION_PREFIX):
        return _conversation_events(change)
    if sk.startswith(keys.MESSAGE_PREFIX):
        return _message_events(change)
    if pk.startswith(SLA_CLAIM_PREFIX) and sk == keys.CLAIM_SK:
        return _sla_events(change)
    if pk.startswith(TOMBSTONE_PREFIX) and sk == TOMBSTONE_SK and new.get("type") == TOMBSTONE_TYPE:
        return _erasure_events(change)
    return []


class _Change:
    """One record's images, with what names the change (for ids) and when it was committed."""

    def __init__(self, new: Image, old: Image | None, committed_at: str | None, sequence: str) -> None:
        self.new = new
        self.old = old
        self.committed_at = committed_at
        self.sequence = sequence

    @property
    def key(self) -> tuple[str, str]:
        return str(self.new["pk"]), str(self.new["sk"])

    @property
    def revision(self) -> str:
        """What tells this write of the item from the others: its version, else the stream's sequence."""
        version = self.new.get("version")
        return f"v{version}" if version is not None else f"s{self.sequence}"

    def when(self, *candidates: Any) -> str:
        """The first recorded time among ``candidates``, else the commit time."""
        for value in candidates:
            if isinstance(value, str) and value:
                return value
        return self.committed_at or str(self.new.get("last_activity_at") or self.new.get("created_at") or "")


def _approximate_time(stream: Mapping[str, Any]) -> str | None:
    raw = stream.get("ApproximateCreationDateTime")
    if raw is None:
        return None
    if isinstance(raw, datetime):
        return iso(raw.astimezone(UTC))
    return iso(datetime.fromtimestamp(float(raw), UTC))


def _conversation_ids(item: Image) -> dict[str, Any]:
    return {
        "conversation_id": str(item["sk"]).removeprefix(keys.CONVERSATION_PREFIX),
        "channel": str(item.get("channel", "")),
        "account_id": str(item.get("account_id", "")),
        "contact_id": str(item.get("contact_id", "")),
        "thread_id": item.get("thread_id"),
    }


def _conversation_events(change: _Change) -> list[DomainEvent]:
    new, old = change.new, change.old or {}
    pk, sk = change.key
    ids = _conversation_ids(new)
    out: list[DomainEvent] = []

    def add(detail_type: DetailType, occurred_at: str, id_parts: tuple[str, ...], **fields: Any) -> None:
        detail = {"id": event_id(detail_type, pk, sk, *id_parts), "occurred_at": occurred_at, **ids, **fields}
        out.append(DomainEvent(detail_type, detail))

    if change.old is None:
        add(
            DetailType.CONVERSATION_CREATED,
            change.when(new.get("created_at")),
            (),
            status=str(new.get("status", "open")),
        )
    if new.get("assignee") != old.get("assignee") or new.get("team") != old.get("team"):
        add(
            DetailType.CONVERSATION_ASSIGNED,
            change.when(),
            (change.revision,),
            assignee=new.get("assignee"),
            previous_assignee=old.get("assignee"),
            team=new.get("team"),
        )
    status, was = new.get("status"), old.get("status")
    if status == RESOLVED and was != RESOLVED:
        add(
            DetailType.CONVERSATION_RESOLVED,
            change.when(new.get("resolved_at")),
            (change.revision,),
            assignee=new.get("assignee"),
        )
    elif change.old is not None and was == RESOLVED and status != RESOLVED:
        add(
            DetailType.CONVERSATION_REOPENED,
            change.when(new.get("reopened_at") if new.get("reopened_at") != old.get("reopened_at") else None),
            (change.revision,),
            status=str(status),
        )
    out.extend(_rungs_recorded(change))
    csat, had = new.get("csat") or {}, old.get("csat") or {}
    if isinstance(csat, dict) and csat.get("score") is not None and had.get("score") is None:
        add(
            DetailType.CSAT_RECEIVED,
            change.when(csat.get("answered_at")),
            (),
            score=int(csat["score"]),
            agent=csat.get("agent"),
            via=csat.get("via"),
        )
    return out


def _message_events(change: _Change) -> list[DomainEvent]:
    if change.old is not None:  # a status, an edit or a rules decision on a stored message
        return []
    item = change.new
    pk, sk = change.key
    inbound = item.get("direction") == "in"
    detail_type = DetailType.MESSAGE_RECEIVED if inbound else DetailType.MESSAGE_SENT
    attachments = item.get("attachments")
    detail: dict[str, Any] = {
        "id": event_id(detail_type, pk, sk),
        "occurred_at": change.when(item.get("sent_at")),
        "message_id": sk.removeprefix(keys.MESSAGE_PREFIX),
        "conversation_id": str(item.get("conversation_id", "")),
        "channel": str(item.get("channel", "")),
        "account_id": str(item.get("account_id", "")),
        "contact_id": str(item.get("contact_id", "")),
        "thread_id": item.get("thread_id"),
        "kind": str(item.get("kind", "text")),
        "attachments": len(attachments) if isinstance(attachments, list) else 0,
    }
    if not inbound:
        author = item.get("author")
        detail["author"] = author
        # carehooks' own messages (acknowledgements, surveys, closing messages) carry its author id.
        detail["automated"] = author == "carehooks"
    return [DomainEvent(detail_type, detail)]


def _sla_events(change: _Change) -> list[DomainEvent]:
    new, old = change.new, change.old or {}
    if not new.get("sent_at") or old.get("sent_at"):
        return []
    pk, _ = change.key
    event = _sla_event(pk, change.when(new.get("sent_at")))
    return [] if event is None else [event]


def _sla_event(pk: str, occurred_at: str) -> DomainEvent | None:
    """The SLA event of the alert whose claim key is ``pk`` (None: not an alert this version knows)."""
    scope = pk.removeprefix(SLA_CLAIM_PREFIX)
    parts = scope.split("#")
    if len(parts) != 4:
        return None
    conversation_id, metric, cycle_ms, rung = parts
    detail_type = SLA_KINDS.get(rung.split("-", 1)[0])
    if detail_type is None:
        return None
    try:
        clock_started_at = iso(datetime.fromtimestamp(int(cycle_ms) / 1000, UTC))
    except ValueError:
        return None
    detail = {
        "id": event_id(detail_type, pk),
        "occurred_at": occurred_at,
        "conversation_id": conversation_id,
        "metric": metric,
        "rung": rung,
        "clock_started_at": clock_started_at,
    }
    return DomainEvent(detail_type, detail)


def _rungs_recorded(change: _Change) -> list[DomainEvent]:
    """SLA rungs the monitor recorded as done on the conversation in this write (see the module doc)."""
    new = change.new.get(SLA_STATE_ATTRIBUTE)
    old = (change.old or {}).get(SLA_STATE_ATTRIBUTE)
    new, old = (new if isinstance(new, dict) else {}), (old if isinstance(old, dict) else {})
    conversation_id = str(change.new["sk"]).removeprefix(keys.CONVERSATION_PREFIX)
    out: list[DomainEvent] = []
    clocks = (
        (new.get("wait_metric"), "wait_since", "wait_done"),
        (str(Metric.RESOLUTION), "res_since", "res_done"),
    )
    for metric, since, done in clocks:
        cycle = new.get(since)
        if not metric or not isinstance(cycle, str) or not cycle:
            continue
        earlier = (
            old.get(done)
            if old.get(since) == cycle and old.get("wait_metric") == new.get("wait_metric")
            else []
        )
        for rung in new.get(done) or []:
            if rung in (earlier or []):
                continue
            scope = keys.sla_alert_scope(conversation_id, str(metric), parse_iso(cycle), str(rung))
            event = _sla_event(keys.claim_pk(keys.SLA_CLAIM_KIND, scope), change.when())
            if event is not None:
                out.append(event)
    return out


def _erasure_events(change: _Change) -> list[DomainEvent]:
    new, old = change.new, change.old or {}
    if change.old is not None and old.get("event_id") == new.get("event_id"):
        return []
    pk, _ = change.key
    detail = {
        "id": event_id(DetailType.CONTACT_ERASED, pk, str(new.get("event_id", change.sequence))),
        "occurred_at": change.when(new.get("erased_at")),
        "channel": str(new.get("channel", "")),
        "account_id": str(new.get("account_id", "")),
        "digest": str(new.get("digest", "")),
        "erased_at": str(new.get("erased_at", "")),
        "event_id": str(new.get("event_id", "")),
    }
    return [DomainEvent(DetailType.CONTACT_ERASED, detail)]
