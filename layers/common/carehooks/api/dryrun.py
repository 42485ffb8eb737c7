"""The rules dry run of ``POST /api/rules/test``: the answer of ``carehooks rules test --json``.

It builds the made-up message and context with the command's own
:func:`carehooks.rules.dryrun.dry_run_setup` (infra/cli/rules.py ``run_test``): the customer's
conversations on the channel and account are read (never written) when a ``contact_id`` is given, for
"returning customer", "last agent" and "already acknowledged"; then the pure
:func:`carehooks.rules.dryrun.dry_run` runs on the configuration the functions load. A test compares
both answers.
"""

from __future__ import annotations

from typing import Any

from carehooks.api.deps import Services
from carehooks.api.models import RulesTestRequest
from carehooks.rules.dryrun import Sample, dry_run, dry_run_setup


def rules_test(services: Services, request: RulesTestRequest) -> dict[str, Any]:
    """What the rules would do with the request's message; no side effects."""
    config = services.config()
    now = request.at or services.now()
    sample = Sample(**request.model_dump(exclude={"at", "read_history"}))
    setup = dry_run_setup(sample, now, (lambda: services.store) if request.read_history else None)
    result = dry_run(config, setup.message, setup.context, now, acknowledged=setup.acknowledged)
    return {**result.as_dict(), "notes": list(setup.notes)}
