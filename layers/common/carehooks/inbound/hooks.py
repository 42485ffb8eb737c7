"""Steps that run after a message is stored for the first time, and again when its record is retried.

Each step takes an :class:`InboundContext`. They run in this order; a step that raises fails the record,
which is retried (the message is already stored, so a retry re-runs only what did not finish: every
step must be idempotent, e.g. by claiming its side effect first).
"""

from __future__ import annotations

from collections.abc import Callable

from carehooks.inbound.context import InboundContext

Step = Callable[[InboundContext], None]


def steps() -> list[Step]:
    """The after-store steps, imported on first use to keep cold starts small."""
    from carehooks.rules.step import rules_step
    from carehooks.surveys.capture import capture_survey_answer

    return [rules_step, capture_survey_answer]
