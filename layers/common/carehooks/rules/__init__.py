"""Rules: tagging, priority, routing and automatic acknowledgement, driven by the configuration document.

- :mod:`carehooks.rules.config`: the ``rules`` and ``acknowledgement`` sections (pydantic models).
- :mod:`carehooks.rules.engine`: a pure function of (config, message, context, now) → :class:`Decision`.
- :mod:`carehooks.rules.business_hours`: calendars (time zone, intervals, holidays, closures).
- :mod:`carehooks.rules.acknowledge`: the acknowledgement use case (claim, cooldown, render, send).
- :mod:`carehooks.rules.step`: the after-store step of the inbound processor.
"""
