"""The platform docs say what the code does: outbox URLs carry no token, and the retry table."""

from __future__ import annotations

from pathlib import Path

from carehooks.outbound import http

ROOT = Path(__file__).resolve().parents[2]


def test_the_local_outbox_example_carries_no_token_in_its_urls() -> None:
    readme = (ROOT / "infra/local/README.md").read_text(encoding="utf-8")
    outbox = readme[readme.index("### Outbox") : readme.index("### Mail")]
    assert "access_token" not in outbox
    assert "_sandbox/meta/me/messages" in outbox


def test_the_retry_decisions_are_documented_for_every_platform() -> None:
    doc = (ROOT / "docs/platform-retries.md").read_text(encoding="utf-8")
    for platform in ("Messenger", "Instagram", "WhatsApp", "X", "Telegram", "Twilio"):
        assert f"| {platform}" in doc or f", {platform}" in doc
    # The table states the policy http.py applies.
    assert set(http.SAFE_RETRY_STATUSES) == {429}
    assert set(http.IDEMPOTENT_RETRY_STATUSES) == {429, 500, 502, 503, 504}
    assert "HTTP 5xx to a **send** (a POST) | no | `OutcomeUnknownError`" in doc
