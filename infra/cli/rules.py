"""``carehooks rules test|replay``: what the rules would do, without side effects.

- ``test --channel messenger --text "where is my order?" [--at ISO] [--contact ID] …`` evaluates the
  configuration (``--config FILE``, else the one the functions load) on a made-up message and prints the
  matched rules, each action (ran or skipped, and why), tags, priority, assignment and the
  acknowledgement that would be sent. With ``--contact``, the customer's conversations are read from the
  table (``TABLE_NAME``; read-only) for "returning customer", "last agent" and "already acknowledged";
  ``--no-store`` skips that.
- ``replay --since 7d`` evaluates the current configuration against the customer messages stored since
  then and prints, per rule, how many messages it matched before (as recorded) and now, and examples of
  changed decisions. It reads without scanning: the ``ByStatus`` index (keys only) per status for
  conversations active since then, one Query per customer for their conversations, one Query of the
  ``ByConversation`` index per conversation for its messages. Each conversation is replayed from a blank
  state through its messages in order, as the processor would have seen them; messages from before
  ``--since`` are not replayed (their effects are missing from the state).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.cli.config import ensure_package

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, now: datetime) -> datetime:
    """``7d``, ``12h``, ``30m`` before ``now``, or an ISO 8601 time."""
    match = _DURATION.match(value.strip())
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    ensure_package()
    from carehooks.clock import parse_iso

    try:
        return parse_iso(value)
    except ValueError as exc:
        raise SystemExit(f"--since: {value!r} is neither a duration (7d, 12h) nor an ISO time") from exc


def _config(path: str | None) -> Any:
    ensure_package()
    if path:
        from infra.cli.config import _load

        document = _load(path)
        if document is None:
            raise SystemExit(1)
        return document
    from carehooks.config.loader import load_config

    return load_config()


def _store() -> Any:
    ensure_package()
    from carehooks.wiring.store import get_store

    return get_store()


# -- test -----------------------------------------------------------------------------------------------
def run_test(args: argparse.Namespace, store: Any = None) -> int:
    ensure_package()
    from carehooks import clock
    from carehooks.rules.dryrun import Sample, dry_run, dry_run_setup

    config = _config(args.config)
    now = clock.parse_iso(args.at) if args.at else clock.now()
    sample = Sample(
        channel=args.channel,
        text=args.text,
        account_id=args.account,
        contact_id=args.contact,
        name=args.name,
        kind=args.kind,
        attachments=args.attachment,
        tags=args.tag,
        assignee=args.assignee,
    )
    reader = None if args.no_store else (lambda: store or _store())
    setup = dry_run_setup(sample, now, reader, lenient=True)
    result = dry_run(config, setup.message, setup.context, now, acknowledged=setup.acknowledged)
    notes = list(setup.notes)
    if args.json:
        print(json.dumps({**result.as_dict(), "notes": notes}, indent=2, ensure_ascii=False))
        return 0
    conv = setup.context.conversation
    print(_report(config, result, now, conv, setup.context.new_conversation, notes))
    return 0


def _report(config: Any, result: Any, now: datetime, conv: Any, new: bool, notes: list[str]) -> str:
    from carehooks.config.calendars import is_open, local_time

    decision = result.decision
    lines = [f"config {decision.config_version} ({decision.config_digest})"]
    calendar = config.calendars.get(config.defaults.calendar or "")
    when = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if calendar is not None:
        local = local_time(calendar, now)
        state = "in business hours" if is_open(calendar, now) else "out of business hours"
        when += f" ({local:%A %H:%M} {calendar.timezone}, {state})"
    lines.append(f"at        {when}")
    lines.append(f"thread    {'new conversation' if new else f'conversation {conv.id} ({conv.status})'}")
    lines.append(f"language  {decision.language}")
    lines.append(f"matched   {', '.join(decision.matched) or '(no rule)'}")
    for action in decision.actions:
        lines.append(f"  {action.rule:<24} {action.action:<12} {action.status:<8} {action.detail}")
    if decision.stopped_by:
        lines.append(f"stopped   by {decision.stopped_by}")
    changes = [f"+{t}" for t in decision.tags_added] + [f"-{t}" for t in decision.tags_removed]
    lines.append(
        f"tags      {', '.join(decision.tags) or '(none)'}" + (f"  ({' '.join(changes)})" if changes else "")
    )
    lines.append(
        f"priority  {result.conversation_after.priority}" + (" (changed)" if decision.priority else "")
    )
    if decision.assignment is not None:
        who = decision.assignment.agent or "(no agent)"
        team = f", team {decision.assignment.team}" if decision.assignment.team else ""
        lines.append(f"assign    {who}{team}: {decision.assignment.reason}")
    else:
        lines.append(f"assign    {conv.assignee or '(unassigned)'} (unchanged)")
    if result.ack is not None:
        ack = result.ack
        hours = "in hours" if ack.in_hours else "out of hours"
        lines.append(f"ack       template {ack.template}, {ack.language}, {hours}:")
        lines.append(f"          {ack.text}")
    else:
        lines.append(f"ack       none: {result.ack_skipped}")
    lines.extend(f"note      {note}" for note in notes)
    return "\n".join(lines)


# -- replay ---------------------------------------------------------------------------------------------
def replay(args: argparse.Namespace, store: Any = None) -> int:
    ensure_package()
    from carehooks import clock

    config = _config(args.config)
    now = clock.now()
    since = parse_since(args.since, now)
    summary = replay_since(config, store or _store(), since, examples=args.examples)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(_replay_report(summary))
    return 0


def replay_since(config: Any, store: Any, since: datetime, examples: int = 5) -> dict[str, Any]:
    """Evaluate ``config`` against the customer messages stored since ``since``; see the module doc."""
    from carehooks.clock import iso
    from carehooks.domain.conversations import apply_message
    from carehooks.domain.models import Direction
    from carehooks.rules.dryrun import dry_run
    from carehooks.rules.engine import Context
    from carehooks.store import rules as rules_store

    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    changed: list[dict[str, Any]] = []
    counts = {"messages": 0, "conversations": 0, "customers": 0, "changed": 0, "no_record": 0}
    partitions: dict[str, list[Any]] = {}
    seen: set[str] = set()
    for pk, conversation_id in store.active_conversation_keys(since):
        if conversation_id in seen:
            continue
        seen.add(conversation_id)
        if pk not in partitions:
            partitions[pk] = store.partition_conversations(pk)
        conversations = partitions[pk]
        stored = next((c for c in conversations if c.id == conversation_id), None)
        if stored is None:
            continue
        counts["conversations"] += 1
        history = tuple(c for c in conversations if c.created_at < stored.created_at)
        state = replace(
            stored,
            tags=[],
            priority="normal",
            assignee=None,
            status="open",
            extra={},
            last_activity_at=None,
            last_inbound_at=None,
            last_outbound_at=None,
            last_responder=None,
            first_response_at=None,
            first_responder=None,
            last_response_at=None,
            first_inbound_at=None,
            preview="",
            message_count=0,
        )
        acknowledged = False
        for message in store.messages_since(pk, conversation_id, since):
            state = apply_message(state, message)
            if message.direction is not Direction.IN:
                continue
            counts["messages"] += 1
            context = Context(conversation=state, history=history, new_conversation=state.message_count == 1)
            result = dry_run(
                config, message, context, message.stored_at or message.sent_at, acknowledged=acknowledged
            )
            state = result.conversation_after
            acknowledged = acknowledged or result.ack is not None
            now_matched = list(result.decision.matched)
            after.update(now_matched)
            recorded = message.extra.get(rules_store.DECISION_ATTRIBUTE)
            if recorded is None:
                counts["no_record"] += 1
                continue
            then_matched = list(recorded.get("matched", []))
            before.update(then_matched)
            then_tags = sorted(recorded.get("tags_added", []))
            if then_matched != now_matched or then_tags != sorted(result.decision.tags_added):
                counts["changed"] += 1
                if len(changed) < examples:
                    changed.append(
                        {
                            "conversation": conversation_id,
                            "message": message.platform_message_id,
                            "sent_at": iso(message.sent_at),
                            "text": (message.text or "")[:80],
                            "matched_before": then_matched,
                            "matched_now": now_matched,
                            "tags_before": then_tags,
                            "tags_now": sorted(result.decision.tags_added),
                            "config_before": recorded.get("config_version"),
                        }
                    )
    counts["customers"] = len(partitions)
    rules = [rule.id for rule in config.rules]
    rules += sorted(set(before) - set(rules))
    return {
        "since": iso(since),
        "config_version": config.version,
        "config_digest": config.digest,
        **counts,
        "rules": [{"id": r, "before": before.get(r, 0), "now": after.get(r, 0)} for r in rules],
        "examples": changed,
    }


def _replay_report(summary: dict[str, Any]) -> str:
    lines = [
        f"replayed {summary['messages']} customer messages in {summary['conversations']} conversations "
        f"({summary['customers']} customers) since {summary['since']} with config "
        f"{summary['config_version']} ({summary['config_digest']})",
        f"decisions that would change: {summary['changed']}"
        + (f"; messages without a recorded decision: {summary['no_record']}" if summary["no_record"] else ""),
        "",
        f"{'rule':<28} {'before':>7} {'now':>7} {'change':>7}",
    ]
    for row in summary["rules"]:
        delta = row["now"] - row["before"]
        lines.append(f"{row['id']:<28} {row['before']:>7} {row['now']:>7} {delta:>+7}")
    if summary["examples"]:
        lines.append("")
        lines.append("examples:")
        for example in summary["examples"]:
            lines.append(f"  {example['conversation']} {example['sent_at']} {example['text']!r}")
            lines.append(f"    matched {example['matched_before']} → {example['matched_now']}")
            lines.append(f"    tags    {example['tags_before']} → {example['tags_now']}")
    return "\n".join(lines)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("rules", help="dry-run the rules (no side effects)")
    commands = parser.add_subparsers(dest="rules_command", required=True)
    run = commands.add_parser("test", help="what the rules would do with one message")
    run.add_argument(
        "--channel", required=True, help="messenger, instagram, whatsapp, x, telegram, sms, twilio_whatsapp"
    )
    run.add_argument("--text", required=True)
    run.add_argument("--at", help="ISO 8601 time (default: now)")
    run.add_argument(
        "--contact", help="the customer's id on the channel (reads their history from the table)"
    )
    run.add_argument("--account", help="the business account (page, number) id (default: dry-run-account)")
    run.add_argument("--name", help="the customer's display name")
    run.add_argument("--kind", default="text")
    run.add_argument("--attachment", action="append", default=[], help="an attachment kind (repeatable)")
    run.add_argument(
        "--tag", action="append", default=[], help="a tag the conversation already has (repeatable)"
    )
    run.add_argument("--assignee", help="the conversation's current assignee")
    run.add_argument("--config", help="a configuration file (default: what the functions load)")
    run.add_argument("--no-store", action="store_true", help="do not read the customer's history")
    run.add_argument("--json", action="store_true")
    run.set_defaults(func=run_test)
    again = commands.add_parser("replay", help="evaluate the configuration against stored messages")
    again.add_argument("--since", default="7d", help="7d, 12h, 30m or an ISO time (default 7d)")
    again.add_argument("--config", help="a configuration file (default: what the functions load)")
    again.add_argument("--examples", type=int, default=5)
    again.add_argument("--json", action="store_true")
    again.set_defaults(func=replay)
