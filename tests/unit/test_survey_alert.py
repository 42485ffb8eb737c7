"""The low-score alert email."""

from __future__ import annotations

from datetime import UTC, datetime

from carehooks.domain.models import Channel, Conversation
from carehooks.surveys.alerts import render_alert


def test_the_alert_shows_the_rating_and_escapes_what_the_customer_wrote() -> None:
    conv = Conversation(
        id="01JCONV",
        channel=Channel.WHATSAPP,
        account_id="a",
        contact_id="16505551234",
        created_at=datetime(2026, 3, 2, tzinfo=UTC),
        contact_name="Sheena <b>Nelson</b>",
        tags=["delivery"],
        csat={"score": 1, "comment": "<script>alert(1)</script> never again", "agent": "agent-ann"},
    )
    subject, html, text = render_alert(conv, "https://care.example.com/api/conversations/01JCONV")
    assert subject == "Low CSAT 1/5 on whatsapp from Sheena <b>Nelson</b>"
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; never again" in html
    assert "Sheena &lt;b&gt;Nelson&lt;/b&gt;" in html
    assert "Agent: agent-ann" in text
    assert "Comment: <script>alert(1)</script> never again" in text
    assert 'href="https://care.example.com/api/conversations/01JCONV"' in html
