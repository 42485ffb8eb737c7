"""EventBridge buses, locally: the template's buses in moto, and a sink that records what they receive.

Each ``AWS::Events::EventBus`` of the template is created in moto (functions put events on it with their
own EventBridge client, as deployed). A rule on each bus matching every event sends it to a local queue;
a thread moves what arrives, in order, to ``.local/events.jsonl``, which ``GET /_local/events`` lists
(``{"items": [{"id", "source", "detail-type", "detail", "time"}, …]}``, oldest first). The template's own
rules (the optional HTTPS endpoint) are not emulated.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.local.aws import EVENT_BUS_TYPE

SINK_RULE = "carehooks-local-sink"
ENVELOPE = ("id", "source", "detail-type", "detail", "time")


def bus_names(
    template: dict[str, Any], attributes: dict[str, dict[str, str]], condition: Callable[[str], bool]
) -> list[str]:
    """Local names of the template's event buses (those whose ``Condition``, if any, holds)."""
    return [
        attributes[logical_id]["Name"]
        for logical_id, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == EVENT_BUS_TYPE
        and logical_id in attributes
        and (not resource.get("Condition") or condition(str(resource["Condition"])))
    ]


class LocalBus:
    """The buses in moto and the file of what they received."""

    def __init__(
        self, events: Any, sqs: Any, path: Path, stack_name: str, say: Callable[[str], None]
    ) -> None:
        self.events = events
        self.sqs = sqs
        self.path = path
        self.say = say
        self.queue_name = f"{stack_name}-events-sink"
        self.queue_url = ""
        self.buses: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def provision(self, names: list[str]) -> None:
        """Create each bus, the sink queue, and a rule on each bus sending every event to the queue."""
        if not names:
            return
        self.queue_url = self.sqs.create_queue(QueueName=self.queue_name)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        for name in names:
            with contextlib.suppress(self.events.exceptions.ResourceAlreadyExistsException):
                self.events.create_event_bus(Name=name)
            self.events.put_rule(
                Name=SINK_RULE,
                EventBusName=name,
                EventPattern=json.dumps({"source": [{"exists": True}]}),
                State="ENABLED",
            )
            self.events.put_targets(
                Rule=SINK_RULE, EventBusName=name, Targets=[{"Id": "local-sink", "Arn": queue_arn}]
            )
        self.buses = list(names)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch(exist_ok=True)

    def start(self) -> None:
        if not self.queue_url:
            return
        self._thread = threading.Thread(target=self.watch, name="bus", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def watch(self) -> None:
        while not self._stop.is_set():
            try:
                self.collect(wait_seconds=1)
            except Exception as exc:  # moto stopping
                if self._stop.is_set():
                    return
                self.say(f"EVENTS sink: {type(exc).__name__}: {exc}")
                self._stop.wait(1)

    def collect(self, wait_seconds: int = 0) -> int:
        """Move what the sink queue holds to the file; how many events."""
        got = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        ).get("Messages", [])
        if not got:
            return 0
        lines = []
        for message in got:
            event = json.loads(message["Body"])
            lines.append(json.dumps({key: event.get(key) for key in ENVELOPE}))
            self.say(f"EVENT {event.get('detail-type')} {(event.get('detail') or {}).get('id', '')}")
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write("".join(f"{line}\n" for line in lines))
        self.sqs.delete_message_batch(
            QueueUrl=self.queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
        )
        return len(got)

    def items(self) -> list[dict[str, Any]]:
        """What the buses received, oldest first."""
        with self._lock:
            try:
                text = self.path.read_text(encoding="utf-8")
            except FileNotFoundError:
                return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def clear(self) -> None:
        with self._lock:
            self.path.write_text("", encoding="utf-8")
