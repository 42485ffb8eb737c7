"""Team reports in the local stack (issue 19, done when): two agents reply to and resolve conversations;
``/api/reports/agents`` lists both with the right counts and first responses; ``?format=csv`` has the same
rows; ``/api/reports/hours`` shows the messages in the right weekday and hour cells."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.e2e.harness import LocalStack, wait_for
from tests.e2e.test_agent_api_stack import api, customer_says, stack_now, token_for

pytestmark = pytest.mark.e2e


def conversation_of(stack: LocalStack, token: str, contact: str) -> dict[str, Any] | None:
    status, body = api(stack, token, "GET", "/api/conversations?status=open&channel=messenger&limit=100")
    assert status == 200, body
    return next((c for c in body["items"] if c["contact_id"] == contact), None)


def _finder(stack: LocalStack, token: str, contact: str) -> Callable[[], dict[str, Any] | None]:
    return lambda: conversation_of(stack, token, contact)


def test_two_agents_show_in_the_agents_csv_and_hours_reports(project_stack: LocalStack) -> None:
    stack = project_stack
    suffix = uuid.uuid4().hex[:6]
    agents = {f"agent-ada-{suffix}": 120, f"agent-bob-{suffix}": 300}  # each answers after that many s
    tokens = {sub: token_for(stack, sub) for sub in agents}
    written: list[datetime] = []
    start = stack_now(stack)
    # Given one customer per agent, each writing once
    for sub, wait in agents.items():
        contact = str(7_200_000_000_000_000 + uuid.uuid4().int % 10**15)
        written.append(stack_now(stack))
        customer_says(stack, contact, "hello, where is my parcel?")
        conv = wait_for(_finder(stack, tokens[sub], contact), what="the conversation")
        # When the agent replies after ``wait`` seconds and resolves
        stack.post_json("/_local/clock", {"advance_seconds": wait})
        status, body = api(
            stack, tokens[sub], "POST", f"/api/conversations/{conv['id']}/reply", {"text": "On its way."}
        )
        assert status == 201, body
        status, body = api(stack, tokens[sub], "POST", f"/api/conversations/{conv['id']}/resolve", {})
        assert status == 200, body
    query = {
        "from": (start - timedelta(hours=1)).isoformat(),
        "to": (stack_now(stack) + timedelta(hours=1)).isoformat(),
    }
    # Then the agents report lists both, with their counts and first responses
    status, report = api(
        stack, tokens[f"agent-ada-{suffix}"], "GET", "/api/reports/agents?" + urlencode(query)
    )
    assert status == 200, report
    rows = {row["agent"]: row for row in report["items"] if row["agent"] in agents}
    assert set(rows) == set(agents)
    for sub, wait in agents.items():
        row = rows[sub]
        assert (row["conversations_handled"], row["replies"]) == (1, 1)
        assert row["first_response"]["count"] == 1
        # The webhook stamps the message with the stack's clock; real seconds may pass in between.
        assert wait <= row["first_response"]["calendar"]["median_seconds"] < wait + 60
        assert row["resolution"]["count"] == 1
        assert row["first_contact_resolution"] == {"resolved": 1, "first_contact": 1, "rate": 1.0}
    # And the CSV has the same rows
    answer = stack.request(
        "GET",
        "/api/reports/agents?" + urlencode({**query, "format": "csv"}),
        headers={"Authorization": f"Bearer {tokens[f'agent-ada-{suffix}']}"},
    )
    assert answer.status == 200
    table = {r["agent"]: r for r in csv.DictReader(io.StringIO(answer.body.decode()))}
    for sub in agents:
        assert table[sub]["replies"] == "1"
        median = rows[sub]["first_response"]["calendar"]["median_seconds"]
        assert float(table[sub]["first_response_calendar_median_seconds"]) == median
    # And the heatmap counts each message in its weekday and hour (UTC)
    status, hours = api(
        stack, tokens[f"agent-bob-{suffix}"], "GET", "/api/reports/hours?" + urlencode({**query, "tz": "UTC"})
    )
    assert status == 200, hours
    cells = {(c["weekday"], c["hour"]): c["messages"] for c in hours["cells"]}
    expected: dict[tuple[int, int], int] = {}
    for at in written:
        expected[at.weekday(), at.hour] = expected.get((at.weekday(), at.hour), 0) + 1
    assert {cell: n for cell, n in cells.items() if n} == expected  # this module's stack: only these
    assert hours["total_messages"] == len(written)

    # And the next Monday's digest has both agents in its table and the heatmap inline
    monday = datetime.combine(start.date() - timedelta(days=start.weekday()), time(8), tzinfo=UTC)
    stack.post_json("/_local/clock", {"set": (monday + timedelta(days=7)).isoformat()})
    assert stack.request("POST", "/_local/run/WeeklyDigestFunction").status == 200
    digests = wait_for(lambda: _digests(stack) or None, what="the weekly digest")
    assert len(digests) == 1  # the schedule may fire too: the weekly claim sends it once
    parsed = digests[0]
    text = parsed.get_body(preferencelist=("plain",))
    assert text is not None
    for sub in agents:
        assert f"  {sub}: 1 / 1 / " in text.get_content()  # type: ignore[attr-defined]
    images = [p["Content-ID"] for p in parsed.walk() if p.get_content_type() == "image/png"]
    assert images == ["<daily-chart@carehooks>", "<heatmap@carehooks>"]


def _digests(stack: LocalStack) -> list[EmailMessage]:
    out = []
    for item in stack.get("/_local/mail").json()["items"]:
        if not item["subject"].startswith("Weekly care report"):
            continue
        path = Path(item["file"])
        if not path.is_absolute():
            path = stack.data_dir / "mail" / path.name
        parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        out.append(parsed)
    return out
