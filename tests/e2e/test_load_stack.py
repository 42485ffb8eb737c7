"""The load, reduced: 200 signed webhooks of every channel from 10 concurrent senders, ~10% of them
redelivered, against a local stack of its own on 127.0.0.1. Nothing lost, nothing stored twice, no
5xx. The full size is ``make load`` (2,000 messages, 20 senders); see tests/load.
"""

from __future__ import annotations

import pytest

from tests.load.run import LoadConfig, run_load

pytestmark = pytest.mark.e2e


def test_a_burst_of_webhooks_with_redeliveries_is_stored_exactly_once() -> None:
    # Given a fresh stack and 200 messages from 50 customers on seven channels, 20 sent twice
    config = LoadConfig(messages=200, senders=10, deadline_seconds=180)
    # When 10 senders post them at once and the agent API reads everything back
    report, _ = run_load(config)
    detail = report.text()
    # Then every message is stored once, and no webhook failed
    assert report.status_5xx == 0, detail
    assert report.status_4xx == 0, detail
    assert report.connection_errors == 0, detail
    assert report.sent == 220, detail
    assert report.duplicates_sent == 20, detail
    assert report.unique_stored == 200, detail
    assert report.lost == 0, detail
    assert report.duplicated == 0, detail
    assert report.dead_lettered == 0, detail
    assert report.passed, detail
