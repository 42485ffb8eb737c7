"""Spike alerts: inbound volume per channel account and per tag, in 5-minute buckets (issue 17).

Counting (the inbound processor, :func:`volume_counter`): a customer message stored for the FIRST time
adds 1 to its (bucket, channel account) counter and to each of its conversation's tags, with one atomic
``UpdateItem ADD`` (a run of one conversation's messages shares one). A redelivered message is a
duplicate and is not counted again; a counter write that fails is logged and dropped (the message is
stored: a spike count may be one short, never double).

Detection (:func:`check_spikes`, run every minute by AutomationFunction): for each channel account
counted in the current bucket or the one before, its total and each tag is compared with its baseline,
the median of the same 5-minute bucket of the day (UTC) over the past ``baseline_days`` days (a day
without a counter counted 0). A series is spiking when ``count >= min_count`` and ``count > multiple *
baseline``. A channel account with a spiking series starts a spike: its state is claimed (one
conditional put), ONE email goes to ops, and no other until the spike ends, which is when neither the
current bucket nor the one before spikes any more. See ``docs/spikes.md``.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from carehooks import clock
from carehooks.clock import iso
from carehooks.domain.models import Direction
from carehooks.notify.render import notify_environment, render_email
from carehooks.observability import logger, metrics
from carehooks.store import keys
from carehooks.store.sla import ReadStats
from carehooks.store.spikes import VolumeCount, VolumeIncrement

if TYPE_CHECKING:
    from carehooks.config.document import ConfigDocument
    from carehooks.config.spikes import SpikesConfig
    from carehooks.domain.conversations import StoredMessage
    from carehooks.store import Store

BUCKET = timedelta(seconds=keys.VOLUME_BUCKET_SECONDS)
SAMPLES = 3
TOP_TAGS = 5
SAMPLE_READ = 20  # conversations read to find 3 samples of a tag's spike
ALL_MESSAGES = ""  # the series of every message of a channel account (not one tag's)

# (to, subject, html, text) -> the email's message id (carehooks.notify.email.send_email).
Mailer = Callable[[list[str], str, str, str], str]


# -- counting --------------------------------------------------------------------------------------------
def volume_increments(stored: Sequence[StoredMessage]) -> list[VolumeIncrement]:
    """The counter updates for messages stored for the first time: one per (bucket, channel account).

    Customer messages only (not echoes of the business' own); tags are the conversation's once the
    message is stored (the rules' tags included). Pure.
    """
    grouped: dict[tuple[str, str], tuple[str, int, dict[str, int]]] = {}
    for one in stored:
        message = one.outcome.message
        if message is None or message.direction is not Direction.IN:
            continue
        bucket = keys.volume_bucket(one.now)
        group = keys.volume_group(str(message.channel), message.account_id)
        first, count, tags = grouped.get((bucket, group), (message.platform_message_id, 0, {}))
        conversation = one.outcome.conversation
        for tag in dict.fromkeys(conversation.tags if conversation is not None else []):
            tags[tag] = tags.get(tag, 0) + 1
        grouped[(bucket, group)] = (first, count + 1, tags)
    return [
        VolumeIncrement(bucket=bucket, shard=keys.volume_shard(first), group=group, count=count, tags=tags)
        for (bucket, group), (first, count, tags) in grouped.items()
    ]


def volume_counter(
    store: Store, config: Callable[[], ConfigDocument]
) -> Callable[[Sequence[StoredMessage]], None]:
    """The inbound processor's ``count``: one ADD per (bucket, channel account); never raises."""

    def count(stored: Sequence[StoredMessage]) -> None:
        try:
            if not config().automation.spikes.enabled:
                return
            for increment in volume_increments(stored):
                store.count_volume(increment)
        except Exception:
            metrics.add_metric(name="VolumeCountFailed", unit="Count", value=1)
            logger.warning("volume not counted (spike alerts may read one message short)", exc_info=True)

    return count


# -- detection (pure) ------------------------------------------------------------------------------------
def baseline(history: Sequence[int]) -> float:
    """The median of the same bucket over the past days (0 without history)."""
    return float(statistics.median(history)) if history else 0.0


def exceeds(count: int, base: float, config: SpikesConfig) -> bool:
    return count >= config.min_count and count > config.multiple * base


@dataclass(frozen=True)
class Finding:
    """A spiking series of one channel account in one bucket."""

    group: str
    bucket: str
    tag: str  # ALL_MESSAGES, or the spiking tag
    count: int
    baseline: float
    total: int
    total_baseline: float
    top_tags: tuple[tuple[str, int], ...]

    @property
    def channel(self) -> str:
        return self.group.split("#", 1)[0]

    @property
    def account_id(self) -> str:
        return self.group.split("#", 1)[1]


def assess(
    group: str,
    current: Mapping[str, VolumeCount],
    history: Mapping[str, Sequence[VolumeCount]],
    config: SpikesConfig,
) -> Finding | None:
    """The spike of a channel account, if any: its most spiking series in the latest spiking bucket.

    ``current``: bucket → the group's count (the current bucket and the one before); ``history``:
    bucket → the group's counts at the same bucket on each past day. The group total wins over a tag
    (every tag's messages are in it); among tags, the largest count. Pure.
    """
    for bucket in sorted(current, reverse=True):
        now = current[bucket]
        past = history.get(bucket, ())
        total_base = baseline([c.count for c in past])
        top = tuple(sorted(now.tags.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TAGS])
        series = [(ALL_MESSAGES, now.count, total_base)] + [
            (tag, n, baseline([c.tags.get(tag, 0) for c in past]))
            for tag, n in sorted(now.tags.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        for tag, count, base in series:
            if exceeds(count, base, config):
                return Finding(group, bucket, tag, count, base, now.count, total_base, top)
    return None


def history_buckets(bucket: str, days: int) -> list[str]:
    """The same bucket of the day on each of the past ``days`` days (UTC)."""
    start = keys.volume_bucket_start(bucket)
    return [keys.volume_bucket(start - timedelta(days=k)) for k in range(1, days + 1)]


# -- the run ---------------------------------------------------------------------------------------------
@dataclass
class SpikeCheck:
    """What one run did (for metrics)."""

    enabled: bool = True
    groups: int = 0  # channel accounts assessed
    started: int = 0  # spikes started (claimed)
    emailed: int = 0
    ended: int = 0
    active: int = 0  # spikes going on after the run
    failures: int = 0
    findings: list[Finding] = field(default_factory=list)


def check_spikes(
    store: Store, config: ConfigDocument, mailer: Mailer, now: datetime | None = None
) -> SpikeCheck:
    """Find spikes, email ops once per spike, end the spikes whose volume fell back.

    ``mailer`` sends one email (AutomationFunction passes SES's :func:`carehooks.notify.email.send_email`:
    the local stack's mail folder), ``now`` defaults to the one clock's now (``wiring/automation.py``).

    A fault in one channel account is counted and logged; the others go on. Overlapping runs email
    once: a spike's state is claimed (conditional put) before its email.
    """
    spikes = config.automation.spikes
    result = SpikeCheck(enabled=spikes.enabled)
    if not spikes.enabled:
        return result
    now = now or clock.now()
    buckets = [keys.volume_bucket(now), keys.volume_bucket(now - BUCKET)]
    try:
        volumes = {bucket: store.bucket_volumes(bucket) for bucket in buckets}
        active = {str(item["sk"]) for item in store.active_spikes()}
    except Exception:
        # Nothing to assess this minute; the next run reads again (never stops the caller's other work).
        result.failures += 1
        logger.exception("spike check could not read the volume counters")
        return result
    candidates = {
        group for counted in volumes.values() for group, v in counted.items() if v.count >= spikes.min_count
    }
    for group in sorted(candidates | active):
        result.groups += 1
        try:
            _check_group(store, config, mailer, now, group, volumes, group in active, result)
        except Exception:
            result.failures += 1
            logger.exception("spike check failed for one channel account", extra={"group": group})
    result.active = len(active) + result.started - result.ended
    return result


def _check_group(
    store: Store,
    config: ConfigDocument,
    mailer: Mailer,
    now: datetime,
    group: str,
    volumes: Mapping[str, Mapping[str, VolumeCount]],
    is_active: bool,
    result: SpikeCheck,
) -> None:
    spikes = config.automation.spikes
    current = {bucket: counted.get(group, VolumeCount()) for bucket, counted in volumes.items()}
    wanted = {bucket: history_buckets(bucket, spikes.baseline_days) for bucket in current}
    counts = store.group_volumes(group, [b for past in wanted.values() for b in past])
    history = {bucket: [counts[b] for b in past] for bucket, past in wanted.items()}
    finding = assess(group, current, history, spikes)
    if finding is None:
        if is_active:
            store.drop_spike(group)
            result.ended += 1
            logger.info("spike ended", extra={"group": group})
        return
    if is_active:
        return
    attributes = {
        "bucket": finding.bucket,
        "tag": finding.tag,
        "count": str(finding.count),
        "baseline": f"{finding.baseline:g}",
    }
    if not store.claim_spike(group, attributes, now):
        return  # an overlapping run started it
    result.started += 1
    result.findings.append(finding)
    recipients = list(spikes.recipients or config.ops.recipients)
    if not recipients:
        store.mark_spike(group, state="no_recipients")
        logger.warning("spike found, nobody to email (automation.spikes.recipients, ops.recipients)")
        return
    try:
        subject, html, text = spike_email(finding, samples(store, finding, now), recipients, now)
        message_id = mailer(recipients, subject, html, text)
    except Exception:
        store.drop_spike(group)  # nothing went out: the next run tries again
        raise
    store.mark_spike(group, state="sent", message_id=message_id, sent_at=iso(now))
    result.emailed += 1
    metrics.add_metric(name="SpikeAlertsSent", unit="Count", value=1)
    logger.info(
        "spike alert sent",
        extra={"group": group, "tag": finding.tag, "count": finding.count, "baseline": finding.baseline},
    )


@dataclass(frozen=True)
class Sample:
    conversation_id: str
    customer: str
    text: str
    at: str


def samples(store: Store, finding: Finding, now: datetime) -> list[Sample]:
    """Up to three of the latest open conversations of the spike's channel account whose turn falls in
    the bucket (of its tag when the spike is a tag's), with their latest message. Read only."""
    start = keys.volume_bucket_start(finding.bucket)
    end = min(now, start + BUCKET)
    found = store.recent_conversation_keys(
        finding.channel, finding.account_id, start, end, SAMPLES if not finding.tag else SAMPLE_READ
    )
    conversations = store.get_conversations(found, ReadStats())
    conversations.sort(key=lambda c: c.last_inbound_at or c.created_at, reverse=True)
    if finding.tag:
        conversations = [c for c in conversations if finding.tag in c.tags]
    return [
        Sample(
            conversation_id=c.id,
            customer=c.contact_name or c.contact_id,
            text=c.preview,
            at=iso(c.last_inbound_at or c.created_at),
        )
        for c in conversations[:SAMPLES]
    ]


def spike_email(
    finding: Finding, found: Sequence[Sample], recipients: Sequence[str], now: datetime
) -> tuple[str, str, str]:
    """(subject, HTML, text) of a spike alert."""
    start = keys.volume_bucket_start(finding.bucket)
    what = f"tag {finding.tag!r}" if finding.tag else "all messages"
    subject = (
        f"[carehooks] Spike on {finding.channel} ({finding.account_id}): {finding.count} messages "
        f"({what}) in 5 minutes, baseline {finding.baseline:g}"
    )
    context: dict[str, Any] = {
        "subject": subject,
        "channel": finding.channel,
        "account_id": finding.account_id,
        "tag": finding.tag,
        "count": finding.count,
        "baseline": f"{finding.baseline:g}",
        "total": finding.total,
        "total_baseline": f"{finding.total_baseline:g}",
        "bucket_start": iso(start),
        "bucket_end": iso(start + BUCKET),
        "top_tags": [{"tag": tag, "count": n} for tag, n in finding.top_tags],
        "samples": [vars(s) for s in found],
        "recipients": ", ".join(recipients),
        "generated_at": iso(now),
    }
    html, text = render_email(notify_environment(), "spike_alert", context)
    return subject, html, text
