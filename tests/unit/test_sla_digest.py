"""SLA digests: grouping, subjects, and the HTML and text they render (escaped, well-formed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from carehooks.config.sla import Metric, SlaConfig
from carehooks.domain.models import Channel, Conversation
from carehooks.sla.clocks import Due
from carehooks.sla.digest import Alert, build_digests, first_words, format_wait, subject_for

NOW = datetime(2026, 1, 5, 12, 14, tzinfo=UTC)
CONFIG = SlaConfig.model_validate(
    {
        "recipients": ["ops@example.com"],
        "policies": [
            {
                "id": "messenger",
                "first_response": "1h",
                "resolution": "8h",
                "calendar": "support",
                "escalations": [{"after": "30m", "recipients": ["lead@example.com"]}],
            }
        ],
    }
)
POLICY = CONFIG.policies[0]
HOSTILE = '<script>alert("x")</script> & "quotes" <b>bold</b> where is my order #1234'


def alert(
    conv_id: str, rung: str, waited: timedelta, text: str = "where is my order?", **conv: object
) -> Alert:
    conversation = Conversation(
        id=conv_id,
        channel=conv.pop("channel", Channel.MESSENGER),  # type: ignore[arg-type]
        account_id="page",
        contact_id=f"psid-{conv_id}",
        created_at=NOW - waited,
        preview=text,
        **conv,  # type: ignore[arg-type]
    )
    step = next(s for s in CONFIG.ladder(POLICY, Metric.FIRST_RESPONSE) if s.name == rung)
    due = Due(Metric.FIRST_RESPONSE, NOW - waited, step, NOW, POLICY, NOW - waited)
    return Alert(conversation, due, f"{conv_id}#{rung}")


def link(conv_id: str) -> str:
    return f"https://desk.example.com/c/{conv_id}?from=sla&x=1"


class Table(HTMLParser):
    """Collects the alert tables' header and body rows as cell texts, and every link."""

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.rows: list[list[str]] = []
        self.links: list[str] = []
        self.scripts = 0
        self._in_alerts = 0
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts += 1
        if tag == "table" and ("class", "alerts") in attrs:
            self._in_alerts += 1
        if not self._in_alerts:
            return
        if tag == "br" and self._cell is not None:
            self._cell.append(" ")
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and not self._in_head:
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a":
            self.links.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if not self._in_alerts:
            return
        if tag == "table":
            self._in_alerts -= 1
        elif tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            if self._in_head:
                self.headers.append(text)
            elif self._row is not None:
                self._row.append(text)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Table:
    table = Table()
    table.feed(html)
    table.close()
    return table


def test_one_digest_per_recipient_group() -> None:
    alerts = [
        alert("c1", "breach", timedelta(minutes=74)),
        alert("c2", "breach", timedelta(minutes=61)),
        alert("c3", "warning", timedelta(minutes=50)),
        alert("c4", "escalation-1", timedelta(minutes=95)),
    ]
    digests = build_digests(alerts, NOW, link)
    assert [(d.recipients, len(d.alerts)) for d in digests] == [
        (("lead@example.com",), 1),
        (("ops@example.com",), 3),
    ]


def test_the_subject_counts_conversations_and_names_the_longest_wait() -> None:
    alerts = [
        alert("c1", "breach", timedelta(hours=2, minutes=14)),
        alert("c2", "breach", timedelta(minutes=61)),
    ]
    alerts.append(alert("c3", "breach", timedelta(minutes=65)))
    assert subject_for(alerts, NOW) == "SLA breach: 3 conversations, longest 2 h 14 min"
    assert subject_for(alerts[:1], NOW) == "SLA breach: 1 conversation, longest 2 h 14 min"


def test_a_mixed_digest_is_named_for_its_worst_level_and_counts_each() -> None:
    alerts = [alert("c1", "breach", timedelta(minutes=61)), alert("c2", "warning", timedelta(minutes=48))]
    assert subject_for(alerts, NOW) == "SLA breach: 2 conversations (1 breach, 1 warning), longest 1 h 1 min"


def test_the_html_has_one_row_per_alert_with_every_column() -> None:
    alerts = [
        alert("c1", "breach", timedelta(minutes=74), contact_name="Jane Doe", assignee="alice"),
        alert("c2", "warning", timedelta(minutes=50), channel=Channel.WHATSAPP),
    ]
    (digest,) = build_digests(alerts, NOW, link)
    table = parse(digest.html)
    assert table.headers == ["Customer", "Message", "Waiting", "Assignee"] * 2
    assert table.rows == [
        [
            "Jane Doe Messenger · Open",
            "where is my order?",
            "1 h 14 min target 1 h first response, business hours (support)",
            "alice",
        ],
        [
            "psid-c2 WhatsApp · Open",
            "where is my order?",
            "50 min target 1 h first response, business hours (support)",
            "unassigned",
        ],
    ]
    assert table.links == [link("c1"), link("c2")]
    assert (
        "<title>SLA breach: 2 conversations (1 breach, 1 warning), longest 1 h 14 min</title>" in digest.html
    )


def test_customer_text_is_escaped_in_html_and_plain_in_text() -> None:
    (digest,) = build_digests(
        [alert("c1", "breach", timedelta(minutes=61), text=HOSTILE, contact_name="<img src=x>")], NOW, link
    )
    table = parse(digest.html)
    assert table.scripts == 0
    assert "<script>" not in digest.html
    assert "<img src=x>" not in digest.html
    assert "&lt;script&gt;" in digest.html
    assert "&amp;" in digest.html
    assert table.rows[0][0].startswith("<img src=x>")  # shown as text
    assert table.rows[0][1].startswith('<script>alert("x")</script> & "quotes"')
    assert 'href="https://desk.example.com/c/c1?from=sla&amp;x=1"' in digest.html
    assert '<script>alert("x")</script>' in digest.text
    assert "&lt;" not in digest.text


def test_the_text_part_carries_the_same_rows() -> None:
    alerts = [
        alert("c1", "escalation-1", timedelta(minutes=95), contact_name="Jane"),
    ]
    (digest,) = build_digests(alerts, NOW, link)
    assert digest.text.splitlines()[0] == "SLA escalation: 1 conversation, longest 1 h 35 min"
    assert "ESCALATIONS (1)" in digest.text
    assert link("c1") in digest.text
    assert '- Messenger · Jane: "where is my order?"' in digest.text
    assert (
        "waiting 1 h 35 min · target 1 h first response (business hours: support) · Escalation 1"
        in digest.text
    )


def test_rows_without_a_link_render_without_one() -> None:
    (digest,) = build_digests([alert("c1", "breach", timedelta(minutes=61))], NOW, lambda _: None)
    assert parse(digest.html).links == []
    assert "https://" not in digest.text


@pytest.mark.parametrize(
    ("wait", "text"),
    [
        (timedelta(seconds=20), "under 1 min"),
        (timedelta(minutes=48), "48 min"),
        (timedelta(hours=1), "1 h"),
        (timedelta(hours=2, minutes=14, seconds=59), "2 h 14 min"),
        (timedelta(days=3, hours=2, minutes=5), "3 d 2 h"),
        (timedelta(days=1), "1 d"),
    ],
)
def test_waits_read_in_minutes_hours_and_days(wait: timedelta, text: str) -> None:
    assert format_wait(wait) == text


def test_first_words_cut_long_messages_at_a_word() -> None:
    assert first_words("hello   there\nfriend") == "hello there friend"
    long = " ".join(["word"] * 30)
    assert first_words(long) == " ".join(["word"] * 12) + "…"
    assert first_words("x" * 200).endswith("…")
    assert len(first_words("x" * 200)) == 91
    assert first_words("") == "(no text)"
