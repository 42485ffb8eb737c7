"""The one Logger, Metrics and Tracer every function shares (Powertools).

``tracer`` is created on first use: a Powertools ``Tracer`` imports the X-Ray SDK, which imports botocore,
and that alone cost the webhook function about half of its cold start while no handler traces anything.
``from carehooks.observability import tracer`` still works (module ``__getattr__``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

logger = Logger(service="carehooks")
metrics = Metrics(namespace="carehooks", service="carehooks")


def __getattr__(name: str) -> Tracer:
    if name == "tracer":
        from aws_lambda_powertools import Tracer

        created = Tracer(service="carehooks")
        globals()["tracer"] = created
        return created
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
